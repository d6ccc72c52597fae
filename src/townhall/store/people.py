"""People: one row per account, with its properties, credentials, roles and profile.

Every API reads and writes the same `users` rows through this module; what a dialect
calls a user, a uid or an e-mail address is one `Person` here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Result, Text, bindparam, cast, delete, func, insert, or_, select, update
from sqlalchemy.sql import ColumnElement, Select

from townhall.domain.models import PROFILE_FIELDS, PROFILE_LISTS, Person
from townhall.domain.queries import PersonFilter
from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.database import rows as all_rows
from townhall.store.schema import (
    credentials,
    domains,
    mail_aliases,
    user_properties,
    user_roles,
    users,
)

CHANGE_REQUIRED = "rmp.passwordChangeRequired"
"""The property that says a person must change their password before anything else
(its stored spelling dates from when only RMP's password reset set it)."""
_PERSON_COLUMNS = tuple(c for c in users.c if c.name != "vcard")
_AT = {c.name: i for i, c in enumerate(_PERSON_COLUMNS)}
_PROFILE_AT = [_AT[f] for f in PROFILE_FIELDS]
_LISTS_AT = [_AT[f] for f in PROFILE_LISTS]
_METADATA_AT = _AT["metadata"]


@dataclass(frozen=True, slots=True)
class Login:
    """What checking a password (or a key) needs to know about an account."""

    user_id: int
    username: str
    password_hash: str | None
    locked: bool
    roles: frozenset[str]
    name: str = ""
    change_required: bool = False


_CHANGE_FLAG = user_properties.alias("change_flag")


def _person(row: Any, properties: dict[str, str | None], roles: frozenset[str]) -> Person:
    """Positional access: lists of thousands of people are built on hot paths, and a Row's
    attribute look-up costs more than the rest of the work."""
    v = tuple(row)
    return Person(
        id=v[0],
        tenant_id=v[1],
        username=v[2],
        name=v[3],
        email=v[4],
        locked=bool(v[5]),
        created_at=as_utc(v[6]),
        updated_at=as_utc(v[7]),
        properties=properties,
        profile={f: v[i] for f, i in zip(PROFILE_FIELDS, _PROFILE_AT, strict=True)},
        account_type=v[_AT["account_type"]],
        roles=roles,
        profile_lists={
            f: tuple(v[i]) if v[i] is not None else None
            for f, i in zip(PROFILE_LISTS, _LISTS_AT, strict=True)
        },
        metadata=v[_METADATA_AT],
    )


# One statement (person LEFT JOIN properties LEFT JOIN roles: a person has few of each),
# built once: this is the hottest read.
_FIND = (
    select(*_PERSON_COLUMNS, user_properties.c.key, user_properties.c.value, user_roles.c.role)
    .outerjoin(user_properties, user_properties.c.user_id == users.c.id)
    .outerjoin(user_roles, user_roles.c.user_id == users.c.id)
    .where(users.c.tenant_id == bindparam("tenant_id"), users.c.username == bindparam("username"))
    .order_by(user_properties.c.key)
)
_FIND_BY_ID = (
    select(*_PERSON_COLUMNS, user_properties.c.key, user_properties.c.value, user_roles.c.role)
    .outerjoin(user_properties, user_properties.c.user_id == users.c.id)
    .outerjoin(user_roles, user_roles.c.user_id == users.c.id)
    .where(users.c.tenant_id == bindparam("tenant_id"), users.c.id == bindparam("user_id"))
    .order_by(user_properties.c.key)
)
_ROLES_OF = select(user_roles.c.role).where(user_roles.c.user_id == bindparam("user_id"))


async def find(tx: Tx, tenant_id: int, username: str) -> Person | None:
    rows = (await tx.execute(_FIND, {"tenant_id": tenant_id, "username": username})).all()
    return _joined(rows)


async def find_by_id(tx: Tx, tenant_id: int, user_id: int) -> Person | None:
    """`find` by id: one statement (a write answers with the person it changed)."""
    rows = (await tx.execute(_FIND_BY_ID, {"tenant_id": tenant_id, "user_id": user_id})).all()
    return _joined(rows)


def _joined(rows: Sequence[Any]) -> Person | None:
    """The person of `_FIND`'s rows (one per property and role), if any."""
    if not rows:
        return None
    width = len(_PERSON_COLUMNS)
    props = {r[width]: r[width + 1] for r in rows if r[width] is not None}
    held = frozenset(r[width + 2] for r in rows if r[width + 2] is not None)
    return _person(rows[0][:width], props, held)


async def _people(tx: Tx, query: Select[Any], ids_of: Select[Any] | None = None) -> list[Person]:
    """The people `query` selects, with their properties and roles (two more statements,
    whatever the number of rows). `ids_of` selects the same ids, for a long page."""
    rows = (await tx.execute(query)).all()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    # A whole tenant's page binds better as a sub-select than as thousands of ids.
    wanted = ids_of if ids_of is not None and len(ids) > 500 else ids
    props: dict[int, dict[str, str | None]] = defaultdict(dict)
    prop_query = select(user_properties.c.user_id, user_properties.c.key, user_properties.c.value)
    prop_query = prop_query.where(user_properties.c.user_id.in_(wanted))
    for user_id, key, value in _tuples(
        await tx.execute(prop_query.order_by(user_properties.c.key))
    ):
        props[user_id][key] = value
    held: dict[int, set[str]] = defaultdict(set)
    role_query = select(user_roles.c.user_id, user_roles.c.role)
    for user_id, role in _tuples(
        await tx.execute(role_query.where(user_roles.c.user_id.in_(wanted)))
    ):
        held[user_id].add(role)
    none: frozenset[str] = frozenset()
    return [
        _person(r, props.get(r[0], {}), frozenset(held[r[0]]) if r[0] in held else none)
        for r in rows
    ]


def _tuples(result: Result[Any]) -> list[tuple[Any, ...]]:
    """All rows as plain tuples: fetching them at once is much cheaper than iterating."""
    return [tuple(r) for r in result.all()]


def _of_tenant(tenant_id: int, where: ColumnElement[bool]) -> Select[Any]:
    return select(*_PERSON_COLUMNS).where(users.c.tenant_id == tenant_id, where)


async def by_ids(tx: Tx, tenant_id: int, ids: Sequence[int]) -> list[Person]:
    query = _of_tenant(tenant_id, users.c.id.in_(list(ids))).order_by(users.c.id)
    return await _people(tx, query)


async def by_usernames(tx: Tx, tenant_id: int, names: Sequence[str]) -> list[Person]:
    query = _of_tenant(tenant_id, users.c.username.in_(list(names))).order_by(users.c.id)
    return await _people(tx, query)


async def by_emails(tx: Tx, tenant_id: int, emails: Sequence[str]) -> list[Person]:
    lowered = [e.lower() for e in emails]
    query = _of_tenant(tenant_id, func.lower(users.c.email).in_(lowered)).order_by(users.c.id)
    return await _people(tx, query)


def _filtered(query: Select[Any], tenant_id: Any, f: PersonFilter) -> Select[Any]:
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
    tx: Tx,
    tenant_id: int,
    f: PersonFilter,
    offset: int = 0,
    limit: int | None = None,
    by_id: bool = False,
) -> list[Person]:
    """A page of the people matching `f`, by username (or by id: creation order)."""
    order = users.c.id if by_id else users.c.username
    query = _filtered(select(*_PERSON_COLUMNS), tenant_id, f).order_by(order)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return await _people(tx, query, _filtered(select(users.c.id), tenant_id, f))


