"""Groups and their members (local users by id, other JIDs by bare address)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update

from townhall.domain.models import Group
from townhall.store.database import Tx, UniqueViolation
from townhall.store.schema import group_members, groups, users


@dataclass(frozen=True, slots=True)
class Member:
    """A local account (`user_id`) or any other JID (`jid`).

    `alias` is the account's JID when `user_id` is set: a row stored by that JID before
    the account existed is the same member.
    """

    user_id: int | None = None
    jid: str | None = None
    alias: str | None = None


def _is(member: Member) -> ColumnElement[bool]:
    """Rows that stand for `member`, whichever way they were stored."""
    if member.user_id is None:
        return group_members.c.jid == member.jid
    if member.alias is None:
        return group_members.c.user_id == member.user_id
    return or_(group_members.c.user_id == member.user_id, group_members.c.jid == member.alias)


async def list_groups(
    tx: Tx, tenant_id: int, offset: int = 0, limit: int | None = None
) -> list[Group]:
    query = (
        select(groups.c.id, groups.c.name, groups.c.description, groups.c.shared)
        .where(groups.c.tenant_id == tenant_id)
        .order_by(groups.c.name)
        .offset(offset)
        .limit(limit)
    )
    return [
        Group(r.id, tenant_id, r.name, r.description, bool(r.shared))
        for r in await tx.execute(query)
    ]


async def count(tx: Tx, tenant_id: int) -> int:
    query = select(func.count()).select_from(groups).where(groups.c.tenant_id == tenant_id)
    return int((await tx.execute(query)).scalar_one())


async def find(tx: Tx, tenant_id: int, name: str, domain: str) -> Group | None:
    row = (
        await tx.execute(
            select(groups).where(groups.c.tenant_id == tenant_id, groups.c.name == name)
        )
    ).first()
    if row is None:
        return None
    admins: list[str] = []
    members: list[str] = []
    query = (
        select(group_members.c.jid, group_members.c.is_admin, users.c.username)
        .outerjoin(users, users.c.id == group_members.c.user_id)
        .where(group_members.c.group_id == row.id)
        .order_by(group_members.c.id)
    )
    for m in await tx.execute(query):
        jid = m.jid or f"{m.username}@{domain}"
        listed = admins if m.is_admin else members
        if jid not in listed:  # an account and its earlier JID row are one member
            listed.append(jid)
    return Group(
        row.id,
        tenant_id,
        row.name,
        row.description,
        bool(row.shared),
        tuple(admins),
        tuple(members),
    )


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: int
    description: str | None
    shared: bool


async def lock(tx: Tx, tenant_id: int, name: str) -> GroupRow | None:
    """The group's row, locked against other writers until the transaction ends (FOR
    UPDATE on PostgreSQL; SQLite's write transactions are serial anyway)."""
    query = (
        select(groups.c.id, groups.c.description, groups.c.shared)
        .where(groups.c.tenant_id == tenant_id, groups.c.name == name)
        .with_for_update()
    )
    row = (await tx.execute(query)).first()
    return GroupRow(row.id, row.description, bool(row.shared)) if row else None


