"""People's pictures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select

from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import user_avatars


async def avatar(tx: Tx, user_id: int) -> tuple[str, bytes, datetime] | None:
    row = (await tx.execute(select(user_avatars).where(user_avatars.c.user_id == user_id))).first()
    return (row.media_type, bytes(row.image), as_utc(row.updated_at)) if row else None


async def updated_at(tx: Tx, user_id: int) -> datetime | None:
    query = select(user_avatars.c.updated_at).where(user_avatars.c.user_id == user_id)
    found = (await tx.execute(query)).scalar()
    return as_utc(found) if found else None


async def set_avatar(tx: Tx, user_id: int, media_type: str, image: bytes, now: datetime) -> None:
    await tx.execute(delete(user_avatars).where(user_avatars.c.user_id == user_id))
    await tx.execute(
        insert(user_avatars).values(
            user_id=user_id, media_type=media_type, image=image, updated_at=now
        )
    )