class Listed(NamedTuple):
    """A person as lists of people print them: a tuple straight from the rows, not a
    `Person` (a list of thousands spent most of its time building those)."""

    username: str
    name: str
    email: str | None
    properties: tuple[tuple[str, str | None], ...]


_LISTED_COLUMNS = (users.c.id, users.c.username, users.c.name, users.c.email)
_NO_FILTER = PersonFilter()


def _listing(page: Select[Any]) -> Select[Any]:
    """The page's people (id, username, name, email) with their properties joined on,
    one row per property (or one with NULLs), by username then key."""
    listed = page.subquery("listed")
    return (
        select(
            listed.c.id,
            listed.c.username,
            listed.c.name,
            listed.c.email,
            user_properties.c.key,
            user_properties.c.value,
        )
        .select_from(listed.outerjoin(user_properties, user_properties.c.user_id == listed.c.id))
        .order_by(listed.c.username, user_properties.c.key)
    )


def _page(f: PersonFilter, paged: bool) -> Select[Any]:
    query = _filtered(select(*_LISTED_COLUMNS), bindparam("tenant_id"), f)
    query = query.order_by(users.c.username)
    if paged:
        query = query.limit(bindparam("limit")).offset(bindparam("offset"))
    return query


# The unfiltered list, whole or paged, and its count, built once: the hot case.
_ALL = _listing(_page(_NO_FILTER, False))
_ALL_PAGE = _listing(_page(_NO_FILTER, True))
_COUNT_ALL = (
    select(func.count()).select_from(users).where(users.c.tenant_id == bindparam("tenant_id"))
)


