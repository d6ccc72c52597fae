"""Candidates for the global search: rows whose text contains the query, found by SQL.

The database narrows the tenant's rows to those that contain the query somewhere (a
LIKE on the lower-cased text, `%` and `_` of the query taken literally) and puts the
likeliest first (an exact or prefix match of the name), at most `limit` of them; the
service then scores that bounded set. Databases lower-case only ASCII the same way
(SQLite leaves `Ä` alone) and JSON text may hold `\\u00e4` for `ä`, so a non-ASCII
character of the query matches any one character (in JSON text: anything). A match
only in a JSON column's keys, or only through such a wildcard, is a false candidate
the service scores 0 and drops, never a missed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    String,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from townhall.infrastructure.clock import as_utc
from townhall.store import bookings as booking_store
from townhall.store.bookings import LIVE
from townhall.store.database import Tx
from townhall.store.schema import bookings, domains, resources, users


@dataclass(frozen=True, slots=True)
class ResourceMatch:
    address: str
    name: str
    type: str
    category: str
    features: tuple[str, ...]
    custom_fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UserMatch:
    username: str
    name: str
    email: str | None


@dataclass(frozen=True, slots=True)
class BookingMatch:
    id: str
    title: str
    starts_at: datetime
    resource: str
    resource_name: str


@dataclass(frozen=True, slots=True)
class BookingScope:
    """Whose bookings a caller may find: all of the tenant's (`everything`), else those
    `user_id` organised, those naming `email` (lower-case) as an attendee in any case,
    and those of resources under `domains` (a domain admin's)."""

    everything: bool = False
    user_id: int | None = None
    email: str | None = None
    domains: tuple[str, ...] = ()


def under(names: tuple[str, ...]) -> ColumnElement[bool]:
    """`domains.name` is one of `names` or a sub-domain of one (e.g. their resource
    sub-domains), as domain admins' rights reach."""
    exact = [domains.c.name == name for name in names]
    below = [domains.c.name.endswith("." + name, autoescape=True) for name in names]
    return or_(*exact, *below)


ESCAPE = "/"


def pattern(needle: str, json: bool = False) -> str:
    """`needle` (lower-case) as a LIKE pattern (escaped with `/`) that the database's
    lower-cased text matches wherever Python's holds `needle`: ASCII stands for itself,
    any other character for any one character, or in JSON text (where it, `"` and `\\`
    may be written as escapes) for any run of characters."""
    parts: list[str] = []
    for char in needle:
        if char.isascii() and not (json and (char in '"\\' or not char.isprintable())):
            parts.append(ESCAPE + char if char in "%_" + ESCAPE else char)
        elif not json:
            parts.append("_")
        elif not parts or parts[-1] != "%":
            parts.append("%")
    return "".join(parts)


def _contains(column: Any, needle: str, json: bool = False) -> ColumnElement[bool]:
    found = f"%{pattern(needle, json)}%"
    return func.lower(column).like(found, escape=ESCAPE)


def _rank(columns: tuple[Any, ...], needle: str) -> Any:
    """0 for an exact match of a name column, 1 for a prefix, else 2: the order that
    keeps the best candidates inside the bound."""
    lowered = [func.lower(c) for c in columns]
    exact, prefix = pattern(needle), pattern(needle) + "%"
    return case(
        (or_(*[c.like(exact, escape=ESCAPE) for c in lowered]), 0),
        (or_(*[c.like(prefix, escape=ESCAPE) for c in lowered]), 1),
        else_=2,
    )


def _address() -> Any:
    return resources.c.name + "@" + domains.c.name


async def find_resources(tx: Tx, tenant_id: int, needle: str, limit: int) -> list[ResourceMatch]:
    """Resources whose name, address, type, category, features or custom fields contain
    `needle` (lower-case)."""
    address = _address()
    query = (
        select(
            address.label("address"),
            resources.c.display_name,
            resources.c.type,
            resources.c.category,
            resources.c.features,
            resources.c.custom_fields,
        )
        .join(domains, domains.c.id == resources.c.domain_id)
        .where(
            resources.c.tenant_id == tenant_id,
            or_(
                _contains(resources.c.display_name, needle),
                _contains(address, needle),
                _contains(resources.c.type, needle),
                _contains(resources.c.category, needle),
                _contains(cast(resources.c.features, String), needle, json=True),
                _contains(cast(resources.c.custom_fields, String), needle, json=True),
            ),
        )
        .order_by(
            _rank((resources.c.display_name, resources.c.name, address), needle),
            resources.c.display_name,
            resources.c.id,
        )
        .limit(limit)
    )
    return [
        ResourceMatch(
            address=row.address,
            name=row.display_name,
            type=row.type,
            category=row.category,
            features=tuple(row.features or ()),
            custom_fields=dict(row.custom_fields or {}),
        )
        for row in await tx.execute(query)
    ]


async def find_users(
    tx: Tx, tenant_id: int, domain: str, needle: str, limit: int
) -> list[UserMatch]:
    """People whose username, name, stored e-mail or address `username@domain` contain
    `needle` (lower-case)."""
    address = users.c.username + "@" + bindparam("domain", domain, type_=String())
    query = (
        select(users.c.username, users.c.name, users.c.email)
        .where(
            users.c.tenant_id == tenant_id,
            or_(
                _contains(users.c.username, needle),
                _contains(users.c.name, needle),
                _contains(users.c.email, needle),
                _contains(address, needle),
            ),
        )
        .order_by(_rank((users.c.username, users.c.name), needle), users.c.name, users.c.username)
        .limit(limit)
    )
    return [UserMatch(row.username, row.name, row.email) for row in await tx.execute(query)]


class JsonListHasFolded(FunctionElement[bool]):
    """`column` (a JSON list of strings) holds `value` (lower-case) in any case: an
    attendee's address is kept as the organiser typed it, and addresses are compared
    without regard to case."""

    type = Boolean()
    name = "json_list_has_folded"
    inherit_cache = True


@compiles(JsonListHasFolded, "postgresql")
def _folded_on_postgresql(element: JsonListHasFolded, compiler: SQLCompiler, **kw: Any) -> str:
    column, value = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM jsonb_array_elements_text(CAST({column} AS JSONB)) "
        f"AS listed(entry) WHERE lower(listed.entry) = CAST({value} AS TEXT))"
    )