async def ids_by_name(tx: Tx, tenant_id: int, names: Iterable[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    query = select(groups.c.name, groups.c.id).where(
        groups.c.tenant_id == tenant_id, groups.c.name.in_(wanted)
    )
    return {r.name: r.id for r in await tx.execute(query)}


async def insert_group(
    tx: Tx, tenant_id: int, name: str, description: str | None, shared: bool
) -> int:
    stmt = (
        insert(groups)
        .values(tenant_id=tenant_id, name=name, description=description, shared=shared)
        .returning(groups.c.id)
    )
    return int((await tx.execute(stmt)).scalar_one())


async def ensure_group(tx: Tx, tenant_id: int, name: str) -> tuple[int, bool]:
    """The group's id, creating it (empty description, not shared) when it is missing,
    and whether this call created it.

    Two requests creating the same group at once both succeed: the loser reads the
    winner's row.
    """
    found = await ids_by_name(tx, tenant_id, [name])
    if name in found:
        return found[name], False
    stmt = insert(groups).values(tenant_id=tenant_id, name=name, description="", shared=False)
    try:
        await tx.savepoint_insert(stmt)
    except UniqueViolation:
        return (await ids_by_name(tx, tenant_id, [name]))[name], False
    return (await ids_by_name(tx, tenant_id, [name]))[name], True


async def update_group(tx: Tx, group_id: int, description: str | None, shared: bool) -> None:
    await tx.execute(
        update(groups).where(groups.c.id == group_id).values(description=description, shared=shared)
    )


async def delete_group(tx: Tx, group_id: int) -> None:
    await tx.execute(delete(groups).where(groups.c.id == group_id))


async def replace_members(
    tx: Tx, group_id: int, admins: Sequence[Member], members: Sequence[Member]
) -> bool:
    """Make the group's membership exactly these (an admin listed as member stays admin);
    False if it already was."""
    rows: dict[tuple[int | None, str | None], bool] = {}
    for member in members:
        rows.setdefault((member.user_id, member.jid), False)
    for admin in admins:
        rows[(admin.user_id, admin.jid)] = True
    query = select(group_members.c.user_id, group_members.c.jid, group_members.c.is_admin).where(
        group_members.c.group_id == group_id
    )
    current = [((r.user_id, r.jid), bool(r.is_admin)) for r in await tx.execute(query)]
    if len(current) == len(rows) and dict(current) == rows:
        return False
    await tx.execute(delete(group_members).where(group_members.c.group_id == group_id))
    if rows:
        await tx.execute(
            insert(group_members),
            [
                {"group_id": group_id, "user_id": uid, "jid": jid, "is_admin": is_admin}
                for (uid, jid), is_admin in rows.items()
            ],
        )
    return True


async def group_names_of(tx: Tx, member: Member) -> list[str]:
    """The groups `member` belongs to, as member or admin."""
    query = (
        select(groups.c.name)
        .join(group_members, group_members.c.group_id == groups.c.id)
        .where(_is(member))
        .distinct()
        .order_by(groups.c.name)
    )
    return [r.name for r in await tx.execute(query)]


async def add_member(tx: Tx, group_ids: Iterable[int], member: Member) -> int:
    """Add `member` to each group it is not yet in (as member or admin); how many it
    joined."""
    ids = list(dict.fromkeys(group_ids))
    if not ids:
        return 0
    query = select(group_members.c.group_id).where(_is(member), group_members.c.group_id.in_(ids))
    present = {r.group_id for r in await tx.execute(query)}
    joined = 0
    for group_id in ids:
        if group_id in present:
            continue
        row = insert(group_members).values(
            group_id=group_id, user_id=member.user_id, jid=member.jid, is_admin=False
        )
        with suppress(UniqueViolation):  # added meanwhile by another request: one row will do
            await tx.savepoint_insert(row)
            joined += 1
    return joined


async def remove_member(tx: Tx, group_ids: Iterable[int], member: Member) -> int:
    """Take `member` out of these groups; how many rows that removed."""
    ids = list(group_ids)
    if not ids:
        return 0
    done = await tx.execute(
        delete(group_members).where(_is(member), group_members.c.group_id.in_(ids))
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


async def adopt(tx: Tx, tenant_id: int, user_id: int, jid: str) -> None:
    """Make the rows kept under `jid` (added before the account existed) the account's,
    so a later rename or deletion of the account carries them along.

    Where the account is already in the group, its row keeps the stronger seat.
    """
    query = (
        select(group_members.c.id, group_members.c.group_id, group_members.c.is_admin)
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(groups.c.tenant_id == tenant_id, group_members.c.jid == jid)
    )
    pending = (await tx.execute(query)).all()
    if not pending:
        return
    owned = select(group_members.c.group_id).where(
        group_members.c.user_id == user_id,
        group_members.c.group_id.in_([r.group_id for r in pending]),
    )
    already = {r.group_id for r in await tx.execute(owned)}
    for row in pending:
        if row.group_id not in already:
            await tx.execute(
                update(group_members)
                .where(group_members.c.id == row.id)
                .values(user_id=user_id, jid=None)
            )
            continue
        await tx.execute(delete(group_members).where(group_members.c.id == row.id))
        if row.is_admin:
            await tx.execute(
                update(group_members)
                .where(group_members.c.group_id == row.group_id, group_members.c.user_id == user_id)
                .values(is_admin=True)
            )


async def names(tx: Tx, tenant_id: int) -> list[str]:
    query = select(groups.c.name).where(groups.c.tenant_id == tenant_id).order_by(groups.c.name)
    return [r.name for r in await tx.execute(query)]


async def with_members(tx: Tx, tenant_id: int, domain: str) -> list[Group]:
    """Every group of the tenant by name, with its admins and members as `find` shows
    them (local accounts as `username@domain`), in two statements whatever their number."""
    found = await list_groups(tx, tenant_id)
    if not found:
        return []
    query = (
        select(group_members.c.group_id, group_members.c.jid, group_members.c.is_admin)
        .add_columns(users.c.username)
        .outerjoin(users, users.c.id == group_members.c.user_id)
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(groups.c.tenant_id == tenant_id)
        .order_by(group_members.c.id)
    )
    seats: dict[int, tuple[list[str], list[str]]] = {g.id: ([], []) for g in found}
    for m in await tx.execute(query):
        jid = m.jid or f"{m.username}@{domain}"
        listed = seats[m.group_id][0 if m.is_admin else 1]
        if jid not in listed:
            listed.append(jid)
    return [
        Group(
            g.id,
            tenant_id,
            g.name,
            g.description,
            g.shared,
            tuple(seats[g.id][0]),
            tuple(seats[g.id][1]),
        )
        for g in found
    ]
