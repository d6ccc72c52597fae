"""Contact entries: each person's list of contacts, keyed by bare JID."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Text, bindparam, cast, delete, insert, select, update

from townhall.domain.models import Contact
from townhall.store.database import Tx
from townhall.store.schema import roster_items, users


def _contact(row: Any) -> Contact:
    return Contact(row.jid, row.nickname, row.subscription, tuple(row.groups or ()))


async def contacts(tx: Tx, user_id: int) -> list[Contact]:
    query = (
        select(roster_items).where(roster_items.c.user_id == user_id).order_by(roster_items.c.id)
    )
    return [_contact(r) for r in await tx.execute(query)]


# The owner and the contacts in one statement, built once and run on the driver: a
# roster read is a hot path, and asking for the owner's id first doubled its round
# trips. The groups come as JSON text, decoded here (SQLAlchemy's JSON handling is
# what the driver path leaves out).
_OF_OWNER = (
    select(
        roster_items.c.jid,
        roster_items.c.nickname,
        roster_items.c.subscription,
        cast(roster_items.c.groups, Text),
    )
    .select_from(users.outerjoin(roster_items, roster_items.c.user_id == users.c.id))
    .where(users.c.tenant_id == bindparam("tenant_id"), users.c.username == bindparam("username"))
    .order_by(roster_items.c.id)
)


async def contacts_of(tx: Tx, tenant_id: int, username: str) -> list[Contact] | None:
    """The contacts of the tenant's person of that username; None: no such person."""
    params = {"tenant_id": tenant_id, "username": username}
    rows = await tx.driver_rows(_OF_OWNER, params)
    if not rows:
        return None
    return [Contact(r[0], r[1], r[2], _groups(r[3])) for r in rows if r[0] is not None]


def _groups(text: str | None) -> tuple[str, ...]:
    """SQL NULL, JSON `null` or a list of names."""
    found = msgspec.json.decode(text) if text else None
    return tuple(found) if found else ()


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
