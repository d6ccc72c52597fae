"""Townhall: one back office for an organisation's communication, four admin APIs."""

__version__ = "0.1.0"
