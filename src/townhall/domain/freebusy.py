"""Free/busy: many busy intervals folded into few, sorted, non-overlapping periods.

A reader of free/busy wants to know when someone is taken, not by how many things, so
overlapping and touching intervals of one kind become one period. Where a confirmed
commitment and a tentative one overlap, the time is BUSY (the stronger claim wins) and
only the rest of the tentative interval stays TENTATIVE.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from townhall.domain.models import BusyPeriod

BUSY = "BUSY"
TENTATIVE = "TENTATIVE"
_KINDS = {"confirmed": BUSY, "tentative": TENTATIVE}

Span = tuple[datetime, datetime]


def kind_of(status: str) -> str | None:
    """The free/busy type of an event's or booking's status; None: it takes no time."""
    return _KINDS.get(status)


def _union(spans: Iterable[Span]) -> list[Span]:
    """Sorted union; touching spans ([a, b) and [b, c)) join, empty ones vanish."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    """`spans` minus `holes`, both sorted and disjoint (a linear two-list walk)."""
    left: list[Span] = []
    index = 0
    for start, end in spans:
        while index < len(holes) and holes[index][1] <= start:
            index += 1
        cursor, probe = start, index
        while probe < len(holes) and holes[probe][0] < end:
            if holes[probe][0] > cursor:
                left.append((cursor, holes[probe][0]))
            cursor = max(cursor, holes[probe][1])
            probe += 1
        if cursor < end:
            left.append((cursor, end))
    return left


def _clip(spans: Iterable[Span], within: Span | None) -> Iterable[Span]:
    if within is None:
        return spans
    low, high = within
    return ((max(start, low), min(end, high)) for start, end in spans)


def merge(
    intervals: Iterable[tuple[datetime, datetime, str]], within: Span | None = None
) -> list[BusyPeriod]:
    """Periods from (start, end, type) intervals, type BUSY or TENTATIVE, sorted by
    start. With `within`, periods are cut to that half-open range (a free/busy answer
    speaks only of the asked time)."""
    busy: list[Span] = []
    tentative: list[Span] = []
    for start, end, kind in intervals:
        if kind not in (BUSY, TENTATIVE):
            raise ValueError(f"unknown free/busy type {kind!r}")
        (busy if kind == BUSY else tentative).append((start, end))
    hard = _union(_clip(busy, within))
    soft = _subtract(_union(_clip(tentative, within)), hard)
    periods = [BusyPeriod(s, e, BUSY) for s, e in hard]
    periods += [BusyPeriod(s, e, TENTATIVE) for s, e in soft]
    return sorted(periods, key=lambda p: (p.starts_at, p.ends_at))
