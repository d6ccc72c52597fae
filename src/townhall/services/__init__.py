"""Domain services: the use cases and invariants. They never see HTTP."""
