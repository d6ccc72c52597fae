"""`/analytics/*` and `/admin/statistics`: usage computed from the stored bookings.

`startDate` / `endDate` take a date (`2025-08-01`: from its start, through its end, in
UTC) or a time with an offset; a time without one is refused as everywhere in this
dialect. Figures are the analytics service's (docs/rmp-mapping.md, "Search, analytics
and statistics").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Response, Router, get

from townhall.domain.principal import Principal
from townhall.services.analytics import AnalyticsService, PeriodUsage, ResourceUsage, Usage

from .. import kit
from .http import AnyRequest, admins, ok, require_time

DEFAULT_POPULAR = 10
MAX_POPULAR = 100


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


def _period(found: PeriodUsage) -> dict[str, Any]:
    return {
        "period": found.period.isoformat(),
        "bookings": found.bookings,
        "hours": found.hours,
        "utilization": found.utilization,
    }


def _resource(found: ResourceUsage) -> dict[str, Any]:
    return {
        "id": found.address,
        "name": found.name,
        "type": found.type,
        "bookings": found.bookings,
        "hours": found.hours,
        "utilization": found.utilization,
    }


def _usage(found: Usage) -> dict[str, Any]:
    total = found.total
    return {
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


@get("/analytics/usage", guards=[admins])
async def usage(
    request: AnyRequest, analytics: AnalyticsService, principal: Principal
) -> Response[bytes]:
    query = request.query_params
    since = _date(query.get("startDate"), "startDate", end=False)
    until = _date(query.get("endDate"), "endDate", end=True)
    unit = query.get("groupBy") or "day"
    return ok(**_usage(await analytics.usage(principal, since, until, unit)))


@get("/analytics/popular-resources")
async def popular_resources(
    request: AnyRequest, analytics: AnalyticsService, principal: Principal
) -> Response[bytes]:
    query = request.query_params
    period = query.get("period") or "month"
    limit = kit.integer(query.get("limit"), "limit", DEFAULT_POPULAR, 1, MAX_POPULAR)
    found = await analytics.popular(principal, period, limit)
    return ok(period=period, resources=[_resource(r) for r in found])


@get("/admin/statistics", guards=[admins])
async def statistics(analytics: AnalyticsService, principal: Principal) -> Response[bytes]:
    found = await analytics.statistics(principal)
    top = [
        {"id": r.address, "name": r.name, "bookings": r.bookings, "utilization": r.utilization}
        for r in found.top_resources
    ]
    return ok(
        statistics={
            "totalUsers": found.total_users,
            "totalResources": found.total_resources,
            "totalBookings": found.total_bookings,
            "activeBookings": found.active_bookings,
            "utilizationRate": found.utilization_rate,
            "topResources": top,
            "bookingTrends": {"daily": found.daily, "weekly": found.weekly},
        }
    )


router = Router(path="/", route_handlers=[usage, popular_resources, statistics])
