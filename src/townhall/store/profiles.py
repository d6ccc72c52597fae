"""Users as a directory sees them: profile attributes, account type and roles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.sql import ColumnElement

from townhall.domain.models import PROFILE_FIELDS, Person
from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import user_properties, user_roles, users
from townhall.store.users import user_from_row


async def _people(
    tx: Tx, where: ColumnElement[bool], offset: int = 0, limit: int | None = None
) -> list[Person]:
    query = select(users).where(where).order_by(users.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = (await tx.execute(query)).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    roles: dict[int, set[str]] = defaultdict(set)
    for r in await tx.execute(select(user_roles).where(user_roles.c.user_id.in_(ids))):
        roles[r.user_id].add(r.role)
    props: dict[int, dict[str, str]] = defaultdict(dict)
    query_props = select(user_properties).where(user_properties.c.user_id.in_(ids))
    for r in await tx.execute(query_props):
        props[r.user_id][r.key] = r.value
    return [_person(r, frozenset(roles[r.id]), props[r.id]) for r in rows]


def _person(row: Any, roles: frozenset[str], props: dict[str, str]) -> Person:
    user = user_from_row(row, props)
    profile = {f: getattr(row, f) for f in PROFILE_FIELDS}
    return Person(user, profile, row.account_type, roles, as_utc(row.updated_at))


async def by_ids(tx: Tx, tenant_id: int, ids: Sequence[int]) -> list[Person]:
    return await _people(tx, (users.c.tenant_id == tenant_id) & users.c.id.in_(list(ids)))


async def by_usernames(tx: Tx, tenant_id: int, names: Sequence[str]) -> list[Person]:
    return await _people(tx, (users.c.tenant_id == tenant_id) & users.c.username.in_(list(names)))


async def by_emails(tx: Tx, tenant_id: int, emails: Sequence[str]) -> list[Person]:
    lowered = [e.lower() for e in emails]
    return await _people(
        tx, (users.c.tenant_id == tenant_id) & func.lower(users.c.email).in_(lowered)
    )


async def page(tx: Tx, tenant_id: int, offset: int, limit: int) -> list[Person]:
    return await _people(tx, users.c.tenant_id == tenant_id, offset, limit)


async def all_ids(tx: Tx, tenant_id: int) -> list[int]:
    query = select(users.c.id).where(users.c.tenant_id == tenant_id).order_by(users.c.id)
    return [r.id for r in await tx.execute(query)]


async def set_profile(tx: Tx, user_id: int, values: dict[str, Any]) -> None:
    if values:
        await tx.execute(update(users).where(users.c.id == user_id).values(**values))


async def replace_roles(tx: Tx, user_id: int, roles: frozenset[str], keep: frozenset[str]) -> None:
    """Make the user's roles `roles`, leaving the `keep` ones (Townhall's own) alone."""
    await tx.execute(
        delete(user_roles).where(user_roles.c.user_id == user_id, user_roles.c.role.not_in(keep))
    )
    present = {
        r.role for r in await tx.execute(select(user_roles).where(user_roles.c.user_id == user_id))
    }
    missing = sorted(roles - present)
    if missing:
        await tx.execute(insert(user_roles), [{"user_id": user_id, "role": r} for r in missing])
