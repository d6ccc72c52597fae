"""The one source of time.

A server can be told to run as if it were later (or earlier) than the wall clock says:
`TOWNHALL_CLOCK_OFFSET_SECONDS`. Every process of a deployment reads the same offset, so
they agree to the microsecond; tests use it to pin "today" (a test that must not cross
midnight starts the server at noon of a chosen day). Time still flows: expiries and
durations behave as they do in production.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, offset_seconds: float = 0) -> None:
        self._offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything Townhall stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
