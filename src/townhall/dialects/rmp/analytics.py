"""`/analytics/*` and `/admin/statistics`: usage computed from the stored bookings.

`startDate` / `endDate` take a date (`2025-08-01`: from its start, through its end, in
UTC) or a time with an offset; a time without one is refused as everywhere in this
dialect. Figures are the analytics service's (docs/rmp-mapping.md, "Search, analytics
and statistics").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict

from litestar import Response, Router, get
from litestar.di import NamedDependency

from townhall.domain.principal import Principal
from townhall.services.analytics import AnalyticsService, PeriodUsage, ResourceUsage, Usage

from .. import kit
from ..documents import Param, wire
from .http import AnyRequest, admins, ok, require_time

DEFAULT_POPULAR = 10
MAX_POPULAR = 100


class PeriodWire(TypedDict):
    period: str
    bookings: int
    hours: float
    utilization: float


class Totals(TypedDict):
    bookings: int
    hours: float
    utilization: float
    resources: int


class UsageWire(TypedDict):
    success: bool
    startDate: str
    endDate: str
    groupBy: str
    usage: list[PeriodWire]
    totals: Totals


class ResourceUsageWire(TypedDict):
    id: str
    name: str
    type: str
    bookings: int
    hours: float
    utilization: float


class Popular(TypedDict):
    success: bool
    period: str
    resources: list[ResourceUsageWire]


class TopResource(TypedDict):
    id: str
    name: str
    bookings: int
    utilization: float


class Trends(TypedDict):
    daily: list[int]
    weekly: list[int]


class StatisticsWire(TypedDict):
    totalUsers: int
    totalResources: int
    totalBookings: int
    activeBookings: int
    utilizationRate: float
    topResources: list[TopResource]
    bookingTrends: Trends


class OneStatistics(TypedDict):
    success: bool
    statistics: StatisticsWire


DATE_OR_TIME: dict[str, Any] = {
    "type": "string",
    "anyOf": [{"format": "date"}, {"format": "date-time"}],
}
PERIOD = (
    Param("startDate", DATE_OR_TIME, required=True, description="a date: from its start"),
    Param("endDate", DATE_OR_TIME, required=True, description="a date: through its end"),
)


def _date(raw: str | None, field: str, end: bool) -> datetime:
    """A date as the UTC midnight it starts (or, for an end, the one after it), else an
    ISO 8601 time with an offset."""
    try:
        if raw and len(raw) == len("2025-08-01"):
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                raise kit.Malformed(field, "is not an ISO 8601 date or time") from None
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        return require_time(raw, field)
    except OverflowError:  # in UTC, or through its end, it leaves years 1-9999
        raise kit.Malformed(field, "is out of range") from None


def _iso(moment: datetime) -> str:
    """As `iso`, with the year in four digits however early it is."""
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _period(found: PeriodUsage) -> PeriodWire:
    return {
        "period": found.period.isoformat(),
        "bookings": found.bookings,
        "hours": found.hours,
        "utilization": found.utilization,
    }


def _resource(found: ResourceUsage) -> ResourceUsageWire:
    return {
        "id": found.address,
        "name": found.name,
        "type": found.type,
        "bookings": found.bookings,
        "hours": found.hours,
        "utilization": found.utilization,
    }


def _usage(found: Usage) -> UsageWire:
    total = found.total
    return {
        "success": True,
        "startDate": _iso(found.since),
        "endDate": _iso(found.until),
        "groupBy": found.group_by,
        "usage": [_period(p) for p in found.periods],
        "totals": {
            "bookings": total.bookings,
            "hours": total.hours,
            "utilization": total.utilization,
            "resources": found.resources,
        },
    }


@get(
    "/analytics/usage",
    guards=[admins],
    opt=wire(
        params=(*PERIOD, Param("groupBy", description="day, week or month")),
        answers={200: UsageWire},
    ),
)
async def usage(
    request: AnyRequest,
    analytics: NamedDependency[AnalyticsService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    since = _date(query.get("startDate"), "startDate", end=False)
    until = _date(query.get("endDate"), "endDate", end=True)
    unit = query.get("groupBy") or "day"
    return ok(**_usage(await analytics.usage(principal, since, until, unit)))


@get(
    "/analytics/popular-resources",
    opt=wire(
        params=(
            Param("period", description="week, month or year"),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_POPULAR}),
        ),
        answers={200: Popular},
    ),
)
async def popular_resources(
    request: AnyRequest,
    analytics: NamedDependency[AnalyticsService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    period = query.get("period") or "month"
    limit = kit.integer(query.get("limit"), "limit", DEFAULT_POPULAR, 1, MAX_POPULAR)
    found = await analytics.popular(principal, period, limit)
    return ok(period=period, resources=[_resource(r) for r in found])


@get("/admin/statistics", guards=[admins], opt=wire(answers={200: OneStatistics}))
async def statistics(
    analytics: NamedDependency[AnalyticsService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    found = await analytics.statistics(principal)
    top: list[TopResource] = [
        {"id": r.address, "name": r.name, "bookings": r.bookings, "utilization": r.utilization}
        for r in found.top_resources
    ]
    shown: StatisticsWire = {
        "totalUsers": found.total_users,
        "totalResources": found.total_resources,
        "totalBookings": found.total_bookings,
        "activeBookings": found.active_bookings,
        "utilizationRate": found.utilization_rate,
        "topResources": top,
        "bookingTrends": {"daily": found.daily, "weekly": found.weekly},
    }
    return ok(statistics=shown)


router = Router(path="/", route_handlers=[usage, popular_resources, statistics])