async def listing(
    tx: Tx, tenant_id: int, f: PersonFilter, offset: int = 0, limit: int | None = None
) -> list[Listed]:
    """A page of the people matching `f` by username, as lists print them: one
    statement, properties joined on. (A total counted in the same statement, with a
    window `count(*) over ()`, made a page of 50 of 5,000 people slower than this
    statement and a separate `count(*)` on the index: about six times on SQLite,
    bench/openfire_lean.py; 2.2 against 1.3 ms on PostgreSQL, with asyncpg alone.)"""
    paged = limit is not None
    params: dict[str, Any] = {"tenant_id": tenant_id}
    if paged:
        params.update(limit=limit, offset=offset)
    rows: Sequence[Any]
    if f == _NO_FILTER:  # the hot case: a statement built once, run on the driver
        rows = await tx.driver_rows(_ALL_PAGE if paged else _ALL, params)
    else:
        rows = all_rows(await tx.execute(_listing(_page(f, paged)), params))
    found: list[Listed] = []
    last = None
    username, name, email = "", "", None
    pairs: list[tuple[str, str | None]] = []
    for row in rows:
        if row[0] != last:
            if last is not None:
                found.append(Listed(username, name, email, tuple(pairs)))
            last, username, name, email = row[0], row[1], row[2], row[3]
            pairs = []
        if row[4] is not None:
            pairs.append((row[4], row[5]))
    if last is not None:
        found.append(Listed(username, name, email, tuple(pairs)))
    return found


_CARD = (
    select(
        users.c.username,
        users.c.name,
        users.c.email,
        user_properties.c.key,
        user_properties.c.value,
    )
    .outerjoin(user_properties, user_properties.c.user_id == users.c.id)
    .where(users.c.tenant_id == bindparam("tenant_id"), users.c.username == bindparam("username"))
    .order_by(user_properties.c.key)
)


async def card(tx: Tx, tenant_id: int, username: str) -> Listed | None:
    """One person as lists print people: four columns and the properties, in one
    statement (a whole `Person` reads some thirty columns and the roles)."""
    params = {"tenant_id": tenant_id, "username": username}
    rows = await tx.driver_rows(_CARD, params)
    if not rows:
        return None
    first = rows[0]
    pairs = tuple((r[3], r[4]) for r in rows if r[3] is not None)
    return Listed(first[0], first[1], first[2], pairs)


async def count(tx: Tx, tenant_id: int, f: PersonFilter) -> int:
    if f == _NO_FILTER:
        return int((await tx.execute(_COUNT_ALL, {"tenant_id": tenant_id})).scalar_one())
    query = _filtered(select(func.count()).select_from(users), tenant_id, f)
    return int((await tx.execute(query)).scalar_one())


async def all_ids(tx: Tx, tenant_id: int) -> list[int]:
    query = select(users.c.id).where(users.c.tenant_id == tenant_id).order_by(users.c.id)
    return [r.id for r in await tx.execute(query)]


_FIND_ID = select(users.c.id).where(
    users.c.tenant_id == bindparam("tenant_id"), users.c.username == bindparam("username")
)


async def find_id(tx: Tx, tenant_id: int, username: str) -> int | None:
    return (await tx.execute(_FIND_ID, {"tenant_id": tenant_id, "username": username})).scalar()


async def lock_row(tx: Tx, tenant_id: int, user_id: int) -> Person | None:
    """The person, read so that no other writer changes the row before this transaction
    ends (FOR UPDATE on PostgreSQL; SQLite's write transactions are serial anyway)."""
    query = _of_tenant(tenant_id, users.c.id == user_id).with_for_update()
    found = await _people(tx, query)
    return found[0] if found else None


