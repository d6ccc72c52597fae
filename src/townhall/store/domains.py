"""A tenant's domains: the tree of resource sub-domains, settings and domain admins; and
the brands' shared mail domains, rows with a brand instead of a tenant (0011)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, union, update
from sqlalchemy.orm import aliased

from townhall.domain.models import Domain
from townhall.domain.roles import SERVER_ADMIN
from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import domain_admins, domains, resources, user_roles, users

_parent = aliased(domains)

STORED_SETTINGS = {
    "date_format": "dateFormat",
    "allow_past_bookings": "allowPastBookings",
    "max_booking_hours": "maxBookingHours",
}
"""Setting names whose key in the `settings` column differs from the domain's name: the
column keeps the keys its first release wrote, so every stored row stays valid without
a migration, and processes of both releases can share one database while a cluster is
upgraded one process at a time. Other settings are stored under their own names."""
_SETTING_NAMES = {stored: name for name, stored in STORED_SETTINGS.items()}


def settings_of(stored: dict[str, Any] | None) -> dict[str, object]:
    """A `settings` column's value with the domain's setting names."""
    return {_SETTING_NAMES.get(key, key): value for key, value in (stored or {}).items()}


def _stored(settings: dict[str, object]) -> dict[str, object]:
    return {STORED_SETTINGS.get(key, key): value for key, value in settings.items()}


def _resource_count() -> Any:
    """Resources in a domain or in the sub-domains under it."""
    sub = aliased(domains)
    return (
        select(func.count(resources.c.id))
        .select_from(resources.join(sub, sub.c.id == resources.c.domain_id))
        .where((sub.c.id == domains.c.id) | (sub.c.parent_id == domains.c.id))
        .scalar_subquery()
    )


def _user_count() -> Any:
    """People are the tenant's, reachable under each of its person domains."""
    return (
        select(func.count(users.c.id))
        .where(users.c.tenant_id == domains.c.tenant_id)
        .scalar_subquery()
    )


_DOMAIN = select(
    domains.c.id,
    domains.c.name,
    domains.c.kind,
    domains.c.settings,
    domains.c.created_at,
    _parent.c.name.label("parent"),
    _resource_count().label("resources"),
    _user_count().label("users"),
).outerjoin(_parent, _parent.c.id == domains.c.parent_id)


def _domain(row: Row[Any]) -> Domain:
    return Domain(
        name=row.name,
        kind=row.kind,
        parent=row.parent,
        users=row.users if row.kind != "resource-subdomain" else 0,
        resources=row.resources,
        created_at=as_utc(row.created_at) if row.created_at else None,
        settings=settings_of(row.settings),
    )


async def list_domains(tx: Tx, tenant_id: int, only: tuple[str, ...] | None = None) -> list[Domain]:
    query = _DOMAIN.where(domains.c.tenant_id == tenant_id).order_by(domains.c.name)
    if only is not None:
        query = query.where(domains.c.name.in_(only))
    return [_domain(row) for row in await tx.execute(query)]


async def find(tx: Tx, tenant_id: int, name: str) -> tuple[int, Domain] | None:
    row = (
        await tx.execute(
            _DOMAIN.where(domains.c.tenant_id == tenant_id, domains.c.name == name.lower())
        )
    ).first()
    return (row.id, _domain(row)) if row else None


async def held_by_others(tx: Tx, tenant_id: int, candidates: list[str]) -> bool:
    """Whether another tenant has any of the names."""
    query = select(domains.c.id).where(
        (domains.c.tenant_id != tenant_id) | domains.c.tenant_id.is_(None),
        domains.c.name.in_(candidates),
    )
    return (await tx.execute(query.limit(1))).first() is not None


async def insert_domain(
    tx: Tx, tenant_id: int, name: str, kind: str, parent_id: int | None, now: datetime
) -> int:
    """Raises UniqueViolation if any tenant has the name already."""
    query = (
        insert(domains)
        .values(
            tenant_id=tenant_id,
            name=name,
            kind=kind,
            parent_id=parent_id,
            settings={},
            created_at=now,
        )
        .returning(domains.c.id)
    )
    return int((await tx.execute(query)).scalar_one())


async def set_settings(tx: Tx, domain_id: int, settings: dict[str, object]) -> None:
    """Store the domain's settings (by the domain's names; see STORED_SETTINGS)."""
    query = update(domains).where(domains.c.id == domain_id).values(settings=_stored(settings))
    await tx.execute(query)


