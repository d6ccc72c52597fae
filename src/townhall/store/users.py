"""Users, their properties, credentials and roles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.sql import Select

from townhall.domain.models import User
from townhall.domain.queries import UserFilter
from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import credentials, user_properties, user_roles, users

_USER_COLUMNS = (
    users.c.id,
    users.c.tenant_id,
    users.c.username,
    users.c.name,
    users.c.email,
    users.c.locked,
    users.c.created_at,
)


@dataclass(frozen=True, slots=True)
class Login:
    user_id: int
    username: str
    password_hash: str | None
    locked: bool
    roles: frozenset[str]
    name: str = ""


def user_from_row(row: Any, properties: dict[str, str] | None = None) -> User:
    return User(
        id=row.id,
        tenant_id=row.tenant_id,
        username=row.username,
        name=row.name,
        email=row.email,
        locked=bool(row.locked),
        created_at=as_utc(row.created_at),
        properties=properties or {},
    )


# One statement (user LEFT JOIN properties), built once: this is the hottest read.
_FIND = (
    select(*_USER_COLUMNS, user_properties.c.key, user_properties.c.value)
    .outerjoin(user_properties, user_properties.c.user_id == users.c.id)
    .where(users.c.tenant_id == bindparam("tenant_id"), users.c.username == bindparam("username"))
    .order_by(user_properties.c.key)
)


async def find(tx: Tx, tenant_id: int, username: str) -> User | None:
    rows = (await tx.execute(_FIND, {"tenant_id": tenant_id, "username": username})).all()
    if not rows:
        return None
    props = {r.key: r.value for r in rows if r.key is not None}
    return user_from_row(rows[0], props)


_FIND_ID = select(users.c.id).where(
    users.c.tenant_id == bindparam("tenant_id"), users.c.username == bindparam("username")
)


async def find_id(tx: Tx, tenant_id: int, username: str) -> int | None:
    return (await tx.execute(_FIND_ID, {"tenant_id": tenant_id, "username": username})).scalar()


async def usernames_by_id(tx: Tx, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(users.c.id, users.c.username).where(users.c.id.in_(ids))
    return {row.id: row.username for row in await tx.execute(query)}


def _filtered(query: Select[Any], tenant_id: int, f: UserFilter) -> Select[Any]:
    query = query.where(users.c.tenant_id == tenant_id)
    if f.property_key is not None:
        having = select(user_properties.c.user_id).where(user_properties.c.key == f.property_key)
        if f.property_value is not None:
            having = having.where(user_properties.c.value == f.property_value)
        query = query.where(users.c.id.in_(having))
    elif f.username_contains:
        # Openfire's search is a case-sensitive "contains" on the username.
        # (SQLite runs with case_sensitive_like so both databases agree.)
        query = query.where(users.c.username.contains(f.username_contains, autoescape=True))
    if f.email is not None:
        query = query.where(func.lower(users.c.email) == f.email.lower())
    if f.name_contains:
        query = query.where(func.lower(users.c.name).contains(f.name_contains.lower()))
    if f.text:
        needle = f.text.lower()
        query = query.where(
            users.c.username.contains(needle, autoescape=True)
            | func.lower(users.c.name).contains(needle, autoescape=True)
            | func.lower(users.c.email).contains(needle, autoescape=True)
        )
    return query


async def search(
    tx: Tx, tenant_id: int, f: UserFilter, offset: int = 0, limit: int | None = None
) -> list[User]:
    query = _filtered(select(*_USER_COLUMNS), tenant_id, f).order_by(users.c.username)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = (await tx.execute(query)).all()
    if not rows:
        return []
    props: dict[int, dict[str, str]] = defaultdict(dict)
    ids = [r.id for r in rows]
    prop_query = select(user_properties.c.user_id, user_properties.c.key, user_properties.c.value)
    if len(ids) <= 500:
        prop_query = prop_query.where(user_properties.c.user_id.in_(ids))
    else:  # the whole page: cheaper to scan the tenant than to bind thousands of ids
        prop_query = prop_query.where(
            user_properties.c.user_id.in_(_filtered(select(users.c.id), tenant_id, f))
        )
    for r in await tx.execute(prop_query.order_by(user_properties.c.key)):
        props[r.user_id][r.key] = r.value
    return [user_from_row(r, props.get(r.id)) for r in rows]


async def count(tx: Tx, tenant_id: int, f: UserFilter) -> int:
    query = _filtered(select(func.count()).select_from(users), tenant_id, f)
    return int((await tx.execute(query)).scalar_one())


async def insert_user(
    tx: Tx, tenant_id: int, username: str, name: str, email: str | None, now: datetime
) -> int:
    stmt = (
        insert(users)
        .values(
            tenant_id=tenant_id,
            username=username,
            name=name,
            email=email,
            locked=False,
            created_at=now,
            updated_at=now,
        )
        .returning(users.c.id)
    )
    return int((await tx.execute(stmt)).scalar_one())


async def update_user(tx: Tx, user_id: int, now: datetime, **values: Any) -> None:
    await tx.execute(update(users).where(users.c.id == user_id).values(updated_at=now, **values))


async def delete_user(tx: Tx, user_id: int) -> None:
    await tx.execute(delete(users).where(users.c.id == user_id))


async def replace_properties(tx: Tx, user_id: int, properties: dict[str, str | None]) -> None:
    await tx.execute(delete(user_properties).where(user_properties.c.user_id == user_id))
    if properties:
        await tx.execute(
            insert(user_properties),
            [{"user_id": user_id, "key": k, "value": v} for k, v in properties.items()],
        )


async def set_password_hash(tx: Tx, user_id: int, password_hash: str, now: datetime) -> None:
    done = await tx.execute(
        update(credentials)
        .where(credentials.c.user_id == user_id)
        .values(password_hash=password_hash, updated_at=now)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        await tx.execute(
            insert(credentials).values(user_id=user_id, password_hash=password_hash, updated_at=now)
        )


async def login(tx: Tx, tenant_id: int, username: str) -> Login | None:
    return await _login(tx, (users.c.tenant_id == tenant_id) & (users.c.username == username))


async def login_by_id(tx: Tx, user_id: int) -> Login | None:
    return await _login(tx, users.c.id == user_id)


async def _login(tx: Tx, where: Any) -> Login | None:
    row = (
        await tx.execute(
            select(
                users.c.id,
                users.c.username,
                users.c.name,
                users.c.locked,
                credentials.c.password_hash,
            )
            .outerjoin(credentials, credentials.c.user_id == users.c.id)
            .where(where)
        )
    ).first()
    if row is None:
        return None
    roles = await tx.execute(select(user_roles.c.role).where(user_roles.c.user_id == row.id))
    return Login(
        row.id,
        row.username,
        row.password_hash,
        bool(row.locked),
        frozenset(r for (r,) in roles),
        row.name,
    )


async def grant_role(tx: Tx, user_id: int, role: str) -> None:
    await tx.execute(insert(user_roles).values(user_id=user_id, role=role))


async def count_with_role(tx: Tx, tenant_id: int, role: str, unlocked_only: bool = True) -> int:
    query = (
        select(func.count())
        .select_from(users.join(user_roles, user_roles.c.user_id == users.c.id))
        .where(users.c.tenant_id == tenant_id, user_roles.c.role == role)
    )
    if unlocked_only:
        query = query.where(users.c.locked.is_(False))
    return int((await tx.execute(query)).scalar_one())


async def get_vcard(tx: Tx, tenant_id: int, username: str) -> str | None:
    query = select(users.c.vcard).where(
        users.c.tenant_id == tenant_id, users.c.username == username
    )
    return (await tx.execute(query)).scalar()


async def created_by_id(tx: Tx, tenant_id: int, ids: Sequence[int]) -> dict[int, datetime]:
    """When each of these users (of the tenant) was created."""
    if not ids:
        return {}
    query = select(users.c.id, users.c.created_at).where(
        users.c.tenant_id == tenant_id, users.c.id.in_(list(ids))
    )
    return {r.id: as_utc(r.created_at) for r in await tx.execute(query)}
