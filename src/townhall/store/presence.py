"""Presence: the live-connection registry (connected clients, with their XMPP presence)
and the presence category each person chose."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert, select, update

from townhall.domain.models import LiveConnection
from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import live_connections, user_presence, users

# -- live connections ---------------------------------------------------------------------


def _connection(row: Any) -> LiveConnection:
    return LiveConnection(
        id=row.id,
        username=row.username,
        resource=row.resource,
        node=row.node,
        status=row.status,
        presence_show=row.presence_show,
        presence_message=row.presence_message,
        priority=row.priority,
        host_address=row.host_address,
        host_name=row.host_name,
        secure=bool(row.secure),
        created_at=as_utc(row.created_at),
        last_active_at=as_utc(row.last_active_at),
    )


async def connections(
    tx: Tx, tenant_id: int, username: str | None = None
) -> Sequence[LiveConnection]:
    query = (
        select(live_connections, users.c.username)
        .outerjoin(users, users.c.id == live_connections.c.user_id)
        .where(live_connections.c.tenant_id == tenant_id)
        .order_by(live_connections.c.id)
    )
    if username is not None:
        query = query.where(users.c.username == username)
    return [_connection(row) for row in await tx.execute(query)]


async def count(tx: Tx, tenant_id: int, node: str | None = None) -> int:
    """Live connections of the tenant, on one node or (node None) on all of them."""
    query = select(func.count()).select_from(live_connections)
    query = query.where(live_connections.c.tenant_id == tenant_id)
    if node is not None:
        query = query.where(live_connections.c.node == node)
    return int((await tx.execute(query)).scalar_one())


async def insert_connection(tx: Tx, **values: Any) -> int:
    stmt = insert(live_connections).values(**values).returning(live_connections.c.id)
    return int((await tx.execute(stmt)).scalar_one())


async def delete_connection(tx: Tx, tenant_id: int, connection_id: int) -> bool:
    done = await tx.execute(
        delete(live_connections).where(
            live_connections.c.tenant_id == tenant_id, live_connections.c.id == connection_id
        )
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def connection_ids(tx: Tx, user_id: int) -> list[int]:
    query = select(live_connections.c.id).where(live_connections.c.user_id == user_id)
    return sorted(r.id for r in await tx.execute(query))


async def close_for_user(tx: Tx, user_id: int) -> int:
    """Remove the person's connections from the registry (their connection layers see it
    and close them); how many there were."""
    done = await tx.execute(delete(live_connections).where(live_connections.c.user_id == user_id))
    return int(done.rowcount)  # type: ignore[attr-defined]


# -- chosen presence ----------------------------------------------------------------------


async def presence(
    tx: Tx, tenant_id: int, after_id: int, limit: int
) -> list[tuple[int, str | None, datetime | None, bool]]:
    """(user id, chosen category, when, connected now) for users with id > after_id."""
    connected = exists().where(live_connections.c.user_id == users.c.id)
    query = (
        select(
            users.c.id, user_presence.c.category, user_presence.c.updated_at, connected.label("on")
        )
        .outerjoin(user_presence, user_presence.c.user_id == users.c.id)
        .where(users.c.tenant_id == tenant_id, users.c.id > after_id)
        .order_by(users.c.id)
        .limit(limit)
    )
    return [
        (r.id, r.category, as_utc(r.updated_at) if r.updated_at else None, bool(r.on))
        for r in await tx.execute(query)
    ]


async def set_presence(tx: Tx, user_id: int, category: str, now: datetime) -> None:
    done = await tx.execute(
        update(user_presence)
        .where(user_presence.c.user_id == user_id)
        .values(category=category, updated_at=now)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        await tx.execute(
            insert(user_presence).values(user_id=user_id, category=category, updated_at=now)
        )