async def add_admin(tx: Tx, user_id: int, domain_id: int) -> bool:
    """True if the person was not an admin of the domain before."""
    exists = await tx.execute(
        select(domain_admins.c.user_id).where(
            domain_admins.c.user_id == user_id, domain_admins.c.domain_id == domain_id
        )
    )
    if exists.first() is not None:
        return False
    await tx.execute(insert(domain_admins).values(user_id=user_id, domain_id=domain_id))
    return True


async def administered_by(tx: Tx, user_id: int) -> list[str]:
    query = (
        select(domains.c.name)
        .join(domain_admins, domain_admins.c.domain_id == domains.c.id)
        .where(domain_admins.c.user_id == user_id)
        .order_by(domains.c.name)
    )
    return list((await tx.execute(query)).scalars())


async def remove_admin(tx: Tx, user_id: int, domain_id: int) -> bool:
    """True if the person was an admin of the domain before."""
    done = await tx.execute(
        delete(domain_admins).where(
            domain_admins.c.user_id == user_id, domain_admins.c.domain_id == domain_id
        )
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def admin_ids(tx: Tx, tenant_id: int) -> set[int]:
    """Users who administer the tenant (its server admins) or one of its domains."""
    of_domains = select(domain_admins.c.user_id).join(
        domains, domains.c.id == domain_admins.c.domain_id
    )
    server = select(user_roles.c.user_id).join(users, users.c.id == user_roles.c.user_id)
    query = union(
        of_domains.where(domains.c.tenant_id == tenant_id),
        server.where(users.c.tenant_id == tenant_id, user_roles.c.role == SERVER_ADMIN),
    )
    return set((await tx.execute(query)).scalars())


async def is_server_admin(tx: Tx, tenant_id: int, username: str) -> bool:
    query = (
        select(user_roles.c.user_id)
        .join(users, users.c.id == user_roles.c.user_id)
        .where(
            users.c.tenant_id == tenant_id,
            users.c.username == username,
            user_roles.c.role == SERVER_ADMIN,
        )
    )
    return (await tx.execute(query)).first() is not None


# -- mail domains across tenants and brands (OX's explicit and shared domains) ----------


async def holder(tx: Tx, name: str) -> tuple[int | None, int | None, str, bool] | None:
    """Who holds the name, of every kind: (tenant id, brand id, kind, routes)."""
    query = select(domains.c.tenant_id, domains.c.brand_id, domains.c.kind, domains.c.routes).where(
        domains.c.name == name
    )
    row = (await tx.execute(query)).first()
    return (row.tenant_id, row.brand_id, row.kind, bool(row.routes)) if row else None


async def held_outside(
    tx: Tx, candidates: list[str], tenant_ids: list[int], brand_ids: set[int]
) -> bool:
    """Whether a tenant other than these, or a brand other than these, has a name."""
    if not candidates:
        return False
    theirs = (domains.c.tenant_id.is_(None) | domains.c.tenant_id.not_in(tenant_ids)) & (
        domains.c.brand_id.is_(None) | domains.c.brand_id.not_in(list(brand_ids))
    )
    query = select(domains.c.id).where(domains.c.name.in_(candidates), theirs)
    return (await tx.execute(query.limit(1))).first() is not None


async def names_of_kind(tx: Tx, tenant_ids: list[int], kind: str) -> list[str]:
    """The names of that kind these tenants hold, sorted."""
    query = select(domains.c.name).where(
        domains.c.tenant_id.in_(tenant_ids), domains.c.kind == kind
    )
    return sorted(r.name for r in await tx.execute(query))


async def shared_names(tx: Tx, brand_ids: set[int]) -> list[str]:
    query = select(domains.c.name).where(
        domains.c.brand_id.in_(list(brand_ids)), domains.c.kind == "shared"
    )
    return sorted(r.name for r in await tx.execute(query))


async def insert_shared(tx: Tx, brand_id: int, name: str, now: datetime) -> None:
    """Raises UniqueViolation if any tenant or brand has the name already."""
    await tx.execute(
        insert(domains).values(
            tenant_id=None, brand_id=brand_id, name=name, kind="shared", settings={}, created_at=now
        )
    )


async def delete_named(tx: Tx, name: str) -> None:
    await tx.execute(delete(domains).where(domains.c.name == name))


async def has_subdomains(tx: Tx, name: str) -> bool:
    """Whether resource sub-domains hang under the domain (they would go with it)."""
    query = select(_parent.c.id).join(domains, domains.c.parent_id == _parent.c.id)
    query = query.where(_parent.c.name == name)
    return (await tx.execute(query.limit(1))).first() is not None
