"""The live-session registry: connected clients, their presence and room occupancy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select

from townhall.domain.models import LiveSession
from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import live_sessions, users


def _session(row: Any) -> LiveSession:
    return LiveSession(
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


async def list_sessions(
    tx: Tx, tenant_id: int, username: str | None = None
) -> Sequence[LiveSession]:
    query = (
        select(live_sessions, users.c.username)
        .outerjoin(users, users.c.id == live_sessions.c.user_id)
        .where(live_sessions.c.tenant_id == tenant_id)
        .order_by(live_sessions.c.id)
    )
    if username is not None:
        query = query.where(users.c.username == username)
    return [_session(row) for row in await tx.execute(query)]


async def count(tx: Tx, tenant_id: int, node: str | None = None) -> int:
    """Sessions of the tenant, on one node or (node None) on all of them."""
    query = select(func.count()).select_from(live_sessions)
    query = query.where(live_sessions.c.tenant_id == tenant_id)
    if node is not None:
        query = query.where(live_sessions.c.node == node)
    return int((await tx.execute(query)).scalar_one())


async def insert_session(tx: Tx, **values: Any) -> int:
    stmt = insert(live_sessions).values(**values).returning(live_sessions.c.id)
    return int((await tx.execute(stmt)).scalar_one())


async def delete_session(tx: Tx, tenant_id: int, session_id: int) -> bool:
    done = await tx.execute(
        delete(live_sessions).where(
            live_sessions.c.tenant_id == tenant_id, live_sessions.c.id == session_id
        )
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def close_for_user(tx: Tx, user_id: int) -> int:
    """Remove the user's sessions from the registry; their connections see it and close."""
    done = await tx.execute(delete(live_sessions).where(live_sessions.c.user_id == user_id))
    return int(done.rowcount)  # type: ignore[attr-defined]
