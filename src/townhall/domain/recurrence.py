"""Recurring events: RRULE validation, series bounds and occurrence expansion.

Pure functions over aware datetimes; no storage, no clock. The RRULE engine is
dateutil's (RFC 5545 semantics); icalendar checks each part's value syntax. A series
expands in its time zone (an IANA name, zoneinfo): a weekly 09:00 Europe/Berlin event
stays at 09:00 local across a daylight-saving change, so its UTC time moves by an hour,
as RFC 5545 wants of a DTSTART with a TZID. No zone (None) is UTC. Occurrences are
answered in UTC.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from townhall.domain.errors import Invalid

FIELD = "recurrence"
MAX_COUNT = 10_000
"""Largest COUNT accepted: more is a data-entry slip, not a meeting series."""
MAX_OCCURRENCES = 5_000
"""Most occurrences one expansion yields, so an hourly endless rule cannot run away."""
MAX_BOUND_STEPS = 100_000
"""Occurrences walked to find an UNTIL-bounded series' exact end before settling for
UNTIL itself (a safe upper bound)."""
FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
"""SECONDLY and MINUTELY are refused: no calendar client offers them for events."""
_TICK = timedelta(microseconds=1)
_UNITS = {"HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}
PARTS = frozenset(
    {
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYSECOND",
        "BYMINUTE",
        "BYHOUR",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
    }
)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One instance of an event: `starts_at` is also its RECURRENCE-ID."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Expansion:
    """What one read of a series yields: `truncated` says the cut of `limit` occurrences
    left some out (the reader must say so rather than pretend the series ends)."""

    found: list[Occurrence]
    truncated: bool


def zone(name: str | None, field: str = "timezone") -> ZoneInfo:
    """The IANA zone `name` (None: UTC), or Invalid(field). zoneinfo alone would also
    take a file path; only names of the zone database are accepted."""
    if name is None:
        return ZoneInfo("UTC")
    text = name.strip()
    if not text or len(text) > 64 or text.startswith(("/", ".")) or ".." in text:
        raise Invalid(field, f"{name!r} is not an IANA time zone such as Europe/Berlin")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise Invalid(field, f"{name!r} is not an IANA time zone such as Europe/Berlin") from None


def _local(moment: datetime, tz: str | None) -> datetime:
    return moment.astimezone(zone(tz))


def _refuse(reason: str) -> Invalid:
    return Invalid(FIELD, reason)


def _parts(text: str) -> dict[str, str]:
    """`KEY=value` pairs of a rule, refusing unknown and repeated keys (icalendar and
    dateutil both silently keep the last of a repeated key)."""
    found: dict[str, str] = {}
    for piece in text.split(";"):
        key, eq, value = piece.partition("=")
        key = key.strip().upper()
        if not eq or not value.strip():
            raise _refuse(f"'{piece}' is not a KEY=value rule part")
        if key not in PARTS:
            raise _refuse(f"unknown rule part {key}")
        if key in found:
            raise _refuse(f"rule part {key} appears twice")
        found[key] = value.strip().upper()
    return found


def _utc_until(value: object) -> datetime:
    """UNTIL as a UTC instant: a floating time is read as UTC, a date as its last second."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59), UTC)
    raise _refuse("UNTIL must be a date or a UTC date-time")


def _checked_parts(parts: dict[str, str]) -> dict[str, str]:
    """The parts with RFC 5545's cross-part rules applied and UNTIL made a UTC time;
    icalendar checks each value's syntax (weekday names, numbers, dates)."""
    if "FREQ" not in parts:
        raise _refuse("FREQ is required")
    if parts["FREQ"] not in FREQUENCIES:
        raise _refuse(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise _refuse("COUNT and UNTIL must not both be given")
    from icalendar.prop import vRecur  # on first use: icalendar is large

    try:
        recur: dict[str, list[Any]] = vRecur.from_ical(
            ";".join(f"{k}={v}" for k, v in parts.items())
        )
    except ValueError as exc:
        raise _refuse(f"not a valid RRULE: {exc}") from None
    if "COUNT" in recur and not 1 <= int(recur["COUNT"][0]) <= MAX_COUNT:
        raise _refuse(f"COUNT must be between 1 and {MAX_COUNT}")
    if "INTERVAL" in recur and int(recur["INTERVAL"][0]) < 1:
        raise _refuse("INTERVAL must be a positive integer")
    if "UNTIL" in recur:
        return {**parts, "UNTIL": f"{_utc_until(recur['UNTIL'][0]):%Y%m%dT%H%M%SZ}"}
    return parts


def normalise(text: str) -> str:
    """The rule in canonical form (upper case, UTC UNTIL), or Invalid("recurrence").

    Accepts an optional `RRULE:` prefix. Only the rule itself is stored: EXDATEs are
    kept apart, so a multi-line iCalendar fragment is refused."""
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text:
        raise _refuse("the rule is empty")
    if "\n" in text or "\r" in text:
        raise _refuse("only one RRULE line is accepted")
    return ";".join(f"{k}={v}" for k, v in _checked_parts(_parts(text)).items())


def _rule(starts_at: datetime, text: str, tz: str | None = None) -> rrule:
    """The rule from DTSTART in the series' zone: dateutil then keeps the wall time and
    zoneinfo gives each occurrence its own offset."""
    try:
        parsed = rrulestr(text, dtstart=_local(starts_at, tz))
    except (ValueError, TypeError) as exc:
        raise _refuse(f"not a valid RRULE: {exc}") from None
    if not isinstance(parsed, rrule):
        raise _refuse("only one RRULE line is accepted")
    return parsed


def validate(text: str, starts_at: datetime, tz: str | None = None) -> str:
    """The canonical rule if it is valid for a series starting at `starts_at` and
    yields at least one occurrence (a rule that never fires is a mistake)."""
    canonical = normalise(text)
    if next(iter(_rule(starts_at, canonical, tz)), None) is None:
        raise _refuse("the rule yields no occurrence")
    return canonical


def series_end(
    starts_at: datetime, ends_at: datetime, text: str | None, tz: str | None = None
) -> datetime | None:
    """The last instant any occurrence can end; None for an endless series.

    Stored beside the event so range queries can skip series that ended before the
    range without expanding them. For a single event it is the event's end. A very
    long UNTIL-bounded series settles for UNTIL + duration: an upper bound, which is
    all a range query needs."""
    if text is None:
        return ends_at
    parts = _parts(text)
    if "COUNT" not in parts and "UNTIL" not in parts:
        return None
    duration = ends_at - starts_at
    walked = deque(enumerate(islice(_rule(starts_at, text, tz), MAX_BOUND_STEPS), 1), maxlen=1)
    if not walked:
        return ends_at
    steps, last = walked[0]
    if steps == MAX_BOUND_STEPS and "UNTIL" in parts:
        return datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) + duration
    return (last + duration).astimezone(UTC)


