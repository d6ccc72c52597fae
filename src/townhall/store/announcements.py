"""Announcements and the brands whose people see them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

from townhall.store.database import Tx
from townhall.store.schema import announcement_brands, announcements


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    version: int
    owner_brand_id: int
    name: str
    message: dict[str, Any]
    starts_at: datetime | None
    ends_at: datetime | None
    timezone: str
    discardable: bool
    enabled: bool
    brand_ids: tuple[int, ...]


_COLUMNS = (
    announcements.c.id,
    announcements.c.version,
    announcements.c.owner_brand_id,
    announcements.c.name,
    announcements.c.message,
    announcements.c.starts_at,
    announcements.c.ends_at,
    announcements.c.timezone,
    announcements.c.discardable,
    announcements.c.enabled,
)


async def _rows(tx: Tx, query: Any) -> list[Row]:
    found = list(await tx.execute(query.order_by(announcements.c.id)))
    targets: dict[int, list[int]] = {}
    if found:
        listed = select(announcement_brands.c.announcement_id, announcement_brands.c.brand_id)
        listed = listed.where(announcement_brands.c.announcement_id.in_([r.id for r in found]))
        for row in await tx.execute(listed.order_by(announcement_brands.c.brand_id)):
            targets.setdefault(row.announcement_id, []).append(row.brand_id)
    return [
        Row(
            r.id,
            r.version,
            r.owner_brand_id,
            r.name,
            dict(r.message or {}),
            r.starts_at,
            r.ends_at,
            r.timezone,
            bool(r.discardable),
            bool(r.enabled),
            tuple(targets.get(r.id, ())),
        )
        for r in found
    ]


async def owned_by(tx: Tx, brand_ids: Iterable[int]) -> list[Row]:
    query = select(*_COLUMNS).where(announcements.c.owner_brand_id.in_(list(brand_ids)))
    return await _rows(tx, query)


async def one(
    tx: Tx, announcement_id: int, brand_ids: Iterable[int], lock: bool = False
) -> Row | None:
    """The announcement if one of `brand_ids` owns it (locked for the transaction)."""
    query = select(*_COLUMNS).where(
        announcements.c.id == announcement_id,
        announcements.c.owner_brand_id.in_(list(brand_ids)),
    )
    found = await _rows(tx, query.with_for_update() if lock else query)
    return found[0] if found else None


async def shown(tx: Tx, brand_ids: Iterable[int], now: datetime) -> list[Row]:
    """Enabled announcements for any of `brand_ids` (listed, or the owner when none is
    listed) whose window holds `now`."""
    wanted = list(brand_ids)
    listed = select(announcement_brands.c.announcement_id).where(
        announcement_brands.c.brand_id.in_(wanted)
    )
    any_listed = select(announcement_brands.c.announcement_id).where(
        announcement_brands.c.announcement_id == announcements.c.id
    )
    query = select(*_COLUMNS).where(
        announcements.c.enabled.is_(True),
        or_(announcements.c.starts_at.is_(None), announcements.c.starts_at <= now),
        or_(announcements.c.ends_at.is_(None), announcements.c.ends_at > now),
        or_(
            announcements.c.id.in_(listed),
            (announcements.c.owner_brand_id.in_(wanted)) & ~any_listed.exists(),
        ),
    )
    return await _rows(tx, query)


async def insert_one(
    tx: Tx, values: Mapping[str, Any], brand_ids: Iterable[int], now: datetime
) -> int:
    query = insert(announcements).values(**values, version=1, created_at=now, updated_at=now)
    new_id = int((await tx.execute(query.returning(announcements.c.id))).scalar_one())
    await _set_brands(tx, new_id, brand_ids)
    return new_id


async def update_one(
    tx: Tx,
    announcement_id: int,
    values: Mapping[str, Any],
    brand_ids: Iterable[int] | None,
    now: datetime,
) -> None:
    """Change it and raise its version by one."""
    await tx.execute(
        update(announcements)
        .where(announcements.c.id == announcement_id)
        .values(**values, version=announcements.c.version + 1, updated_at=now)
    )
    if brand_ids is not None:
        await tx.execute(
            delete(announcement_brands).where(
                announcement_brands.c.announcement_id == announcement_id
            )
        )
        await _set_brands(tx, announcement_id, brand_ids)


async def delete_one(tx: Tx, announcement_id: int) -> None:
    await tx.execute(
        delete(announcement_brands).where(announcement_brands.c.announcement_id == announcement_id)
    )
    await tx.execute(delete(announcements).where(announcements.c.id == announcement_id))


async def _set_brands(tx: Tx, announcement_id: int, brand_ids: Iterable[int]) -> None:
    rows = [{"announcement_id": announcement_id, "brand_id": b} for b in sorted(set(brand_ids))]
    if rows:
        await tx.execute(insert(announcement_brands), rows)
