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
