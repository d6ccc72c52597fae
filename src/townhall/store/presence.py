"""People's chosen presence, and whether they are connected at all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, insert, select, update

from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import live_sessions, user_presence, users


async def presence(
    tx: Tx, tenant_id: int, after_id: int, limit: int
) -> list[tuple[int, str | None, datetime | None, bool]]:
    """(user id, chosen category, when, connected now) for users with id > after_id."""
    connected = exists().where(live_sessions.c.user_id == users.c.id)
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
