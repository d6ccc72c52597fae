"""Merging busy intervals into free/busy periods (pure functions, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from townhall.domain.freebusy import BUSY, TENTATIVE, kind_of, merge
from townhall.domain.models import BusyPeriod


def h(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 8, 30, hour, minute, tzinfo=UTC)


def shown(periods: list[BusyPeriod]) -> list[tuple[int, int, int, int, str]]:
    return [
        (p.starts_at.hour, p.starts_at.minute, p.ends_at.hour, p.ends_at.minute, p.type)
        for p in periods
    ]


def test_statuses_map_to_types() -> None:
    assert kind_of("confirmed") == BUSY
    assert kind_of("tentative") == TENTATIVE
    assert kind_of("cancelled") is None


def test_nothing_is_nothing() -> None:
    assert merge([]) == []


def test_overlapping_and_touching_busy_join() -> None:
    periods = merge([(h(11), h(12), BUSY), (h(10), h(11), BUSY), (h(11, 30), h(12, 30), BUSY)])
    assert shown(periods) == [(10, 0, 12, 30, BUSY)]


def test_disjoint_periods_stay_apart_and_sorted() -> None:
    periods = merge([(h(14), h(15, 30), TENTATIVE), (h(10), h(11), BUSY)])
    assert shown(periods) == [(10, 0, 11, 0, BUSY), (14, 0, 15, 30, TENTATIVE)]


def test_busy_wins_over_tentative() -> None:
    periods = merge([(h(9), h(13), TENTATIVE), (h(10), h(11), BUSY), (h(12), h(12, 30), BUSY)])
    assert shown(periods) == [
        (9, 0, 10, 0, TENTATIVE),
        (10, 0, 11, 0, BUSY),
        (11, 0, 12, 0, TENTATIVE),
        (12, 0, 12, 30, BUSY),
        (12, 30, 13, 0, TENTATIVE),
    ]


def test_tentative_inside_busy_vanishes() -> None:
    periods = merge([(h(10), h(12), BUSY), (h(10, 30), h(11), TENTATIVE)])
    assert shown(periods) == [(10, 0, 12, 0, BUSY)]


def test_tentative_touching_busy_stays_its_own_period() -> None:
    periods = merge([(h(10), h(11), BUSY), (h(11), h(12), TENTATIVE), (h(12), h(13), TENTATIVE)])
    assert shown(periods) == [(10, 0, 11, 0, BUSY), (11, 0, 13, 0, TENTATIVE)]


def test_identical_intervals_merge_once() -> None:
    periods = merge([(h(10), h(11), BUSY)] * 3 + [(h(10), h(11), TENTATIVE)])
    assert shown(periods) == [(10, 0, 11, 0, BUSY)]


def test_clipped_to_the_asked_range() -> None:
    periods = merge(
        [(h(8), h(10), BUSY), (h(11), h(15), TENTATIVE), (h(16), h(17), BUSY)],
        within=(h(9), h(12)),
    )
    assert shown(periods) == [(9, 0, 10, 0, BUSY), (11, 0, 12, 0, TENTATIVE)]


def test_unknown_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        merge([(h(10), h(11), "FREE")])
