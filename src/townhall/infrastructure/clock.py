"""The one source of time, so tests can pin it."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything Townhall stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
