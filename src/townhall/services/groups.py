"""Groups: named sets of people with members and admins, optionally shared rosters.

A member is kept as the local account when the name is one (so a rename carries the
membership along) or as a foreign JID otherwise. Admins are members too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from townhall.domain import names
from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.models import Group
from townhall.services.base import Actor, Service
from townhall.store import groups as store
from townhall.store import users as user_store
from townhall.store.database import Tx, UniqueViolation
from townhall.store.groups import Member

MAX_GROUP_NAME = 200


class GroupService(Service):
    async def list_groups(self, actor: Actor) -> list[Group]:
        async with self.db.read() as tx:
            return await store.list_groups(tx, actor.tenant_id)

    async def list_names(self, actor: Actor) -> list[str]:
        async with self.db.read() as tx:
            return await store.names(tx, actor.tenant_id)

    async def get(self, actor: Actor, name: str) -> Group:
        async with self.db.read() as tx:
            group = await store.find(tx, actor.tenant_id, name, actor.tenant.domain)
        if group is None:
            raise NotFound("group", name)
        return group

    async def exists(self, actor: Actor, name: str) -> bool:
        async with self.db.read() as tx:
            return bool(await store.ids_by_name(tx, actor.tenant_id, [name]))

    async def member_jids(self, actor: Actor, name: str) -> list[str]:
        group = await self.get(actor, name)
        return [*group.admins, *(m for m in group.members if m not in group.admins)]

    async def create(
        self,
        actor: Actor,
        name: str,
        description: str | None,
        shared: bool,
        admins: Sequence[str],
        members: Sequence[str],
    ) -> None:
        name = _group_name(name)
        async with self.change(actor, "group.created", name) as tx:
            admin_rows = await self._members(tx, actor, admins, "admins")
            member_rows = await self._members(tx, actor, members, "members")
            try:
                group_id = await store.insert_group(tx, actor.tenant_id, name, description, shared)
            except UniqueViolation:
                raise AlreadyExists("group", name) from None
            await store.replace_members(tx, group_id, admin_rows, member_rows)

    async def update(
        self,
        actor: Actor,
        name: str,
        description: str | None,
        shared: bool,
        admins: Sequence[str],
        members: Sequence[str],
    ) -> None:
        """Overwrite description and flag, and make the member and admin sets exactly these."""
        async with self.change(actor, "group.updated", name) as tx:
            group_id = await self._require(tx, actor, name)
            admin_rows = await self._members(tx, actor, admins, "admins")
            member_rows = await self._members(tx, actor, members, "members")
            await store.update_group(tx, group_id, description, shared)
            await store.replace_members(tx, group_id, admin_rows, member_rows)

    async def delete(self, actor: Actor, name: str) -> None:
        async with self.change(actor, "group.deleted", name) as tx:
            await store.delete_group(tx, await self._require(tx, actor, name))

    # -- a user's groups -------------------------------------------------------------------

    async def user_groups(self, actor: Actor, username: str) -> list[str]:
        async with self.db.read() as tx:
            user_id = await self._user(tx, actor, username)
            return await store.user_group_names(tx, user_id)

    async def add_user_to_groups(
        self, actor: Actor, username: str, group_names: Iterable[str]
    ) -> None:
        """Join the groups, creating any that do not exist yet (empty description)."""
        wanted = [_group_name(g) for g in group_names]
        async with self.change(actor, "group.members.added", username) as tx:
            user_id = await self._user(tx, actor, username)
            ids = await self._ensure_groups(tx, actor, wanted)
            await store.add_user(tx, ids.values(), user_id)

    async def remove_user_from_groups(
        self, actor: Actor, username: str, group_names: Iterable[str]
    ) -> None:
        """Leave the groups; an unknown group refuses the whole request."""
        wanted = list(group_names)
        async with self.change(actor, "group.members.removed", username) as tx:
            user_id = await self._user(tx, actor, username)
            ids = await store.ids_by_name(tx, actor.tenant_id, wanted)
            for group in wanted:
                if group not in ids:
                    raise NotFound("group", group)
            await store.remove_user(tx, ids.values(), user_id)

    async def set_user_groups(
        self, actor: Actor, username: str, group_names: Iterable[str]
    ) -> None:
        """Make the user's groups exactly these, creating missing ones."""
        wanted = [_group_name(g) for g in group_names]
        async with self.change(actor, "group.members.set", username) as tx:
            user_id = await self._user(tx, actor, username)
            ids = await self._ensure_groups(tx, actor, wanted)
            current = await store.user_group_names(tx, user_id)
            leave = await store.ids_by_name(tx, actor.tenant_id, set(current) - set(wanted))
            await store.remove_user(tx, leave.values(), user_id)
            await store.add_user(tx, ids.values(), user_id)

    # -- helpers ---------------------------------------------------------------------------

    async def _ensure_groups(self, tx: Tx, actor: Actor, wanted: list[str]) -> dict[str, int]:
        ids = await store.ids_by_name(tx, actor.tenant_id, wanted)
        for group in wanted:
            if group not in ids:
                ids[group] = await store.insert_group(tx, actor.tenant_id, group, None, False)
        return ids

    async def _require(self, tx: Tx, actor: Actor, name: str) -> int:
        found = await store.ids_by_name(tx, actor.tenant_id, [name])
        if name not in found:
            raise NotFound("group", name)
        return found[name]

    async def _user(self, tx: Tx, actor: Actor, username: str) -> int:
        local = names.local_part(username, actor.tenant.domain)
        if "@" in local:  # a JID of another domain has no groups here
            raise NotFound("user", username)
        user_id = await user_store.find_id(tx, actor.tenant_id, local)
        if user_id is None:
            raise NotFound("user", username)
        return user_id

    async def _members(
        self, tx: Tx, actor: Actor, entries: Sequence[str], field: str
    ) -> list[Member]:
        """Local accounts by id, foreign JIDs by bare address; unknown local names refused."""
        found: list[Member] = []
        for entry in entries:
            value = entry.strip()
            local, domain, _ = names.split_jid(value)
            if "@" in value and (domain != actor.tenant.domain or not local):
                if not local or not domain:
                    raise Invalid(field, f"Cannot parse a {field[:-1]} value as a JID: {entry}")
                found.append(Member(jid=f"{local}@{domain}"))
                continue
            username = local if "@" in value else value.lower()
            user_id = await user_store.find_id(tx, actor.tenant_id, username or "")
            if user_id is None:
                raise Invalid(field, f"There is no user named {entry!r}")
            found.append(Member(user_id=user_id))
        return found


def _group_name(name: str | None) -> str:
    value = (name or "").strip()
    if not value:
        raise Invalid("name", "group name must not be empty")
    if len(value) > MAX_GROUP_NAME:
        raise Invalid("name", f"group name is longer than {MAX_GROUP_NAME} characters")
    return value