async def usernames_by_id(tx: Tx, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(users.c.id, users.c.username).where(users.c.id.in_(ids))
    return {row.id: row.username for row in await tx.execute(query)}


async def created_by_id(tx: Tx, tenant_id: int, ids: Sequence[int]) -> dict[int, datetime]:
    """When each of these people (of the tenant) was created."""
    if not ids:
        return {}
    query = select(users.c.id, users.c.created_at).where(
        users.c.tenant_id == tenant_id, users.c.id.in_(list(ids))
    )
    return {r.id: as_utc(r.created_at) for r in await tx.execute(query)}


async def lock_ids(tx: Tx, tenant_id: int, ids: Sequence[int]) -> set[int]:
    """Which of these people (of the tenant) exist, their rows locked until the
    transaction ends against other writers of what hangs off them (features, delegates,
    pictures...): FOR NO KEY UPDATE on PostgreSQL, so rows that merely reference them
    can still be written; SQLite's write transactions are serial anyway."""
    if not ids:
        return set()
    query = select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.id.in_(list(ids)))
    return {r.id for r in await tx.execute(query.with_for_update(key_share=True))}


async def insert_person(
    tx: Tx,
    tenant_id: int,
    username: str,
    name: str,
    email: str | None,
    now: datetime,
    home_domain_id: int | None = None,
) -> int:
    stmt = (
        insert(users)
        .values(
            tenant_id=tenant_id,
            username=username,
            name=name,
            email=email,
            home_domain_id=home_domain_id,
            locked=False,
            created_at=now,
            updated_at=now,
        )
        .returning(users.c.id)
    )
    return int((await tx.execute(stmt)).scalar_one())


async def update_row(tx: Tx, user_id: int, now: datetime, **values: Any) -> None:
    """Set columns of the person's row (account fields, profile attributes, vCard)."""
    await tx.execute(update(users).where(users.c.id == user_id).values(updated_at=now, **values))


async def delete_row(tx: Tx, user_id: int) -> None:
    await tx.execute(delete(users).where(users.c.id == user_id))


async def replace_properties(
    tx: Tx, user_id: int, properties: Mapping[str, str | None], fresh: bool = False
) -> None:
    """Make the person's properties exactly these, in one insert. `fresh`: the person
    was made in this transaction, so there are none to remove."""
    if not fresh:
        await tx.execute(delete(user_properties).where(user_properties.c.user_id == user_id))
    if properties:
        await tx.execute(
            insert(user_properties),
            [{"user_id": user_id, "key": k, "value": v} for k, v in properties.items()],
        )


async def set_password_hash(
    tx: Tx, user_id: int, password_hash: str, now: datetime, fresh: bool = False
) -> None:
    """Store the person's password hash. `fresh`: the person was made in this
    transaction, so it has no row to update (one statement instead of two)."""
    if fresh:
        await tx.execute(
            insert(credentials).values(user_id=user_id, password_hash=password_hash, updated_at=now)
        )
        return
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
                _CHANGE_FLAG.c.value.label("change_required"),
            )
            .outerjoin(credentials, credentials.c.user_id == users.c.id)
            .outerjoin(
                _CHANGE_FLAG,
                (_CHANGE_FLAG.c.user_id == users.c.id) & (_CHANGE_FLAG.c.key == CHANGE_REQUIRED),
            )
            .where(where)
        )
    ).first()
    if row is None:
        return None
    held = await tx.execute(_ROLES_OF, {"user_id": row.id})
    return Login(
        row.id,
        row.username,
        row.password_hash,
        bool(row.locked),
        frozenset(held.scalars()),
        row.name,
        row.change_required == "true",
    )


async def replace_roles(tx: Tx, user_id: int, wanted: frozenset[str], keep: frozenset[str]) -> None:
    """Make the person's roles `wanted`, leaving the `keep` ones (Townhall's own) alone."""
    await tx.execute(
        delete(user_roles).where(user_roles.c.user_id == user_id, user_roles.c.role.not_in(keep))
    )
    present = set((await tx.execute(_ROLES_OF, {"user_id": user_id})).scalars())
    missing = sorted(wanted - present)
    if missing:
        await tx.execute(insert(user_roles), [{"user_id": user_id, "role": r} for r in missing])


async def count_with_role(tx: Tx, tenant_id: int, role: str) -> int:
    """Unlocked people of the tenant holding `role`."""
    query = (
        select(func.count())
        .select_from(users.join(user_roles, user_roles.c.user_id == users.c.id))
        .where(users.c.tenant_id == tenant_id, user_roles.c.role == role)
        .where(users.c.locked.is_(False))
    )
    return int((await tx.execute(query)).scalar_one())


