"""RRULE validation, series bounds and expansion (pure functions, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dateutil.rrule import rrulestr

from townhall.domain import recurrence
from townhall.domain.errors import Invalid
from townhall.domain.recurrence import Occurrence, occurrences, series_end, validate


def at(day: int, hour: int = 10, month: int = 1, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


HOUR = timedelta(hours=1)


def starts(found: list[Occurrence]) -> list[datetime]:
    return [o.starts_at for o in found]


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("FREQ=WEEKLY;COUNT=4", "FREQ=WEEKLY;COUNT=4"),
        ("rrule:freq=daily;interval=2", "FREQ=DAILY;INTERVAL=2"),
        ("FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250131T100000Z", None),
        ("FREQ=DAILY;UNTIL=20250110", "FREQ=DAILY;UNTIL=20250110T235959Z"),
        ("FREQ=DAILY;UNTIL=20250110T100000", "FREQ=DAILY;UNTIL=20250110T100000Z"),
    ],
)
def test_valid_rules_are_normalised(given: str, canonical: str | None) -> None:
    assert validate(given, at(6)) == (canonical or given)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "COUNT=3",
        "FREQ=FORTNIGHTLY",
        "FREQ=MINUTELY",
        "FREQ=DAILY;FOO=1",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;COUNT=2;UNTIL=20250110T100000Z",
        "FREQ=DAILY;COUNT=0",
        f"FREQ=DAILY;COUNT={recurrence.MAX_COUNT + 1}",
        "FREQ=DAILY;COUNT=x",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=DAILY;",
        "FREQ=DAILY\nEXDATE:20250101T100000Z",
        "FREQ=DAILY;UNTIL=20240101T000000Z",
        "garbage",
    ],
)
def test_invalid_rules_name_the_field(bad: str) -> None:
    with pytest.raises(Invalid) as refused:
        validate(bad, at(6))
    assert refused.value.field == "recurrence"


def test_series_end_of_single_count_until_and_endless() -> None:
    assert series_end(at(6), at(6, 11), None) == at(6, 11)
    assert series_end(at(6), at(6, 11), "FREQ=WEEKLY;COUNT=4") == at(27, 11)
    # UNTIL is inclusive; the last start on or before it bounds the series.
    assert series_end(at(6), at(6, 11), "FREQ=DAILY;UNTIL=20250110T100000Z") == at(10, 11)
    assert series_end(at(6), at(6, 11), "FREQ=DAILY;UNTIL=20250110T093000Z") == at(9, 11)
    assert series_end(at(6), at(6, 11), "FREQ=DAILY") is None


def test_a_very_long_until_series_settles_for_an_upper_bound() -> None:
    rule = "FREQ=HOURLY;UNTIL=20500101T000000Z"
    end = series_end(at(6), at(6, 11), rule)
    assert end == datetime(2050, 1, 1, 1, tzinfo=UTC)


def test_single_event_overlaps_half_open() -> None:
    assert starts(occurrences(at(6), at(6, 11), None, [], at(6, 9), at(6, 10))) == []
    assert starts(occurrences(at(6), at(6, 11), None, [], at(6, 11), at(6, 12))) == []
    assert starts(occurrences(at(6), at(6, 11), None, [], at(6, 10, minute=59), at(7))) == [at(6)]


def test_expansion_in_range_with_occurrence_in_progress() -> None:
    found = occurrences(at(6), at(6, 11), "FREQ=DAILY", [], at(8, 10, minute=30), at(10, 10))
    # The 8th is still running at 10:30; the 10th starts exactly at the range's end.
    assert starts(found) == [at(8), at(9)]
    assert found[0].ends_at == at(8, 11)


def test_touching_boundaries_are_outside() -> None:
    found = occurrences(at(6), at(6, 11), "FREQ=DAILY", [], at(8, 11), at(9, 10))
    assert found == []


def test_exdates_are_left_out() -> None:
    rule = "FREQ=WEEKLY;COUNT=4"
    found = occurrences(at(6), at(6, 11), rule, [at(13), at(27)], at(1), at(28, month=2))
    assert starts(found) == [at(6), at(20)]


def test_exdate_in_another_offset_matches_the_same_instant() -> None:
    cet = at(13).astimezone(datetime.fromisoformat("2025-01-01T00:00:00+01:00").tzinfo)
    found = occurrences(at(6), at(6, 11), "FREQ=WEEKLY;COUNT=2", [cet], at(1), at(31))
    assert starts(found) == [at(6)]


def test_until_is_inclusive_and_count_bounds() -> None:
    rule = validate("FREQ=DAILY;UNTIL=20250108T100000Z", at(6))
    assert starts(occurrences(at(6), at(6, 11), rule, [], at(1), at(31))) == [at(6), at(7), at(8)]
    found = occurrences(at(6), at(6, 11), "FREQ=DAILY;COUNT=2", [], at(1), at(31))
    assert starts(found) == [at(6), at(7)]


def test_endless_series_far_in_the_future() -> None:
    found = occurrences(at(6), at(6, 11), "FREQ=WEEKLY", [], at(1, month=6), at(15, month=6))
    assert starts(found) == [at(2, month=6), at(9, month=6)]


def test_utc_series_ignore_daylight_saving() -> None:
    # Europe switches to summer time on 30 March 2025; a UTC series does not move.
    found = occurrences(
        at(24, month=3), at(24, 11, month=3), "FREQ=WEEKLY", [], at(1, month=3), at(8, month=4)
    )
    assert [o.starts_at.hour for o in found] == [10, 10, 10]


def test_expansion_is_capped() -> None:
    found = occurrences(at(1, 0), at(1, 0, minute=30), "FREQ=HOURLY", [], at(1), at(1, month=12))
    assert len(found) == recurrence.MAX_OCCURRENCES
    assert len(occurrences(at(6), at(6, 11), "FREQ=DAILY", [], at(1), at(31), limit=1)) == 1


def test_rule_with_byday_expands_on_those_days() -> None:
    rule = validate("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4", at(6))
    found = occurrences(at(6), at(6, 11), rule, [], at(1), at(31))
    assert starts(found) == [at(6), at(8), at(13), at(15)]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3;BYHOUR=9,17",
        "FREQ=HOURLY;INTERVAL=5;BYMINUTE=0,45",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,WE,FR",
        "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,TU",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=DAILY;UNTIL=20300301T000000Z",
        "FREQ=MONTHLY;BYDAY=-1FR",
    ],
)
def test_skipping_ahead_finds_what_a_full_walk_finds(rule: str) -> None:
    start = datetime(2025, 1, 1, 9, 30, tzinfo=UTC)
    low, high = datetime(2028, 2, 20, tzinfo=UTC), datetime(2028, 3, 20, tzinfo=UTC)
    walked = rrulestr(rule, dtstart=start).between(low - HOUR, high)
    found = occurrences(start, start + HOUR, rule, [], low, high)
    assert starts(found) == [s for s in walked if s > low - HOUR]
    assert found
