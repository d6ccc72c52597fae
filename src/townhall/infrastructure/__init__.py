"""Cross-cutting machinery the services use: clock, events, password hashing."""