async def get_vcard(tx: Tx, tenant_id: int, username: str) -> str | None:
    query = select(users.c.vcard).where(
        users.c.tenant_id == tenant_id, users.c.username == username
    )
    return (await tx.execute(query)).scalar()


@dataclass(frozen=True, slots=True)
class Held:
    """A person's row held by `hold`: enough to name it and date it."""

    id: int
    username: str
    created_at: datetime


async def hold(
    tx: Tx, tenant_id: int, ids: Sequence[int] = (), usernames: Sequence[str] = ()
) -> list[Held]:
    """These people of the tenant (by id or username), their rows held until the
    transaction ends against other writers of what hangs off a person (contacts, chosen
    presence): FOR NO KEY UPDATE on PostgreSQL, which still lets foreign keys point at
    the row, taken in id order so two writers never wait for each other; SQLite's write
    transactions are serial anyway."""
    if not ids and not usernames:
        return []
    wanted = users.c.id.in_(list(ids)) | users.c.username.in_(list(usernames))
    query = (
        select(users.c.id, users.c.username, users.c.created_at)
        .where(users.c.tenant_id == tenant_id, wanted)
        .order_by(users.c.id)
        .with_for_update(key_share=True)
    )
    return [Held(r.id, r.username, as_utc(r.created_at)) for r in await tx.execute(query)]


async def home_domain(tx: Tx, user_id: int) -> str | None:
    """The name of the person's home domain; None: the tenant's primary domain."""
    query = (
        select(domains.c.name)
        .select_from(users.join(domains, domains.c.id == users.c.home_domain_id))
        .where(users.c.id == user_id)
    )
    return (await tx.execute(query)).scalar()


SEARCHABLE = ("username", "email", "mobile_phone", "delivery_status", "custom_ids")
"""The person fields `matching` compares (lists: any element)."""


def like_pattern(pattern: str) -> str:
    """A `*` wildcard pattern as a lower-case LIKE pattern (escape: backslash)."""
    escaped = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


async def matching(
    tx: Tx, tenant_ids: Sequence[int], pattern: str, fields: Sequence[str], limit: int | None
) -> list[Person]:
    """People of these tenants with a field that may match the `*` pattern, by tenant
    and username, at most `limit` rows. Candidates only for a list field: its JSON text
    is matched with the pattern as JSON writes it, between quotes (an element's start
    and end), which a match spanning two elements also passes, so the caller checks
    every element."""
    if not tenant_ids or not fields:
        return []
    like = like_pattern(pattern)
    in_json = (
        '%"'
        + "%".join(like_pattern(json.dumps(part.lower())[1:-1]) for part in pattern.split("*"))
        + '"%'
    )
    wanted: list[ColumnElement[bool]] = []
    for name in fields:
        column = users.c[name]
        if name in PROFILE_LISTS or name == "custom_ids":
            wanted.append(func.lower(cast(column, Text)).like(in_json, escape="\\"))
        else:
            wanted.append(func.lower(column).like(like, escape="\\"))
    query = (
        select(*_PERSON_COLUMNS)
        .where(users.c.tenant_id.in_(list(tenant_ids)), or_(*wanted))
        .order_by(users.c.tenant_id, users.c.username)
    )
    return await _people(tx, query if limit is None else query.limit(limit))


async def addressed_in(tx: Tx, tenant_ids: Sequence[int], domain: str, limit: int) -> list[Person]:
    """People of these tenants with an address in `domain`: their e-mail, or the alias
    of a forward of their tenant that delivers to their e-mail."""
    if not tenant_ids:
        return []
    suffix = "%@" + like_pattern(domain)
    email = func.lower(users.c.email)
    forwarded = (
        select(users.c.id)
        .join(
            mail_aliases,
            (mail_aliases.c.tenant_id == users.c.tenant_id) & (mail_aliases.c.recipient == email),
        )
        .where(users.c.tenant_id.in_(list(tenant_ids)))
        .where(mail_aliases.c.alias.like(suffix, escape="\\"))
    )
    query = (
        select(*_PERSON_COLUMNS)
        .where(
            users.c.tenant_id.in_(list(tenant_ids)),
            email.like(suffix, escape="\\") | users.c.id.in_(forwarded),
        )
        .order_by(users.c.tenant_id, users.c.username)
        .limit(limit)
    )
    return await _people(tx, query)
