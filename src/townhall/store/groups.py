"""Groups and their members (local users by id, foreign JIDs by address)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from townhall.domain.models import Group
from townhall.store.database import Tx
from townhall.store.schema import group_members, groups, users


@dataclass(frozen=True, slots=True)
class Member:
    """A local user (`user_id`) or a foreign JID (`jid`)."""

    user_id: int | None = None
    jid: str | None = None


async def list_groups(tx: Tx, tenant_id: int) -> list[Group]:
    query = (
        select(groups.c.id, groups.c.name, groups.c.description, groups.c.shared)
        .where(groups.c.tenant_id == tenant_id)
        .order_by(groups.c.name)
    )
    return [
        Group(r.id, tenant_id, r.name, r.description, bool(r.shared))
        for r in await tx.execute(query)
    ]


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
        (admins if m.is_admin else members).append(jid)
    return Group(
        row.id,
        tenant_id,
        row.name,
        row.description,
        bool(row.shared),
        tuple(admins),
        tuple(members),
    )


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


async def update_group(tx: Tx, group_id: int, description: str | None, shared: bool) -> None:
    await tx.execute(
        update(groups).where(groups.c.id == group_id).values(description=description, shared=shared)
    )


async def delete_group(tx: Tx, group_id: int) -> None:
    await tx.execute(delete(groups).where(groups.c.id == group_id))


async def replace_members(
    tx: Tx, group_id: int, admins: Sequence[Member], members: Sequence[Member]
) -> None:
    """Make the group's membership exactly these (an admin listed as member stays admin)."""
    await tx.execute(delete(group_members).where(group_members.c.group_id == group_id))
    rows: dict[tuple[int | None, str | None], bool] = {}
    for member in members:
        rows.setdefault((member.user_id, member.jid), False)
    for admin in admins:
        rows[(admin.user_id, admin.jid)] = True
    if rows:
        await tx.execute(
            insert(group_members),
            [
                {"group_id": group_id, "user_id": uid, "jid": jid, "is_admin": is_admin}
                for (uid, jid), is_admin in rows.items()
            ],
        )


async def user_group_names(tx: Tx, user_id: int) -> list[str]:
    query = (
        select(groups.c.name)
        .join(group_members, group_members.c.group_id == groups.c.id)
        .where(group_members.c.user_id == user_id)
        .order_by(groups.c.name)
    )
    return [r.name for r in await tx.execute(query)]


async def add_user(tx: Tx, group_ids: Iterable[int], user_id: int) -> None:
    """Add the user to each group it is not yet in."""
    ids = list(dict.fromkeys(group_ids))
    if not ids:
        return
    present = {
        r.group_id
        for r in await tx.execute(
            select(group_members.c.group_id).where(
                group_members.c.user_id == user_id, group_members.c.group_id.in_(ids)
            )
        )
    }
    missing = [gid for gid in ids if gid not in present]
    if missing:
        await tx.execute(
            insert(group_members),
            [{"group_id": gid, "user_id": user_id, "is_admin": False} for gid in missing],
        )


async def remove_user(tx: Tx, group_ids: Iterable[int], user_id: int) -> None:
    ids = list(group_ids)
    if ids:
        await tx.execute(
            delete(group_members).where(
                group_members.c.user_id == user_id, group_members.c.group_id.in_(ids)
            )
        )


async def names(tx: Tx, tenant_id: int) -> list[str]:
    query = select(groups.c.name).where(groups.c.tenant_id == tenant_id).order_by(groups.c.name)
    return [r.name for r in await tx.execute(query)]


async def member_jids(tx: Tx, group_ids: Iterable[int], domain: str) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    ids = list(group_ids)
    if not ids:
        return found
    query = (
        select(group_members.c.group_id, group_members.c.jid, users.c.username)
        .outerjoin(users, users.c.id == group_members.c.user_id)
        .where(group_members.c.group_id.in_(ids))
        .order_by(group_members.c.id)
    )
    for r in await tx.execute(query):
        found[r.group_id].append(r.jid or f"{r.username}@{domain}")
    return found
