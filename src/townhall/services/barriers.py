"""Information barriers: groups of users, and policies that block (or allow) contact
between the groups they name.

Groups and policies are created by administrators (through Townhall's CLI: Symphony has
no API for it); membership is managed through the API. Changing a group's membership is
all or nothing: if any id cannot be added or removed, nothing is changed and the
outcome says which ids failed and why. A change that changes nothing (adding members
already in, removing people who are not) succeeds and records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import barriers as store
from townhall.store import people as people_store
from townhall.store import tenants as tenant_store
from townhall.store.barriers import BarrierGroup, BarrierPolicy
from townhall.store.database import UniqueViolation

__all__ = ["BarrierGroup", "BarrierPolicy", "BarrierService", "BulkOutcome"]

POLICY_TYPES = ("BLOCK", "ALLOW")
MAX_NAME = 255
MAX_PAGE = 10_000
MAX_BULK = 10_000
MAX_ID = 2**63 - 1
"""User ids are int64; a larger one names nobody (and no database column could hold it)."""


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """One entry per submitted id, in order: "" when it went through, else why not.
    `ok` is False if any failed, and then nothing was changed."""

    ok: bool
    results: tuple[str, ...]


class BarrierService(Service):
    async def groups(self, actor: Principal) -> list[BarrierGroup]:
        async with self.db.read() as tx:
            return await store.groups(tx, actor.tenant_id)

    async def policies(self, actor: Principal) -> list[BarrierPolicy]:
        async with self.db.read() as tx:
            return await store.policies(tx, actor.tenant_id)

    async def members(
        self, actor: Principal, group_id: str, skip: int = 0, limit: int = MAX_PAGE
    ) -> list[int]:
        if skip < 0:
            raise Invalid("offset", "must not be negative")
        if not 0 < limit <= MAX_PAGE:
            raise Invalid("limit", f"must be between 1 and {MAX_PAGE}")
        async with self.db.read() as tx:
            if not await store.group_exists(tx, actor.tenant_id, group_id):
                raise NotFound("group", group_id)
            return await store.members(tx, group_id, skip, limit)

    async def add_members(
        self, actor: Principal, group_id: str, user_ids: Sequence[int]
    ) -> BulkOutcome:
        """Adding someone who is a member already succeeds and changes nothing."""
        return await self._change_members(actor, group_id, user_ids, add=True)

    async def remove_members(
        self, actor: Principal, group_id: str, user_ids: Sequence[int]
    ) -> BulkOutcome:
        """Removing someone who is not a member succeeds: afterwards they are not one."""
        return await self._change_members(actor, group_id, user_ids, add=False)

    async def _change_members(
        self, actor: Principal, group_id: str, user_ids: Sequence[int], add: bool
    ) -> BulkOutcome:
        """Every id is checked before anything is written, so a refusal of one leaves the
        group as it was (and records nothing)."""
        if len(user_ids) > MAX_BULK:
            raise Invalid("member_ids", f"may name at most {MAX_BULK} users at once")
        async with self.unit(actor) as work:
            if not await store.group_exists(work, actor.tenant_id, group_id, for_update=True):
                raise NotFound("group", group_id)
            plausible = [u for u in set(user_ids) if 0 < u <= MAX_ID]
            known = await people_store.created_by_id(work, actor.tenant_id, plausible)
            results = tuple("" if u in known else f"user {u} not found" for u in user_ids)
            if any(results):
                return BulkOutcome(False, results)
            change = store.add_members if add else store.remove_members
            if await change(work, group_id, user_ids):
                await store.touch_group(work, group_id, self.clock.now())
                action = "barrier.group.members.added" if add else "barrier.group.members.removed"
                work.record(action, group_id, details=", ".join(str(u) for u in user_ids))
        return BulkOutcome(True, results)

    async def create_group(self, actor: Principal, name: str, active: bool = True) -> BarrierGroup:
        name = name.strip()
        if not 0 < len(name) <= MAX_NAME:
            raise Invalid("group_name", f"must have 1 to {MAX_NAME} characters")
        now = self.clock.now()
        made = BarrierGroup(self.deps.ids.object_id(now), name, active, 0, (), now, now)
        async with self.change(actor, "barrier.group.created", made.id, details=name) as work:
            try:
                await store.insert_group(work, actor.tenant_id, made)
            except UniqueViolation:
                raise AlreadyExists("group", name, f"group {name} already exists") from None
        return made

    async def create_policy(
        self, actor: Principal, policy_type: str, groups: Sequence[str], active: bool = True
    ) -> BarrierPolicy:
        """A policy between two groups, each named by id or by name. Two groups have at
        most one policy: a second one would either repeat or contradict the first."""
        if policy_type not in POLICY_TYPES:
            raise Invalid("policy_type", "must be BLOCK or ALLOW")
        if len(groups) != 2:
            raise Invalid("groups", "must name exactly two groups")
        now = self.clock.now()
        policy_id = self.deps.ids.object_id(now)
        async with self.change(actor, "barrier.policy.created", policy_id) as tx:
            await tenant_store.lock(tx, actor.tenant_id)
            found = await store.find_groups(tx, actor.tenant_id, groups)
            for ref in groups:
                if ref not in found:
                    raise NotFound("group", ref, f"group {ref} not found")
            ids = tuple(sorted({found[ref].id for ref in groups}))
            if len(ids) != 2:
                raise Invalid("groups", "must name two different groups")
            for existing in await store.policies(tx, actor.tenant_id):
                if set(existing.groups) == set(ids):
                    pair = f"between {ids[0]} and {ids[1]}"
                    raise AlreadyExists("policy", pair, f"a policy {pair} already exists")
            await store.insert_policy(
                tx, actor.tenant_id, BarrierPolicy(policy_id, policy_type, active, 0, ids, now, now)
            )
            for group_id in ids:
                await store.touch_group(tx, group_id, now)
            return next(p for p in await store.policies(tx, actor.tenant_id) if p.id == policy_id)
