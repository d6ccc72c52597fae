"""Dialects: each speaks one vendor's admin API on the wire and calls the services."""
