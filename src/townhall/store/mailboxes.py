"""A person's mail settings: one row once any is set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from townhall.store.database import Tx
from townhall.store.schema import mailboxes

SETTINGS = ("quota_bytes", "quota_mode", "spam_level", "antivirus", "anti_phishing")


async def settings_of(tx: Tx, user_id: int) -> dict[str, Any]:
    """Every setting, None where unset."""
    query = select(*(mailboxes.c[name] for name in SETTINGS)).where(mailboxes.c.user_id == user_id)
    row = (await tx.execute(query)).first()
    return {name: (getattr(row, name) if row else None) for name in SETTINGS}


async def save(tx: Tx, user_id: int, values: dict[str, Any]) -> None:
    """Set the given settings (the caller holds the person's row lock, so the row cannot
    appear between the update and the insert)."""
    done = await tx.execute(update(mailboxes).where(mailboxes.c.user_id == user_id).values(values))
    if done.rowcount == 0:  # type: ignore[attr-defined]
        await tx.execute(insert(mailboxes).values(user_id=user_id, **values))


async def settings_of_many(tx: Tx, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Every setting of each of these people (None where unset), in one read."""
    found: dict[int, dict[str, Any]] = {i: dict.fromkeys(SETTINGS) for i in user_ids}
    if not user_ids:
        return found
    columns = (mailboxes.c.user_id, *(mailboxes.c[name] for name in SETTINGS))
    query = select(*columns).where(mailboxes.c.user_id.in_(user_ids))
    for row in await tx.execute(query):
        found[row.user_id] = {name: getattr(row, name) for name in SETTINGS}
    return found