def occurrences(
    starts_at: datetime,
    ends_at: datetime,
    text: str | None,
    exdates: Iterable[datetime],
    range_from: datetime,
    range_till: datetime,
    limit: int = MAX_OCCURRENCES,
    tz: str | None = None,
) -> list[Occurrence]:
    """Occurrences overlapping the half-open range [range_from, range_till), in order.

    An occurrence [s, s + duration) overlaps iff s < range_till and s + duration >
    range_from. EXDATEs (original starts) are left out; at most `limit` are returned."""
    return expand(starts_at, ends_at, text, exdates, range_from, range_till, limit, tz).found


def expand(
    starts_at: datetime,
    ends_at: datetime,
    text: str | None,
    exdates: Iterable[datetime],
    range_from: datetime,
    range_till: datetime,
    limit: int = MAX_OCCURRENCES,
    tz: str | None = None,
) -> Expansion:
    """`occurrences`, saying whether `limit` cut some off. Starts are answered in UTC;
    the duration is kept in absolute time (an hour-long meeting stays an hour long on
    the night the clocks change)."""
    duration = ends_at - starts_at
    if text is None:
        hit = starts_at < range_till and ends_at > range_from
        return Expansion([Occurrence(starts_at, ends_at)] if hit and limit > 0 else [], False)
    skipped = {moment.astimezone(UTC) for moment in exdates}
    after = _earlier(range_from, duration)
    local = _local(starts_at, tz)
    rule = _fast_forwarded(_rule(starts_at, text, tz), _parts(text), local, after)
    found = (s.astimezone(UTC) for s in _between(rule, after, range_till))
    kept = (Occurrence(s, s + duration) for s in found if s not in skipped)
    taken = list(islice(kept, max(limit, 0) + 1))
    return Expansion(taken[: max(limit, 0)], len(taken) > limit)


def _earlier(moment: datetime, duration: timedelta) -> datetime:
    """`moment - duration`, or the first representable instant when that is before it
    (a range from 0001-01-01 must not overflow)."""
    first = datetime.min.replace(tzinfo=UTC)
    return moment - duration if moment - first > duration else first


def _fast_forwarded(
    rule: rrule, parts: dict[str, str], starts_at: datetime, after: datetime
) -> rrule:
    """The same rule with a later DTSTART, when that keeps every occurrence after `after`.

    dateutil walks a series from its DTSTART, so a daily series begun years ago would
    cost thousands of steps per read. HOURLY, DAILY and WEEKLY rules without COUNT form
    a lattice of periods (INTERVAL hours, days or weeks from DTSTART) filtered by
    absolute BY-parts; moving DTSTART by whole lattice periods leaves the lattice, the
    defaults taken from DTSTART (time of day, weekday) and UNTIL unchanged. `starts_at`
    is in the series' zone: adding whole periods to it keeps its wall time."""
    unit = _UNITS.get(parts["FREQ"])
    if unit is None or "COUNT" in parts or after <= starts_at:
        return rule
    step = unit * int(parts.get("INTERVAL", "1"))
    periods = (after - starts_at) // step - 1
    if periods <= 0:
        return rule
    moved = starts_at + periods * step
    return rule.replace(dtstart=moved.replace(fold=0))


def _between(rule: rrule, after: datetime, before: datetime) -> Iterator[datetime]:
    """Starts s with after < s < before, lazily (dateutil's `between` builds a list)."""
    for start in rule.xafter(after, inc=False):
        if start >= before:
            return
        yield start


def is_occurrence(
    starts_at: datetime,
    ends_at: datetime,
    text: str | None,
    exdates: Iterable[datetime],
    moment: datetime,
    tz: str | None = None,
) -> bool:
    """Whether a live occurrence starts exactly at `moment` (a valid RECURRENCE-ID)."""
    probe = occurrences(starts_at, ends_at, text, exdates, moment, moment + _TICK, tz=tz)
    return any(found.starts_at == moment for found in probe)
