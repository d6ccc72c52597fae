"""Statistics and usage figures computed from stored bookings.

Only confirmed bookings count (tentative ones are not yet decided, cancelled ones never
happen). A booking belongs, with all its hours, to the UTC period it starts in. The
database sums (store/analytics.py); this service picks the windows, fills empty
periods and turns hours into utilisation: booked hours / (bookable resources * hours
in the period) as a percentage, where bookable resources are the active ones in scope
now (the store keeps no history of how many there were).

Usage and statistics are for admins: a server admin's cover the tenant, a domain
admin's the resources under its domains. Popular resources are for every signed-in
user of the tenant, as the resources themselves are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from townhall.domain.errors import Forbidden, Impossible, Invalid
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import analytics as store
from townhall.store import domains as domain_store
from townhall.store.analytics import Figures, ResourceFigures, Scope
from townhall.store.database import Tx

GROUPS = ("day", "week", "month")
MAX_PERIODS = 366
SPANS = {"week": timedelta(days=7), "month": timedelta(days=30), "year": timedelta(days=365)}
STATISTICS_SPAN = timedelta(days=30)
TOP_RESOURCES = 5
TREND_DAYS = 7
TREND_WEEKS = 4


@dataclass(frozen=True, slots=True)
class PeriodUsage:
    period: date
    bookings: int
    hours: float
    utilization: float


@dataclass(frozen=True, slots=True)
class Usage:
    since: datetime
    until: datetime
    group_by: str
    resources: int
    periods: list[PeriodUsage]
    total: PeriodUsage


@dataclass(frozen=True, slots=True)
class ResourceUsage:
    address: str
    name: str
    type: str
    bookings: int
    hours: float
    utilization: float


@dataclass(frozen=True, slots=True)
class Statistics:
    total_users: int
    total_resources: int
    total_bookings: int
    active_bookings: int
    utilization_rate: float
    top_resources: list[ResourceUsage]
    daily: list[int]
    weekly: list[int]


def period_start(moment: datetime, unit: str) -> date:
    """The first day of the UTC day, ISO week (Monday) or month `moment` falls in."""
    day = moment.astimezone(UTC).date()
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def next_period(start: date, unit: str) -> date:
    if unit == "week":
        return start + timedelta(days=7)
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def periods(since: datetime, until: datetime, unit: str) -> list[tuple[date, datetime, datetime]]:
    """Each period touching [since, until): its label and its part inside the range."""
    found = []
    start = period_start(since, unit)
    while midnight(start) < until:
        following = next_period(start, unit)
        found.append((start, max(midnight(start), since), min(midnight(following), until)))
        start = following
    return found


def utilization(hours: float, resources: int, span: timedelta) -> float:
    """Booked hours as a percentage of what `resources` could offer over `span`."""
    capacity = resources * span.total_seconds() / 3600
    return round(100 * hours / capacity, 1) if capacity > 0 else 0.0


def scope_of(caller: Principal) -> Scope:
    """The resources an admin's figures cover; refuses anyone else."""
    if not caller.is_admin:
        raise Forbidden("analytics", "", "Only an administrator may do this")
    domains = None if caller.is_server_admin else caller.admin_domains
    return Scope(caller.tenant_id, domains)


def _check_range(since: datetime, until: datetime, unit: str) -> None:
    if unit not in GROUPS:
        raise Invalid("group_by", f"must be one of {', '.join(GROUPS)}")
    if until <= since:
        raise Impossible("until", "must be after the start of the range")
    start, count = period_start(since, unit), 0
    while midnight(start) < until:
        count += 1
        if count > MAX_PERIODS:
            raise Invalid("until", f"makes the range span more than {MAX_PERIODS} {unit}s")
        try:
            start = next_period(start, unit)
        except OverflowError:
            raise Invalid("until", "is too far in the future") from None


def _usage(
    figures: dict[str, Figures], since: datetime, until: datetime, unit: str, resources: int
) -> list[PeriodUsage]:
    found = []
    for label, start, end in periods(since, until, unit):
        got = figures.get(label.isoformat(), Figures(0, 0.0))
        share = utilization(got.hours, resources, end - start)
        found.append(PeriodUsage(label, got.bookings, round(got.hours, 2), share))
    return found


