"""Tenants, their domains and server-wide settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from townhall.domain.models import Tenant
from townhall.store.database import Tx
from townhall.store.schema import domains, jobs, server_settings, tenants

_TENANT = select(tenants.c.id, tenants.c.name, domains.c.name.label("domain")).join(
    domains, (domains.c.tenant_id == tenants.c.id) & (domains.c.kind == "primary")
)


async def _one(tx: Tx, query: Any) -> Tenant | None:
    row = (await tx.execute(query)).first()
    return Tenant(row.id, row.name, row.domain) if row else None


async def first_tenant(tx: Tx) -> Tenant | None:
    return await _one(tx, _TENANT.order_by(tenants.c.id).limit(1))


async def tenant_by_id(tx: Tx, tenant_id: int) -> Tenant | None:
    return await _one(tx, _TENANT.where(tenants.c.id == tenant_id))


async def tenant_by_route(tx: Tx, name: str) -> Tenant | None:
    """The tenant that `name` routes to: one of the operator's routing names (a primary
    domain, or a name added with `add_route`), never a domain a tenant added itself."""
    owner = (
        select(domains.c.tenant_id)
        .where(domains.c.name == name, domains.c.routes.is_(True))
        .scalar_subquery()
    )
    return await _one(tx, _TENANT.where(tenants.c.id == owner))


async def tenant_by_domain(tx: Tx, domain: str) -> Tenant | None:
    """The tenant owning `domain`, routing or not (to tell a taken name)."""
    owner = select(domains.c.tenant_id).where(domains.c.name == domain).scalar_subquery()
    return await _one(tx, _TENANT.where(tenants.c.id == owner))


async def tenants_named(tx: Tx, name: str) -> list[Tenant]:
    rows = await tx.execute(_TENANT.where(tenants.c.name == name).order_by(tenants.c.id))
    return [Tenant(r.id, r.name, r.domain) for r in rows]


async def all_tenants(tx: Tx) -> list[Tenant]:
    rows = await tx.execute(_TENANT.order_by(tenants.c.id))
    return [Tenant(r.id, r.name, r.domain) for r in rows]


async def routes_of(tx: Tx, tenant_id: int) -> list[str]:
    query = select(domains.c.name).where(
        domains.c.tenant_id == tenant_id, domains.c.routes.is_(True)
    )
    return sorted(r.name for r in await tx.execute(query))


async def create_tenant(tx: Tx, name: str, domain: str, now: datetime) -> Tenant:
    """A tenant and its primary domain, which routes to it."""
    tenant_id = (
        await tx.execute(insert(tenants).values(name=name, created_at=now).returning(tenants.c.id))
    ).scalar_one()
    await tx.execute(
        insert(domains).values(
            tenant_id=tenant_id, name=domain, kind="primary", routes=True, created_at=now
        )
    )
    return Tenant(tenant_id, name, domain)


async def add_route(tx: Tx, tenant_id: int, name: str, now: datetime) -> bool:
    """Make `name` route to the tenant: an existing domain of it, or a new alias. False
    if it routed already; raises UniqueViolation if another tenant holds the name."""
    done = await tx.execute(
        update(domains)
        .where(domains.c.tenant_id == tenant_id, domains.c.name == name)
        .where(domains.c.kind != "resource-subdomain", domains.c.routes.is_(False))
        .values(routes=True)
    )
    if done.rowcount:  # type: ignore[attr-defined]
        return True
    held = (await tx.execute(select(domains.c.tenant_id).where(domains.c.name == name))).first()
    if held is not None and held.tenant_id == tenant_id:
        return False
    await tx.execute(
        insert(domains).values(
            tenant_id=tenant_id, name=name, kind="alias", routes=True, created_at=now
        )
    )
    return True


async def lock_tenant(tx: Tx, tenant_id: int) -> Tenant | None:
    """The tenant, its row locked until the transaction ends (FOR UPDATE)."""
    found = await _one(tx, _TENANT.where(tenants.c.id == tenant_id))
    if found is not None:
        await tx.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update())
    return found


async def delete_tenant(tx: Tx, tenant_id: int) -> None:
    """Everything of the tenant goes with its row (every table's tenant foreign key
    cascades, and what hangs off people, rooms, domains cascades from them), but its
    jobs, which name their tenant without a foreign key (schema.py says why)."""
    await tx.execute(delete(jobs).where(jobs.c.tenant_id == tenant_id))
    await tx.execute(delete(tenants).where(tenants.c.id == tenant_id))


async def get_setting(tx: Tx, key: str) -> str | None:
    return (
        await tx.execute(select(server_settings.c.value).where(server_settings.c.key == key))
    ).scalar()


async def put_setting(tx: Tx, key: str, value: str) -> None:
    await tx.execute(insert(server_settings).values(key=key, value=value))


async def upsert_setting(tx: Tx, key: str, value: str) -> None:
    done = await tx.execute(
        update(server_settings).where(server_settings.c.key == key).values(value=value)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        await tx.execute(insert(server_settings).values(key=key, value=value))


async def delete_setting(tx: Tx, key: str) -> None:
    await tx.execute(delete(server_settings).where(server_settings.c.key == key))


async def settings_with_prefix(tx: Tx, prefix: str) -> dict[str, str]:
    query = select(server_settings.c.key, server_settings.c.value).where(
        server_settings.c.key.startswith(prefix, autoescape=True)
    )
    return {r.key: r.value for r in await tx.execute(query)}


async def lock(tx: Tx, tenant_id: int) -> None:
    """Serialise a tenant's writes of one kind whose rule spans rows (one default
    disclaimer, one policy per pair of groups): two transactions that each check and
    then insert would otherwise both pass. PostgreSQL: `FOR NO KEY UPDATE` on the tenant
    row (inserts elsewhere that only reference the tenant go on); SQLite has one writer
    anyway and ignores the clause."""
    await tx.execute(
        select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update(key_share=True)
    )
