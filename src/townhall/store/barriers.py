"""Information barriers: groups of users and the policies between groups.

Member counts and the ids a group or policy links to are worked out by grouped queries
over the link tables, never kept in columns, so they cannot drift from the links.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import (
    barrier_group_members,
    barrier_groups,
    barrier_policies,
    barrier_policy_groups,
)


@dataclass(frozen=True, slots=True)
class BarrierGroup:
    id: str
    name: str
    active: bool
    member_count: int
    policies: tuple[str, ...]
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class BarrierPolicy:
    id: str
    policy_type: str
    active: bool
    member_count: int
    """Distinct users in the policy's groups: the people it constrains."""
    groups: tuple[str, ...]
    created_at: datetime
    modified_at: datetime


async def _policies_by_group(tx: Tx, group_ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    if group_ids:
        query = (
            select(barrier_policy_groups.c.group_id, barrier_policy_groups.c.policy_id)
            .where(barrier_policy_groups.c.group_id.in_(list(group_ids)))
            .order_by(barrier_policy_groups.c.policy_id)
        )
        for row in await tx.execute(query):
            found[row.group_id].append(row.policy_id)
    return found


async def _groups(tx: Tx, where: Any) -> list[BarrierGroup]:
    counts = (
        select(barrier_group_members.c.group_id, func.count().label("n"))
        .group_by(barrier_group_members.c.group_id)
        .subquery()
    )
    query = (
        select(barrier_groups, func.coalesce(counts.c.n, 0).label("member_count"))
        .outerjoin(counts, counts.c.group_id == barrier_groups.c.id)
        .where(where)
        .order_by(barrier_groups.c.created_at, barrier_groups.c.id)
    )
    found = list(await tx.execute(query))
    policies = await _policies_by_group(tx, [r.id for r in found])
    return [
        BarrierGroup(
            id=r.id,
            name=r.name,
            active=bool(r.active),
            member_count=int(r.member_count),
            policies=tuple(policies.get(r.id, ())),
            created_at=as_utc(r.created_at),
            modified_at=as_utc(r.modified_at),
        )
        for r in found
    ]


async def groups(tx: Tx, tenant_id: int) -> list[BarrierGroup]:
    """The tenant's groups in creation order."""
    return await _groups(tx, barrier_groups.c.tenant_id == tenant_id)


async def find_groups(tx: Tx, tenant_id: int, refs: Sequence[str]) -> dict[str, BarrierGroup]:
    """The tenant's groups named by these ids or names, keyed by the reference used."""
    if not refs:
        return {}
    wanted = list(refs)
    found = await _groups(
        tx,
        (barrier_groups.c.tenant_id == tenant_id)
        & (barrier_groups.c.id.in_(wanted) | barrier_groups.c.name.in_(wanted)),
    )
    by_ref: dict[str, BarrierGroup] = {}
    for group in found:  # an id wins over another group's name that looks like it
        by_ref.setdefault(group.name, group)
    for group in found:
        by_ref[group.id] = group
    return {ref: by_ref[ref] for ref in wanted if ref in by_ref}


async def group_exists(tx: Tx, tenant_id: int, group_id: str, for_update: bool = False) -> bool:
    """Whether the tenant has the group; `for_update` locks its row until the
    transaction ends, so changes of one group's membership run one after the other."""
    query = select(barrier_groups.c.id).where(
        barrier_groups.c.tenant_id == tenant_id, barrier_groups.c.id == group_id
    )
    return (await tx.execute(query.with_for_update() if for_update else query)).first() is not None


async def insert_group(tx: Tx, tenant_id: int, group: BarrierGroup) -> None:
    """Raises UniqueViolation when the tenant already has a group of that name."""
    await tx.execute(
        insert(barrier_groups).values(
            id=group.id,
            tenant_id=tenant_id,
            name=group.name,
            active=group.active,
            created_at=group.created_at,
            modified_at=group.modified_at,
        )
    )


async def members(tx: Tx, group_id: str, skip: int, limit: int) -> list[int]:
    query = (
        select(barrier_group_members.c.user_id)
        .where(barrier_group_members.c.group_id == group_id)
        .order_by(barrier_group_members.c.user_id)
        .offset(skip)
        .limit(limit)
    )
    return [r.user_id for r in await tx.execute(query)]


async def add_members(tx: Tx, group_id: str, user_ids: Sequence[int]) -> int:
    """Add those not yet in the group; how many that added. The caller holds the group's
    row locked, so no other change of its membership runs meanwhile."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return 0
    query = select(barrier_group_members.c.user_id).where(
        barrier_group_members.c.group_id == group_id,
        barrier_group_members.c.user_id.in_(wanted),
    )
    present = {r.user_id for r in await tx.execute(query)}
    missing = [u for u in wanted if u not in present]
    if missing:
        await tx.execute(
            insert(barrier_group_members),
            [{"group_id": group_id, "user_id": u} for u in missing],
        )
    return len(missing)


async def remove_members(tx: Tx, group_id: str, user_ids: Sequence[int]) -> int:
    """Take these out of the group; how many were in it."""
    if not user_ids:
        return 0
    done = await tx.execute(
        delete(barrier_group_members).where(
            barrier_group_members.c.group_id == group_id,
            barrier_group_members.c.user_id.in_(list(user_ids)),
        )
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


async def touch_group(tx: Tx, group_id: str, now: datetime) -> None:
    await tx.execute(
        update(barrier_groups).where(barrier_groups.c.id == group_id).values(modified_at=now)
    )


async def policies(tx: Tx, tenant_id: int) -> list[BarrierPolicy]:
    """The tenant's policies in creation order."""
    query = (
        select(barrier_policies)
        .where(barrier_policies.c.tenant_id == tenant_id)
        .order_by(barrier_policies.c.created_at, barrier_policies.c.id)
    )
    found = list(await tx.execute(query))
    ids = [r.id for r in found]
    linked: dict[str, list[str]] = defaultdict(list)
    counts: dict[str, int] = {}
    if ids:
        links = (
            select(barrier_policy_groups.c.policy_id, barrier_policy_groups.c.group_id)
            .where(barrier_policy_groups.c.policy_id.in_(ids))
            .order_by(barrier_policy_groups.c.group_id)
        )
        for row in await tx.execute(links):
            linked[row.policy_id].append(row.group_id)
        people = (
            select(
                barrier_policy_groups.c.policy_id,
                func.count(func.distinct(barrier_group_members.c.user_id)).label("n"),
            )
            .join(
                barrier_group_members,
                barrier_group_members.c.group_id == barrier_policy_groups.c.group_id,
            )
            .where(barrier_policy_groups.c.policy_id.in_(ids))
            .group_by(barrier_policy_groups.c.policy_id)
        )
        counts = {r.policy_id: int(r.n) for r in await tx.execute(people)}
    return [
        BarrierPolicy(
            id=r.id,
            policy_type=r.policy_type,
            active=bool(r.active),
            member_count=counts.get(r.id, 0),
            groups=tuple(linked.get(r.id, ())),
            created_at=as_utc(r.created_at),
            modified_at=as_utc(r.modified_at),
        )
        for r in found
    ]


async def insert_policy(tx: Tx, tenant_id: int, policy: BarrierPolicy) -> None:
    await tx.execute(
        insert(barrier_policies).values(
            id=policy.id,
            tenant_id=tenant_id,
            policy_type=policy.policy_type,
            active=policy.active,
            created_at=policy.created_at,
            modified_at=policy.modified_at,
        )
    )
    await tx.execute(
        insert(barrier_policy_groups),
        [{"policy_id": policy.id, "group_id": g} for g in policy.groups],
    )
