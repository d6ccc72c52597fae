"""Roster items: a user's personal contacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update

from townhall.domain.models import RosterItem
from townhall.store.database import Tx
from townhall.store.schema import roster_items


def _item(row: Any) -> RosterItem:
    return RosterItem(row.jid, row.nickname, row.subscription, tuple(row.groups or ()))


async def items(tx: Tx, user_id: int) -> list[RosterItem]:
    query = (
        select(roster_items).where(roster_items.c.user_id == user_id).order_by(roster_items.c.id)
    )
    return [_item(r) for r in await tx.execute(query)]


async def find(tx: Tx, user_id: int, jid: str) -> RosterItem | None:
    row = (
        await tx.execute(
            select(roster_items).where(roster_items.c.user_id == user_id, roster_items.c.jid == jid)
        )
    ).first()
    return _item(row) if row else None


async def insert_item(
    tx: Tx, user_id: int, jid: str, nickname: str | None, subscription: int, groups: Sequence[str]
) -> None:
    await tx.execute(
        insert(roster_items).values(
            user_id=user_id,
            jid=jid,
            nickname=nickname,
            subscription=subscription,
            groups=list(groups),
        )
    )


async def update_item(tx: Tx, user_id: int, item: RosterItem) -> None:
    await tx.execute(
        update(roster_items)
        .where(roster_items.c.user_id == user_id, roster_items.c.jid == item.jid)
        .values(nickname=item.nickname, subscription=item.subscription, groups=list(item.groups))
    )


async def delete_item(tx: Tx, user_id: int, jid: str) -> bool:
    done = await tx.execute(
        delete(roster_items).where(roster_items.c.user_id == user_id, roster_items.c.jid == jid)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]
