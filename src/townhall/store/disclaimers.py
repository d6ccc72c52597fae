"""Compliance disclaimers of a tenant, and the one each user is assigned.

A user has at most one disclaimer (the primary key of `user_disclaimers` is the user),
so assigning replaces and there is nothing to merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import disclaimers, user_disclaimers


@dataclass(frozen=True, slots=True)
class Disclaimer:
    id: str
    name: str
    content: str
    format: str
    frequency_hours: int
    is_default: bool
    active: bool
    created_at: datetime
    modified_at: datetime


def _disclaimer(row: Any) -> Disclaimer:
    return Disclaimer(
        id=row.id,
        name=row.name,
        content=row.content,
        format=row.format,
        frequency_hours=row.frequency_hours,
        is_default=bool(row.is_default),
        active=bool(row.active),
        created_at=as_utc(row.created_at),
        modified_at=as_utc(row.modified_at),
    )


def _of_tenant(tenant_id: int) -> Any:
    return select(disclaimers).where(disclaimers.c.tenant_id == tenant_id)


async def all_of(tx: Tx, tenant_id: int) -> list[Disclaimer]:
    """In creation order (ids break ties), so a list reads the same every time."""
    query = _of_tenant(tenant_id).order_by(disclaimers.c.created_at, disclaimers.c.id)
    return [_disclaimer(r) for r in await tx.execute(query)]


async def get(tx: Tx, tenant_id: int, disclaimer_id: str) -> Disclaimer | None:
    row = (await tx.execute(_of_tenant(tenant_id).where(disclaimers.c.id == disclaimer_id))).first()
    return _disclaimer(row) if row else None


async def insert_disclaimer(tx: Tx, tenant_id: int, disclaimer: Disclaimer) -> None:
    """Raises UniqueViolation when the tenant already has a disclaimer of that name."""
    await tx.execute(
        insert(disclaimers).values(
            id=disclaimer.id,
            tenant_id=tenant_id,
            name=disclaimer.name,
            content=disclaimer.content,
            format=disclaimer.format,
            frequency_hours=disclaimer.frequency_hours,
            is_default=disclaimer.is_default,
            active=disclaimer.active,
            created_at=disclaimer.created_at,
            modified_at=disclaimer.modified_at,
        )
    )


async def clear_default(tx: Tx, tenant_id: int, now: datetime) -> None:
    await tx.execute(
        update(disclaimers)
        .where(disclaimers.c.tenant_id == tenant_id, disclaimers.c.is_default.is_(True))
        .values(is_default=False, modified_at=now)
    )


async def user_ids(tx: Tx, disclaimer_id: str) -> list[int]:
    query = (
        select(user_disclaimers.c.user_id)
        .where(user_disclaimers.c.disclaimer_id == disclaimer_id)
        .order_by(user_disclaimers.c.user_id)
    )
    return [r.user_id for r in await tx.execute(query)]


async def of_user(tx: Tx, user_id: int) -> Disclaimer | None:
    query = select(disclaimers).join(
        user_disclaimers, user_disclaimers.c.disclaimer_id == disclaimers.c.id
    )
    row = (await tx.execute(query.where(user_disclaimers.c.user_id == user_id))).first()
    return _disclaimer(row) if row else None


async def assign(tx: Tx, user_id: int, disclaimer_id: str) -> None:
    """Give the user this disclaimer in place of any other. The caller holds the user's
    row locked, so no other assignment to them runs meanwhile."""
    where = user_disclaimers.c.user_id == user_id
    change = update(user_disclaimers).where(where).values(disclaimer_id=disclaimer_id)
    if not (await tx.execute(change)).rowcount:  # type: ignore[attr-defined]
        await tx.execute(
            insert(user_disclaimers).values(user_id=user_id, disclaimer_id=disclaimer_id)
        )


async def unassign(tx: Tx, user_id: int) -> bool:
    """False if the user had no disclaimer."""
    done = await tx.execute(delete(user_disclaimers).where(user_disclaimers.c.user_id == user_id))
    return bool(done.rowcount)  # type: ignore[attr-defined]
