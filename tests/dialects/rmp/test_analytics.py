"""RMP `/analytics/usage`, `/analytics/popular-resources` and `/admin/statistics`.

The server is shared with other tests that book "now-ish", so exact figures come from
an estate of our own: a resource sub-domain with its own domain admin (whose figures
cover only that sub-domain), booked in a far-future year no other test touches, or, for
the figures that look back from now, booked in the past (the sub-domain allows it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.conftest import RunningServer, start_server, stop_server, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, book, person, refused

Z = "%Y-%m-%dT%H:%M:%SZ"


@dataclass
class Estate:
    """Resources in a sub-domain of their own, and an admin of only that sub-domain."""

    root: Rmp
    boss: Rmp
    domain: str
    resources: list[str]


def _estate(server: RunningServer, count: int = 2, past: bool = False) -> Estate:
    root = admin(server)
    kind = unique("use-type")
    domain = f"{kind}.resources.{DOMAIN}"
    email = f"{unique('boss')}@{DOMAIN}"
    made = root.post("/users", json={"email": email, "password": "pw-123456", "realName": "B"})
    assert made.status_code == 201, made.text
    made = root.post(
        "/domains", json={"domain": domain, "type": "resource-subdomain", "adminEmail": email}
    )
    assert made.status_code == 201, made.text
    if past:
        allowed = root.put(f"/domains/{domain}/settings", json={"allowPastBookings": True})
        assert allowed.status_code == 200, allowed.text
    made = root.post(
        "/resource-types",
        json={
            "id": kind,
            "name": "Usage room",
            "category": "meeting-resources",
            "fields": [{"name": "capacity", "type": "number", "required": True}],
        },
    )
    assert made.status_code == 201, made.text
    resources = []
    for n in range(count):
        created = root.post(
            "/resources",
            json={
                "name": f"Usage {n} {kind}",
                "type": kind,
                "category": "meeting-resources",
                "customFields": {"capacity": 6},
            },
        )
        assert created.status_code == 201, created.text
        resources.append(str(created.json()["resource"]["id"]))
        assert resources[-1].endswith("@" + domain)
    boss = Rmp(server).login(email, "pw-123456")
    return Estate(root, boss, domain, resources)


def _booked(rmp: Rmp, resource: str, start: str, end: str, **extra: object) -> str:
    made = book(rmp, resource, start, end, **extra)
    assert made.status_code == 201, made.text
    return str(made.json()["booking"]["id"])


def _cancel(rmp: Rmp, booking: str) -> None:
    cancelled = rmp.delete(f"/bookings/{booking}", params={"sendCancellation": "false"})
    assert cancelled.status_code == 200, cancelled.text


def _far_monday() -> date:
    """A Monday in the second week of March of a year only this test books in (so its
    neighbours, the Sunday before and the Monday after, are in March too)."""
    year = 2100 + int(unique("y").rpartition("x")[2])
    day = date(year, 3, 8)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _t(day: date, clock: str, offset: str = "Z") -> str:
    return f"{day.isoformat()}T{clock}{offset}"


def _usage(rmp: Rmp, **params: str) -> dict[str, Any]:
    answer = rmp.get("/analytics/usage", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    return body  # type: ignore[no-any-return]


def _row(period: date, bookings: int, hours: float, utilization: float) -> dict[str, Any]:
    return {
        "period": period.isoformat(),
        "bookings": bookings,
        "hours": hours,
        "utilization": utilization,
    }


def _far_estate(server: RunningServer) -> tuple[Estate, date]:
    """Two active resources (and an inactive third) booked around Monday `m`:

    - Sun m-1 12:00-13:00Z, r1 (1h): the week before
    - Mon m   09:00-11:30Z, r1 (2.5h)
    - Mon m   23:00Z-Tue 00:00Z, r1, written as Tue 01:00+02:00 (1h): Monday in UTC
    - Wed m+2 10:00-13:15Z, r2 (3.25h)
    - Wed m+2 14:00-15:00Z, r2, tentative: not counted
    - Thu m+3 08:00-09:00Z, r1, cancelled: not counted
    - Mon m+7 09:00-10:30Z, r2 (1.5h): the week after
    - Mar 31 23:00Z-Apr 1 00:00Z, r1, written as Apr 1 01:00+02:00 (1h): March in UTC
    """
    estate = _estate(server, count=3)
    r1, r2, r3 = estate.resources
    off = estate.root.put(f"/resources/{r3}", json={"active": False})
    assert off.status_code == 200, off.text
    m, root = _far_monday(), estate.root
    day = timedelta(days=1)
    _booked(root, r1, _t(m - day, "12:00:00"), _t(m - day, "13:00:00"))
    _booked(root, r1, _t(m, "09:00:00"), _t(m, "11:30:00"))
    _booked(root, r1, _t(m + day, "01:00:00", "+02:00"), _t(m + day, "02:00:00", "+02:00"))
    _booked(root, r2, _t(m + 2 * day, "10:00:00"), _t(m + 2 * day, "13:15:00"))
    _booked(root, r2, _t(m + 2 * day, "14:00:00"), _t(m + 2 * day, "15:00:00"), status="tentative")
    gone = _booked(root, r1, _t(m + 3 * day, "08:00:00"), _t(m + 3 * day, "09:00:00"))
    _cancel(root, gone)
    _booked(root, r2, _t(m + 7 * day, "09:00:00"), _t(m + 7 * day, "10:30:00"))
    april = date(m.year, 4, 1)
    _booked(root, r1, _t(april, "01:00:00", "+02:00"), _t(april, "02:00:00", "+02:00"))
    return estate, m


def test_usage_by_day_fills_empty_days_and_counts_only_confirmed(server: RunningServer) -> None:
    estate, m = _far_estate(server)
    day = timedelta(days=1)
    found = _usage(
        estate.boss,
        startDate=m.isoformat(),
        endDate=(m + 3 * day).isoformat(),
        groupBy="day",
    )
    # Utilisation: booked hours / (2 active resources * 24 h) per day, as a percentage.
    assert found["usage"] == [
        _row(m, 2, 3.5, 7.3),  # 3.5 / 48
        _row(m + day, 0, 0.0, 0.0),
        _row(m + 2 * day, 1, 3.25, 6.8),  # 3.25 / 48
        _row(m + 3 * day, 0, 0.0, 0.0),  # the cancelled one is not counted
    ]
    assert found["totals"] == {
        "bookings": 3,
        "hours": 6.75,
        "utilization": 3.5,  # 6.75 / (2 * 96)
        "resources": 2,
    }
    assert found["groupBy"] == "day"
    assert found["startDate"] == _t(m, "00:00:00")
    assert found["endDate"] == _t(m + 4 * day, "00:00:00")  # through the end of the date
    # groupBy defaults to day.
    plain = _usage(estate.boss, startDate=m.isoformat(), endDate=(m + 3 * day).isoformat())
    assert plain["usage"] == found["usage"] and plain["groupBy"] == "day"


def test_usage_by_week_starts_on_monday(server: RunningServer) -> None:
    estate, m = _far_estate(server)
    week, day = timedelta(days=7), timedelta(days=1)
    found = _usage(
        estate.boss,
        startDate=(m - day).isoformat(),
        endDate=(m + week).isoformat(),
        groupBy="week",
    )
    # Each period's capacity is its part inside the range: 1 day, 7 days, 1 day.
    assert found["usage"] == [
        _row(m - week, 1, 1.0, 2.1),  # 1 / 48
        _row(m, 3, 6.75, 2.0),  # 6.75 / 336
        _row(m + week, 1, 1.5, 3.1),  # 1.5 / 48
    ]
    assert found["totals"] == {
        "bookings": 5,
        "hours": 9.25,
        "utilization": 2.1,  # 9.25 / (2 * 216)
        "resources": 2,
    }


def test_usage_by_month(server: RunningServer) -> None:
    estate, m = _far_estate(server)
    year = m.year
    found = _usage(
        estate.boss,
        startDate=f"{year}-02-01",
        endDate=f"{year}-04-30",
        groupBy="month",
    )
    assert found["usage"] == [
        _row(date(year, 2, 1), 0, 0.0, 0.0),
        _row(date(year, 3, 1), 6, 10.25, 0.7),  # 10.25 / (2 * 744)
        _row(date(year, 4, 1), 0, 0.0, 0.0),
    ]
    assert found["totals"]["bookings"] == 6 and found["totals"]["hours"] == 10.25
    # A mid-month start labels the month by its first day.
    mid = _usage(estate.boss, startDate=f"{year}-03-15", endDate=f"{year}-03-31", groupBy="month")
    assert [row["period"] for row in mid["usage"]] == [f"{year}-03-01"]


def test_usage_takes_times_with_offsets(server: RunningServer) -> None:
    estate, m = _far_estate(server)
    found = _usage(
        estate.boss,
        startDate=_t(m, "00:00:00", "+02:00"),
        endDate=_t(m, "12:00:00"),
        groupBy="day",
    )
    assert found["startDate"] == _t(m - timedelta(days=1), "22:00:00")
    assert found["endDate"] == _t(m, "12:00:00")
    assert found["usage"] == [
        _row(m - timedelta(days=1), 0, 0.0, 0.0),  # 22:00-24:00: the 12:00 one is earlier
        _row(m, 1, 2.5, 10.4),  # 2.5 / (2 * 12)
    ]
    assert found["totals"] == {
        "bookings": 1,
        "hours": 2.5,
        "utilization": 8.9,  # 2.5 / (2 * 14)
        "resources": 2,
    }


def test_server_admins_usage_covers_the_tenant(server: RunningServer) -> None:
    estate, m = _far_estate(server)
    found = _usage(estate.root, startDate=m.isoformat(), endDate=m.isoformat())
    # Nobody else books in this year: the bookings are ours, the capacity every
    # active resource of the tenant's.
    resources = found["totals"]["resources"]
    assert resources >= 2
    assert found["usage"] == [_row(m, 2, 3.5, round(100 * 3.5 / (resources * 24), 1))]
    kind = estate.domain.partition(".")[0]
    more = estate.root.post(
        "/resources",
        json={
            "name": unique("Extra "),
            "type": kind,
            "category": "meeting-resources",
            "customFields": {"capacity": 2},
        },
    )
    assert more.status_code == 201, more.text
    again = _usage(estate.root, startDate=m.isoformat(), endDate=m.isoformat())
    assert again["totals"]["resources"] == resources + 1
    # The domain admin's count grows too, as the new resource is under its domain.
    mine = _usage(estate.boss, startDate=m.isoformat(), endDate=m.isoformat())
    assert mine["totals"]["resources"] == 3


def test_usage_refuses_bad_ranges_naming_the_field(server: RunningServer) -> None:
    rmp = admin(server)
    ok = {"startDate": "2101-03-01", "endDate": "2101-03-02"}
    refused(rmp.get("/analytics/usage", params={**ok, "groupBy": "hour"}), 400, "groupBy")
    backwards = {"startDate": "2101-03-02T00:00:00Z", "endDate": "2101-03-01T00:00:00Z"}
    refused(rmp.get("/analytics/usage", params=backwards), 422, "endDate")
    same = {"startDate": "2101-03-01T00:00:00Z", "endDate": "2101-03-01T00:00:00Z"}
    refused(rmp.get("/analytics/usage", params=same), 422, "endDate")
    refused(rmp.get("/analytics/usage", params={"endDate": "2101-03-02"}), 400, "startDate")
    refused(rmp.get("/analytics/usage", params={"startDate": "2101-03-02"}), 400, "endDate")
    naive = {"startDate": "2101-03-01T00:00:00", "endDate": "2101-03-02"}
    refused(rmp.get("/analytics/usage", params=naive), 400, "startDate")
    naive = {"startDate": "2101-03-01", "endDate": "2101-03-02T00:00:00"}
    refused(rmp.get("/analytics/usage", params=naive), 400, "endDate")
    garbage = {"startDate": "2101-13-01", "endDate": "2101-03-02"}
    refused(rmp.get("/analytics/usage", params=garbage), 400, "startDate")
    garbage = {"startDate": "2101-03-01", "endDate": "soon"}
    refused(rmp.get("/analytics/usage", params=garbage), 400, "endDate")
    long = {"startDate": "2101-01-01", "endDate": "2102-12-31", "groupBy": "day"}
    refused(rmp.get("/analytics/usage", params=long), 400, "endDate")
    assert rmp.get("/analytics/usage", params={**long, "groupBy": "month"}).status_code == 200
    # Ranges at the ends of the calendar are refused, not failed.
    last = {"startDate": "9999-12-01", "endDate": "9999-12-31"}
    refused(rmp.get("/analytics/usage", params=last), 400, "endDate")
    last = {"startDate": "9999-12-31T00:00:00Z", "endDate": "9999-12-31T23:00:00Z"}
    refused(rmp.get("/analytics/usage", params={**last, "groupBy": "month"}), 400, "endDate")
    first = {"startDate": "0001-01-01T00:00:00+01:00", "endDate": "0001-01-02"}
    refused(rmp.get("/analytics/usage", params=first), 400, "startDate")
    early = _usage(rmp, startDate="0001-01-01", endDate="0001-01-01", groupBy="week")
    assert (early["startDate"], early["endDate"]) == (
        "0001-01-01T00:00:00Z",
        "0001-01-02T00:00:00Z",
    )
    assert early["usage"] == [_row(date(1, 1, 1), 0, 0.0, 0.0)]


def test_people_may_not_see_usage_or_statistics(server: RunningServer) -> None:
    rmp, _ = person(server)
    asked = {"startDate": "2101-03-01", "endDate": "2101-03-02"}
    refused(rmp.get("/analytics/usage", params=asked), 403)
    refused(rmp.get("/admin/statistics"), 403)
    refused(requests.get(f"{server.url}/api/v2/admin/statistics"), 401)
    refused(requests.get(f"{server.url}/api/v2/analytics/popular-resources"), 401)


def _ago(hours: float, now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    return (moment - timedelta(hours=hours)).strftime(Z)


@dataclass
class Pinned:
    server: RunningServer
    now: datetime


@pytest.fixture(scope="module")
def at_noon(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pinned]:
    """A server whose clock read noon (UTC) of today when it started: a test on it never
    crosses midnight, so "today" and "the last seven days" are known."""
    real = datetime.now(UTC)
    noon = real.replace(hour=12, minute=0, second=0, microsecond=0)
    offset = str(round((noon - real).total_seconds()))
    log = tmp_path_factory.mktemp("noon") / "server.log"
    running = start_server(database_url, log, TOWNHALL_CLOCK_OFFSET_SECONDS=offset)
    yield Pinned(running, noon)
    stop_server(running)


def _popular(rmp: Rmp, **params: str) -> dict[str, Any]:
    answer = rmp.get("/analytics/popular-resources", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    return body  # type: ignore[no-any-return]


def test_popular_resources_count_bookings_started_in_the_period(server: RunningServer) -> None:
    estate = _estate(server, count=2, past=True)
    busy, quiet = estate.resources
    root = estate.root
    for n in range(3):  # three one-hour bookings in the last days
        _booked(root, busy, _ago(24 * n + 5), _ago(24 * n + 4))
    _booked(root, busy, _ago(24 * 10 + 2), _ago(24 * 10))  # ten days ago, two hours
    gone = _booked(root, busy, _ago(30), _ago(29))
    _cancel(root, gone)
    _booked(root, quiet, _ago(50), _ago(48))
    _booked(root, quiet, _ago(1), _ago(-1))  # started an hour ago: counts
    _booked(root, quiet, _ago(-2), _ago(-3))  # starts in two hours: does not
    viewer, _ = person(server)  # any signed-in person may ask

    week = _popular(viewer, period="week", limit="100")
    assert week["period"] == "week"
    by_id = {r["id"]: r for r in week["resources"]}
    name = by_id[busy]["name"]
    assert by_id[busy] == {
        "id": busy,
        "name": name,
        "type": estate.domain.partition(".")[0],
        "bookings": 3,
        "hours": 3.0,
        "utilization": 1.8,  # 3 / 168
    }
    assert by_id[quiet]["bookings"] == 2 and by_id[quiet]["hours"] == 4.0
    assert by_id[quiet]["utilization"] == 2.4  # 4 / 168
    counts = [(r["bookings"], r["hours"]) for r in week["resources"]]
    assert counts == sorted(counts, reverse=True)
    assert list(by_id).index(busy) < list(by_id).index(quiet)

    month = _popular(viewer, period="month", limit="100")
    mine = {r["id"]: r for r in month["resources"]}[busy]
    assert (mine["bookings"], mine["hours"], mine["utilization"]) == (4, 5.0, 0.7)  # 5 / 720
    year = {r["id"]: r for r in _popular(viewer, period="year", limit="100")["resources"]}
    assert year[busy]["utilization"] == 0.1  # 5 / 8760
    default = _popular(viewer, limit="100")
    assert default["period"] == "month" and default["resources"] == month["resources"]
    assert len(_popular(viewer, period="week", limit="1")["resources"]) == 1
    refused(viewer.get("/analytics/popular-resources", params={"period": "day"}), 400, "period")
    refused(viewer.get("/analytics/popular-resources", params={"limit": "0"}), 400, "limit")
    refused(viewer.get("/analytics/popular-resources", params={"limit": "101"}), 400, "limit")
    refused(viewer.get("/analytics/popular-resources", params={"limit": "x"}), 400, "limit")


def _statistics(rmp: Rmp) -> dict[str, Any]:
    answer = rmp.get("/admin/statistics")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True and set(body) == {"success", "statistics"}
    found: dict[str, Any] = body["statistics"]
    assert set(found) == {
        "totalUsers",
        "totalResources",
        "totalBookings",
        "activeBookings",
        "utilizationRate",
        "topResources",
        "bookingTrends",
    }
    for key in ("totalUsers", "totalResources", "totalBookings", "activeBookings"):
        assert isinstance(found[key], int) and found[key] >= 0
    assert isinstance(found["utilizationRate"], float | int) and found["utilizationRate"] >= 0
    assert len(found["topResources"]) <= 5
    for top in found["topResources"]:
        assert set(top) == {"id", "name", "bookings", "utilization"}
    trends = found["bookingTrends"]
    assert set(trends) == {"daily", "weekly"}
    assert len(trends["daily"]) == 7 and len(trends["weekly"]) == 4
    assert all(isinstance(n, int) and n >= 0 for n in trends["daily"] + trends["weekly"])
    return found


def _trends(starts: list[str], today: date) -> tuple[list[int], list[int]]:
    """Bookings per UTC day of the last seven and per ISO week of the last four."""
    days = [datetime.strptime(s, Z).date() for s in starts]
    daily = [sum(d == today - timedelta(days=6 - n) for d in days) for n in range(7)]
    monday = today - timedelta(days=today.weekday())
    weeks = [d - timedelta(days=d.weekday()) for d in days]
    weekly = [sum(w == monday - timedelta(weeks=3 - n) for w in weeks) for n in range(4)]
    return daily, weekly


def test_statistics_of_a_domain_admin_cover_its_domain(at_noon: Pinned) -> None:
    estate = _estate(at_noon.server, count=2, past=True)
    r1, r2 = estate.resources
    root = estate.root

    def ago(hours: float) -> str:
        return _ago(hours, at_noon.now)

    starts = [ago(3), ago(30), ago(24 * 9), ago(-2)]
    _booked(root, r1, starts[0], ago(2))  # 1h, over
    _booked(root, r1, starts[1], ago(28))  # 2h, over
    _booked(root, r2, starts[2], ago(24 * 9 - 1))  # 1h, over
    _booked(root, r2, starts[3], ago(-3))  # 1h, to come
    _booked(root, r2, ago(-4), ago(-5), status="tentative")
    _cancel(root, _booked(root, r1, ago(-6), ago(-7)))
    found = _statistics(estate.boss)
    today = at_noon.now.date()
    assert found["totalUsers"] == 0  # an admin of a resource sub-domain only
    assert found["totalResources"] == 2
    assert found["totalBookings"] == 4
    assert found["activeBookings"] == 1
    assert found["utilizationRate"] == 0.3  # 4 h over 30 days of 2 resources: 4 / 1440
    r1_name = root.get(f"/resources/{r1}").json()["resource"]["name"]
    r2_name = root.get(f"/resources/{r2}").json()["resource"]["name"]
    assert found["topResources"] == [
        {"id": r1, "name": r1_name, "bookings": 2, "utilization": 0.4},  # 3 / 720
        {"id": r2, "name": r2_name, "bookings": 1, "utilization": 0.1},  # 1 / 720
    ]
    daily, weekly = _trends(starts, today)
    assert found["bookingTrends"] == {"daily": daily, "weekly": weekly}
    inactive = root.put(f"/resources/{r1}", json={"active": False})
    assert inactive.status_code == 200, inactive.text
    after = _statistics(estate.boss)
    assert after["totalResources"] == 2
    assert after["utilizationRate"] == 0.6  # 4 / 720: only r2 is bookable now


def test_statistics_of_the_server_admin_move_with_the_data(server: RunningServer) -> None:
    root = admin(server)
    before = _statistics(root)
    estate = _estate(server, count=1)
    _booked(root, estate.resources[0], _ago(-2), _ago(-3))
    after = _statistics(root)
    # A new person (the estate's admin), a new resource, a booking to come.
    assert after["totalUsers"] == before["totalUsers"] + 1
    assert after["totalResources"] == before["totalResources"] + 1
    assert after["totalBookings"] == before["totalBookings"] + 1
    assert after["activeBookings"] == before["activeBookings"] + 1
    tentative = _booked(root, estate.resources[0], _ago(-4), _ago(-5), status="tentative")
    assert _statistics(root)["totalBookings"] == after["totalBookings"]
    confirmed = root.put(f"/bookings/{tentative}", json={"status": "confirmed"})
    assert confirmed.status_code == 200, confirmed.text
    assert _statistics(root)["totalBookings"] == after["totalBookings"] + 1
    _cancel(root, tentative)
    last = _statistics(root)
    assert last["totalBookings"] == after["totalBookings"]
    assert last["activeBookings"] == after["activeBookings"]
