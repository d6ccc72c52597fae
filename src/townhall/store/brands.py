"""Brands (resellers), their administrators and mail-read credentials, and which tenants
each brand reaches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from townhall.domain.models import Brand, BrandAdmin
from townhall.store.database import Tx
from townhall.store.schema import brand_admins, brands, tenants

_BRAND = select(brands.c.id, brands.c.name, brands.c.parent_id, brands.c.mail_username)


def _brand(row: Any) -> Brand:
    return Brand(row.id, row.name, row.parent_id, row.mail_username)


async def all_brands(tx: Tx) -> list[Brand]:
    return [_brand(r) for r in await tx.execute(_BRAND.order_by(brands.c.id))]


async def by_name(tx: Tx, name: str) -> Brand | None:
    row = (await tx.execute(_BRAND.where(brands.c.name == name))).first()
    return _brand(row) if row else None


async def by_id(tx: Tx, brand_id: int) -> Brand | None:
    row = (await tx.execute(_BRAND.where(brands.c.id == brand_id))).first()
    return _brand(row) if row else None


async def of_tenant(tx: Tx, tenant_id: int) -> Brand | None:
    owner = select(tenants.c.brand_id).where(tenants.c.id == tenant_id).scalar_subquery()
    row = (await tx.execute(_BRAND.where(brands.c.id == owner))).first()
    return _brand(row) if row else None


async def insert_brand(tx: Tx, name: str, parent_id: int | None, now: datetime) -> int:
    """Raises UniqueViolation if the name is taken."""
    query = insert(brands).values(name=name, parent_id=parent_id, created_at=now)
    return int((await tx.execute(query.returning(brands.c.id))).scalar_one())


async def set_mail_credential(tx: Tx, brand_id: int, username: str, password_hash: str) -> None:
    """Raises UniqueViolation if another brand reads mail with that username."""
    await tx.execute(
        update(brands)
        .where(brands.c.id == brand_id)
        .values(mail_username=username, mail_password_hash=password_hash)
    )


async def mail_credential(tx: Tx, username: str) -> tuple[Brand, str] | None:
    """The brand whose mail reads use `username`, and the password hash."""
    query = _BRAND.add_columns(brands.c.mail_password_hash).where(
        brands.c.mail_username == username
    )
    row = (await tx.execute(query)).first()
    return (_brand(row), row.mail_password_hash) if row and row.mail_password_hash else None


async def insert_admin(
    tx: Tx, brand_id: int, username: str, password_hash: str, now: datetime
) -> int:
    """Raises UniqueViolation if the username is taken (admin usernames are global)."""
    query = insert(brand_admins).values(
        brand_id=brand_id, username=username, password_hash=password_hash, created_at=now
    )
    return int((await tx.execute(query.returning(brand_admins.c.id))).scalar_one())


async def admin_login(tx: Tx, username: str) -> tuple[BrandAdmin, str] | None:
    """A reseller admin by username, and the password hash."""
    query = select(
        brand_admins.c.id,
        brand_admins.c.brand_id,
        brand_admins.c.username,
        brand_admins.c.password_hash,
    ).where(brand_admins.c.username == username)
    row = (await tx.execute(query)).first()
    if row is None:
        return None
    return BrandAdmin(row.id, row.brand_id, row.username), row.password_hash


async def is_admin_username(tx: Tx, username: str) -> bool:
    query = select(brand_admins.c.id).where(brand_admins.c.username == username)
    return (await tx.execute(query)).first() is not None


async def reach(tx: Tx, brand_id: int) -> set[int]:
    """The brand and every brand below it (sub-brands, to any depth)."""
    rows = (await tx.execute(select(brands.c.id, brands.c.parent_id))).all()
    children: dict[int | None, list[int]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row.id)
    found, pending = set(), [brand_id]
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending.extend(children.get(current, []))
    return found


async def set_tenant_brand(tx: Tx, tenant_id: int, brand_id: int) -> None:
    await tx.execute(update(tenants).where(tenants.c.id == tenant_id).values(brand_id=brand_id))


async def tenants_of(tx: Tx, brand_ids: set[int]) -> list[int]:
    query = select(tenants.c.id).where(tenants.c.brand_id.in_(brand_ids)).order_by(tenants.c.id)
    return [r.id for r in await tx.execute(query)]