def _resource_usage(found: ResourceFigures, span: timedelta) -> ResourceUsage:
    share = utilization(found.hours, 1, span)
    hours = round(found.hours, 2)
    return ResourceUsage(found.address, found.name, found.type, found.bookings, hours, share)


class AnalyticsService(Service):
    async def usage(
        self, caller: Principal, since: datetime, until: datetime, unit: str = "day"
    ) -> Usage:
        """Bookings, hours and utilisation per period of [since, until), empty periods
        included, and the same over the whole range."""
        scope = scope_of(caller)
        _check_range(since, until, unit)
        async with self.db.read() as tx:
            figures = await store.per_period(tx, scope, since, until, unit)
            resources = await store.resource_count(tx, scope, active_only=True)
        rows = _usage(figures, since, until, unit, resources)
        hours = sum(f.hours for f in figures.values())
        total = PeriodUsage(
            period_start(since, unit),
            sum(f.bookings for f in figures.values()),
            round(hours, 2),
            utilization(hours, resources, until - since),
        )
        return Usage(since, until, unit, resources, rows, total)

    async def popular(self, caller: Principal, period: str, limit: int) -> list[ResourceUsage]:
        """The tenant's most booked resources over the `period` ending now."""
        if period not in SPANS:
            raise Invalid("period", f"must be one of {', '.join(SPANS)}")
        span, now = SPANS[period], self.clock.now()
        scope = Scope(caller.tenant_id)
        async with self.db.read() as tx:
            found = await store.per_resource(tx, scope, now - span, now, limit)
        return [_resource_usage(f, span) for f in found]

    async def statistics(self, caller: Principal) -> Statistics:
        scope = scope_of(caller)
        now = self.clock.now()
        async with self.db.read() as tx:
            totals = await store.totals(tx, scope, now)
            window = await store.figures(tx, scope, now - STATISTICS_SPAN, now)
            top = await store.per_resource(tx, scope, now - STATISTICS_SPAN, now, TOP_RESOURCES)
            active = await store.resource_count(tx, scope, active_only=True)
            daily, weekly = await self._trends(tx, scope, now)
            return Statistics(
                total_users=await self._people(tx, caller),
                total_resources=await store.resource_count(tx, scope),
                total_bookings=totals.bookings,
                active_bookings=totals.active,
                utilization_rate=utilization(window.hours, active, STATISTICS_SPAN),
                top_resources=[_resource_usage(f, STATISTICS_SPAN) for f in top],
                daily=daily,
                weekly=weekly,
            )

    async def _trends(self, tx: Tx, scope: Scope, now: datetime) -> tuple[list[int], list[int]]:
        """Bookings per UTC day of the last seven (today last) and per ISO week of the
        last four (this one last), by when they start."""
        return (
            await _counts(tx, scope, now, "day", TREND_DAYS),
            await _counts(tx, scope, now, "week", TREND_WEEKS),
        )

    async def _people(self, tx: Tx, caller: Principal) -> int:
        """People belong to the whole tenant and answer under each of its person
        domains: an admin of any person domain counts them all; an admin of resource
        sub-domains only, none."""
        if not caller.is_server_admin:
            mine = await domain_store.list_domains(tx, caller.tenant_id, caller.admin_domains)
            if all(d.kind == "resource-subdomain" for d in mine):
                return 0
        return await store.people(tx, caller.tenant_id)


async def _counts(tx: Tx, scope: Scope, now: datetime, unit: str, count: int) -> list[int]:
    """Bookings of each of the `count` periods up to the one holding `now`, oldest first."""
    start = period_start(now, unit)
    for _ in range(count - 1):
        start = period_start(midnight(start) - timedelta(days=1), unit)
    until = midnight(next_period(period_start(now, unit), unit))
    figures = await store.per_period(tx, scope, midnight(start), until, unit)
    labels = [label for label, _, _ in periods(midnight(start), until, unit)]
    return [figures.get(label.isoformat(), Figures(0, 0.0)).bookings for label in labels]
