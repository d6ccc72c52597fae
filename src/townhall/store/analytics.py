"""Booking figures summed by the database: per period, per resource, in total.

Only confirmed bookings count. A booking belongs, with all its hours, to the UTC period
it starts in. Periods are computed in SQL by `PeriodStart` (the first day of the UTC
day, ISO week or month, as `YYYY-MM-DD`) and durations by `HoursBetween`; both compile
to each backend's own date arithmetic, so grouping happens in the database and no
booking row is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Float, Row, Select, String, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from townhall.store.database import Tx
from townhall.store.schema import bookings, domains, resources, users
from townhall.store.search import under

CONFIRMED = bookings.c.status == "confirmed"
Columns = TypeVarTuple("Columns")


class PeriodStart(FunctionElement[str]):
    """The first day (`YYYY-MM-DD`, UTC) of the period a time falls in; one subclass per
    unit, so the unit is part of the statement's cache key."""

    type = String()
    inherit_cache = True
    unit = "day"


class DayStart(PeriodStart):
    name = "day_start"
    inherit_cache = True
    unit = "day"


class WeekStart(PeriodStart):
    """Weeks start on Monday (ISO 8601)."""

    name = "week_start"
    inherit_cache = True
    unit = "week"


class MonthStart(PeriodStart):
    name = "month_start"
    inherit_cache = True
    unit = "month"


PERIODS: dict[str, type[PeriodStart]] = {"day": DayStart, "week": WeekStart, "month": MonthStart}

_SQLITE_PERIOD = {
    "day": "date({0})",
    # 'weekday 0' moves forward to Sunday (or stays on one); six days back is Monday.
    "week": "date({0}, 'weekday 0', '-6 days')",
    "month": "strftime('%Y-%m-01', {0})",
}


def _period_on_postgresql(element: PeriodStart, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    truncated = f"date_trunc('{element.unit}', ({moment}) AT TIME ZONE 'UTC')"
    return f"to_char({truncated}, 'YYYY-MM-DD')"


def _period_on_sqlite(element: PeriodStart, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps times as UTC text (`YYYY-MM-DD HH:MM:SS.ffffff`).
    return _SQLITE_PERIOD[element.unit].format(compiler.process(element.clauses, **kw))


for _kind in PERIODS.values():
    compiles(_kind, "postgresql")(_period_on_postgresql)
    compiles(_kind)(_period_on_sqlite)


class HoursBetween(FunctionElement[float]):
    """`end - start` in hours, as a float."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


@compiles(HoursBetween, "postgresql")
def _hours_on_postgresql(element: HoursBetween, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"


@compiles(HoursBetween)
def _hours_on_sqlite(element: HoursBetween, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


HOURS = HoursBetween(bookings.c.starts_at, bookings.c.ends_at)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which resources' figures: the tenant's, or only those under `domains`."""

    tenant_id: int
    domains: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    bookings: int
    hours: float


@dataclass(frozen=True, slots=True)
class ResourceFigures:
    address: str
    name: str
    type: str
    bookings: int
    hours: float


@dataclass(frozen=True, slots=True)
class Totals:
    bookings: int
    active: int


def _scoped(query: Select[*Columns], scope: Scope) -> Select[*Columns]:
    """Bookings (joined to their resource and its domain) of the scope's resources."""
    query = (
        query.join(resources, resources.c.id == bookings.c.resource_id)
        .join(domains, domains.c.id == resources.c.domain_id)
        .where(bookings.c.tenant_id == scope.tenant_id, CONFIRMED)
    )
    return query if scope.domains is None else query.where(under(scope.domains))


_FIGURES = (
    func.count().label("bookings"),
    func.coalesce(func.sum(HOURS), 0).label("hours"),
)


def _figures(row: Row[Any]) -> Figures:
    """PostgreSQL sums to a Decimal, SQLite to a float: both become a float."""
    return Figures(int(row.bookings), float(row.hours))


def _starting(since: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(bookings.c.starts_at >= since, bookings.c.starts_at < until)


async def per_period(
    tx: Tx, scope: Scope, since: datetime, until: datetime, unit: str
) -> dict[str, Figures]:
    """Bookings and hours by the period (`YYYY-MM-DD`) they start in; empty periods
    are absent."""
    period = PERIODS[unit](bookings.c.starts_at).label("period")
    query = _scoped(select(period, *_FIGURES).select_from(bookings), scope)
    query = query.where(_starting(since, until)).group_by(period)
    return {row.period: _figures(row) for row in await tx.execute(query)}


async def figures(tx: Tx, scope: Scope, since: datetime, until: datetime) -> Figures:
    """Bookings starting in [since, until), and their hours."""
    query = _scoped(select(*_FIGURES).select_from(bookings), scope)
    return _figures((await tx.execute(query.where(_starting(since, until)))).one())


async def per_resource(
    tx: Tx, scope: Scope, since: datetime, until: datetime, limit: int
) -> list[ResourceFigures]:
    """The `limit` resources with most bookings starting in [since, until): by
    bookings, then hours, then name."""
    count, hours = _FIGURES
    address = (resources.c.name + "@" + domains.c.name).label("address")
    query = _scoped(
        select(address, resources.c.display_name, resources.c.type, count, hours).select_from(
            bookings
        ),
        scope,
    )
    query = (
        query.where(_starting(since, until))
        .group_by(resources.c.id, resources.c.name, domains.c.name)
        .group_by(resources.c.display_name, resources.c.type)
        .order_by(count.desc(), hours.desc(), resources.c.display_name, resources.c.id)
        .limit(limit)
    )
    return [
        ResourceFigures(
            row.address, row.display_name, row.type, int(row.bookings), float(row.hours)
        )
        for row in await tx.execute(query)
    ]


async def totals(tx: Tx, scope: Scope, now: datetime) -> Totals:
    """Confirmed bookings ever, and those not yet over at `now` (running or to come)."""
    active = func.coalesce(func.sum(case((bookings.c.ends_at > now, 1), else_=0)), 0)
    query = _scoped(select(_FIGURES[0], active.label("active")).select_from(bookings), scope)
    row = (await tx.execute(query)).one()
    return Totals(int(row.bookings), int(row.active))


async def resource_count(tx: Tx, scope: Scope, active_only: bool = False) -> int:
    query = (
        select(func.count())
        .select_from(resources)
        .join(domains, domains.c.id == resources.c.domain_id)
        .where(resources.c.tenant_id == scope.tenant_id)
    )
    if scope.domains is not None:
        query = query.where(under(scope.domains))
    if active_only:
        query = query.where(resources.c.active.is_(True))
    return int((await tx.execute(query)).scalar_one())


async def people(tx: Tx, tenant_id: int) -> int:
    """The tenant's person accounts (resources are not user rows)."""
    query = select(func.count()).select_from(users).where(users.c.tenant_id == tenant_id)
    return int((await tx.execute(query)).scalar_one())