@compiles(JsonListHasFolded)
def _folded_on_sqlite(element: JsonListHasFolded, compiler: SQLCompiler, **kw: Any) -> str:
    column, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE lower(json_each.value) = {value})"


def _visible(scope: BookingScope) -> ColumnElement[bool] | None:
    """The bookings the scope may see, as a condition (None: all of the tenant's)."""
    if scope.everything:
        return None
    allowed: list[ColumnElement[bool]] = []
    if scope.user_id is not None:
        allowed.append(bookings.c.organizer_id == scope.user_id)
        allowed.append(booking_store.invited(scope.user_id))  # under any of their addresses
    if scope.email:
        attendee = bindparam(None, scope.email, type_=String())
        allowed.append(JsonListHasFolded(bookings.c.attendees, attendee))
    if scope.domains:
        allowed.append(under(scope.domains))
    return or_(*allowed) if allowed else None


def _booking_query(tenant_id: int, needle: str, scope: BookingScope) -> Select[Any]:
    address = _address()
    query = (
        select(
            bookings.c.id,
            bookings.c.title,
            bookings.c.starts_at,
            address.label("resource"),
            resources.c.display_name,
        )
        .join(resources, resources.c.id == bookings.c.resource_id)
        .join(domains, domains.c.id == resources.c.domain_id)
        .where(
            bookings.c.tenant_id == tenant_id,
            LIVE,
            or_(
                _contains(bookings.c.title, needle),
                _contains(bookings.c.id, needle),
                _contains(resources.c.display_name, needle),
                _contains(address, needle),
            ),
        )
    )
    visible = _visible(scope)
    return query if visible is None else query.where(visible)


async def find_bookings(
    tx: Tx, tenant_id: int, needle: str, scope: BookingScope, limit: int
) -> list[BookingMatch]:
    """Live bookings in `scope` whose title, id or resource contain `needle`."""
    if not scope.everything and _visible(scope) is None:
        return []
    query = (
        _booking_query(tenant_id, needle, scope)
        .order_by(
            _rank((bookings.c.title, bookings.c.id), needle),
            bookings.c.starts_at.desc(),
            bookings.c.id,
        )
        .limit(limit)
    )
    return [
        BookingMatch(
            id=row.id,
            title=row.title,
            starts_at=as_utc(row.starts_at),
            resource=row.resource,
            resource_name=row.display_name,
        )
        for row in await tx.execute(query)
    ]
