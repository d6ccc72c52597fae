"""People's pictures, each named in its URL by a random token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select

from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import user_avatars, users


async def avatar(tx: Tx, user_id: int) -> tuple[str, bytes, datetime] | None:
    row = (await tx.execute(select(user_avatars).where(user_avatars.c.user_id == user_id))).first()
    return (row.media_type, bytes(row.image), as_utc(row.updated_at)) if row else None


async def by_token(tx: Tx, token: str) -> tuple[str, bytes, datetime] | None:
    query = select(user_avatars).where(user_avatars.c.token == token)
    row = (await tx.execute(query)).first()
    return (row.media_type, bytes(row.image), as_utc(row.updated_at)) if row else None


async def token_of(tx: Tx, user_id: int) -> str | None:
    query = select(user_avatars.c.token).where(user_avatars.c.user_id == user_id)
    return (await tx.execute(query)).scalar()


async def tokens_of(tx: Tx, tenant_id: int, user_ids: list[int]) -> dict[int, str]:
    query = (
        select(user_avatars.c.user_id, user_avatars.c.token)
        .join(users, users.c.id == user_avatars.c.user_id)
        .where(users.c.tenant_id == tenant_id, user_avatars.c.user_id.in_(user_ids))
    )
    return {row.user_id: row.token for row in await tx.execute(query)}


async def set_avatar(
    tx: Tx, user_id: int, media_type: str, image: bytes, token: str, now: datetime
) -> None:
    await tx.execute(delete(user_avatars).where(user_avatars.c.user_id == user_id))
    await tx.execute(
        insert(user_avatars).values(
            user_id=user_id, media_type=media_type, image=image, token=token, updated_at=now
        )
    )
