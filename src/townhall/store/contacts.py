"""Contact entries: each person's list of contacts, keyed by bare JID."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from townhall.domain.models import Contact
from townhall.store.database import Tx
from townhall.store.schema import roster_items


def _contact(row: Any) -> Contact:
    return Contact(row.jid, row.nickname, row.subscription, tuple(row.groups or ()))


async def contacts(tx: Tx, user_id: int) -> list[Contact]:
    query = (
        select(roster_items).where(roster_items.c.user_id == user_id).order_by(roster_items.c.id)
    )
    return [_contact(r) for r in await tx.execute(query)]


async def find(tx: Tx, user_id: int, jid: str) -> Contact | None:
    row = (
        await tx.execute(
            select(roster_items).where(roster_items.c.user_id == user_id, roster_items.c.jid == jid)
        )
    ).first()
    return _contact(row) if row else None


async def insert_contact(tx: Tx, user_id: int, contact: Contact) -> None:
    await tx.execute(
        insert(roster_items).values(
            user_id=user_id,
            jid=contact.jid,
            nickname=contact.nickname,
            subscription=contact.subscription,
            groups=list(contact.groups),
        )
    )


async def update_contact(tx: Tx, user_id: int, contact: Contact) -> None:
    await tx.execute(
        update(roster_items)
        .where(roster_items.c.user_id == user_id, roster_items.c.jid == contact.jid)
        .values(
            nickname=contact.nickname,
            subscription=contact.subscription,
            groups=list(contact.groups),
        )
    )


async def delete_contact(tx: Tx, user_id: int, jid: str) -> None:
    await tx.execute(
        delete(roster_items).where(roster_items.c.user_id == user_id, roster_items.c.jid == jid)
    )
