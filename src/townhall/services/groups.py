"""Groups: named sets of people with members and admins, optionally shared rosters.

A member is kept as the local account when the name is one (so a rename carries the
membership along) or as a bare JID otherwise: a foreign address, or a local name with
no account yet (the account, once created, is that member). Admins are members too.

Each change is one unit of work that locks the group rows it changes and records
itself only when something changed: joining a group one is in, leaving one one is not
in, or writing a group as it is records nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from townhall.domain import names
from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.models import Group
from townhall.domain.principal import Principal
from townhall.domain.queries import MAX_PAGE
from townhall.services.base import Service
from townhall.store import groups as store
from townhall.store import people as people_store
from townhall.store.database import Tx, UniqueViolation
from townhall.store.groups import Member

MAX_GROUP_NAME = 200
MAX_JID = 3071


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A group as a client writes it whole: members and admins as JIDs or usernames."""

    name: str
    description: str | None = None
    shared: bool = False
    admins: Sequence[str] = ()
    members: Sequence[str] = ()


class GroupService(Service):
    async def list_groups(
        self, actor: Principal, offset: int = 0, limit: int | None = None
    ) -> tuple[list[Group], int]:
        """Groups by name (without members), and how many there are in all."""
        if offset < 0:
            raise Invalid("offset", "must not be negative")
        if limit is not None and not 0 <= limit <= MAX_PAGE:
            raise Invalid("limit", f"must be between 0 and {MAX_PAGE}")
        async with self.db.read() as tx:
            found = await store.list_groups(tx, actor.tenant_id, offset, limit)
            paged = offset or limit is not None
            total = await store.count(tx, actor.tenant_id) if paged else len(found)
        return found, total

    async def with_members(self, actor: Principal) -> list[Group]:
        """Every group by name with its admins and members (RMP's server groups)."""
        async with self.db.read() as tx:
            return await store.with_members(tx, actor.tenant_id, actor.tenant.domain)

    async def list_names(self, actor: Principal) -> list[str]:
        async with self.db.read() as tx:
            return await store.names(tx, actor.tenant_id)

    async def get(self, actor: Principal, name: str) -> Group:
        async with self.db.read() as tx:
            group = await store.find(tx, actor.tenant_id, name, actor.tenant.domain)
        if group is None:
            raise NotFound("group", name)
        return group

    async def exists(self, actor: Principal, name: str) -> bool:
        async with self.db.read() as tx:
            return name in await store.ids_by_name(tx, actor.tenant_id, [name])

    async def create(self, actor: Principal, spec: GroupSpec) -> None:
        """Names are case-sensitive and kept exactly as given."""
        _check_name(spec.name)
        async with self.change(actor, "group.created", spec.name) as work:
            try:  # a duplicate is reported before a bad member, as by the plugin
                group_id = await store.insert_group(
                    work, actor.tenant_id, spec.name, spec.description, spec.shared
                )
            except UniqueViolation:
                raise AlreadyExists("group", spec.name) from None
            await self._seat(work, actor, group_id, spec)

    async def update(self, actor: Principal, spec: GroupSpec) -> None:
        """Overwrite description and flag, and make the member and admin sets exactly these."""
        async with self.unit(actor) as work:
            group = await store.lock(work, actor.tenant_id, spec.name)
            if group is None:
                raise NotFound("group", spec.name)
            changed = (group.description, group.shared) != (spec.description, spec.shared)
            if changed:
                await store.update_group(work, group.id, spec.description, spec.shared)
            if await self._seat(work, actor, group.id, spec) or changed:
                work.record("group.updated", spec.name)

    async def _seat(self, tx: Tx, actor: Principal, group_id: int, spec: GroupSpec) -> bool:
        """Make the group's admins and members exactly the spec's; True if that changed."""
        admin_rows = await self._members(tx, actor, spec.admins, "admins")
        member_rows = await self._members(tx, actor, spec.members, "members")
        return await store.replace_members(tx, group_id, admin_rows, member_rows)

    async def delete(self, actor: Principal, name: str) -> None:
        async with self.change(actor, "group.deleted", name) as work:
            group = await store.lock(work, actor.tenant_id, name)
            if group is None:
                raise NotFound("group", name)
            await store.delete_group(work, group.id)

    # -- a user's groups -------------------------------------------------------------------

    async def user_groups(self, actor: Principal, username: str) -> list[str]:
        """The groups of a local account (`name` or `name@<tenant domain>`)."""
        local = names.local_part(username, actor.tenant.domain)
        if "@" in local:
            raise Invalid("username", "is not a local user", "non_local_user", username)
        async with self.db.read() as tx:
            user_id = await people_store.find_id(tx, actor.tenant_id, local)
            if user_id is None:
                raise NotFound("user", username)
            member = Member(user_id=user_id, alias=actor.jid(local))
            return await store.group_names_of(tx, member)

    async def add_user_to_groups(
        self, actor: Principal, username: str, group_names: Iterable[str]
    ) -> None:
        """Join the groups, creating missing ones. `username` may be any JID and need not
        have an account yet."""
        async with self.unit(actor) as work:
            if await self.join(work, actor, username, group_names):
                work.record("group.members.added", username)

    async def join(
        self, tx: Tx, actor: Principal, username: str, group_names: Iterable[str]
    ) -> bool:
        """Within the caller's transaction: `username` joins the groups (missing ones are
        created), so a person's creation and its groups commit or fail together. True if
        a group was created or joined."""
        wanted = _checked_names(group_names)
        member = await self._member(tx, actor, username, "username")
        ensured = [await store.ensure_group(tx, actor.tenant_id, g) for g in wanted]
        joined = await store.add_member(tx, [group_id for group_id, _ in ensured], member)
        return joined > 0 or any(created for _, created in ensured)

    async def remove_user_from_groups(
        self, actor: Principal, username: str, group_names: Iterable[str]
    ) -> None:
        """Leave the groups (as member and as admin); an unknown group refuses the whole
        request."""
        wanted = list(group_names)
        async with self.unit(actor) as work:
            member = await self._member(work, actor, username, "username")
            ids = await self._existing(work, actor, wanted)
            if await store.remove_member(work, ids.values(), member):
                work.record("group.members.removed", username)

    async def place(
        self, tx: Tx, actor: Principal, username: str, group_names: Iterable[str]
    ) -> bool:
        """Within the caller's transaction: make `username`'s groups exactly these,
        creating missing ones. True if that changed anything."""
        wanted = _checked_names(group_names)
        member = await self._member(tx, actor, username, "username")
        ensured = {g: await store.ensure_group(tx, actor.tenant_id, g) for g in wanted}
        current = await store.group_names_of(tx, member)
        leave = await store.ids_by_name(tx, actor.tenant_id, set(current) - set(wanted))
        left = await store.remove_member(tx, leave.values(), member)
        joined = await store.add_member(tx, [group_id for group_id, _ in ensured.values()], member)
        return left + joined > 0 or any(created for _, created in ensured.values())

    # -- helpers ---------------------------------------------------------------------------

    async def _existing(self, tx: Tx, actor: Principal, wanted: list[str]) -> dict[str, int]:
        ids = await store.ids_by_name(tx, actor.tenant_id, wanted)
        for group in wanted:
            if group not in ids:
                raise NotFound("group", group)
        return ids

    async def _members(
        self, tx: Tx, actor: Principal, entries: Sequence[str], field: str
    ) -> list[Member]:
        return [await self._member(tx, actor, entry, field) for entry in entries]

    async def _member(self, tx: Tx, actor: Principal, entry: str, field: str) -> Member:
        """A JID if `entry` has an `@`, else a local username; a local name is stored as
        its account when there is one."""
        local, domain = _parse_member(entry, actor.tenant.domain, field)
        jid = f"{local}@{domain}"
        if domain == actor.tenant.domain:
            user_id = await people_store.find_id(tx, actor.tenant_id, local)
            if user_id is not None:
                return Member(user_id=user_id, alias=jid)
        return Member(jid=jid)


def _parse_member(entry: str, local_domain: str, field: str) -> tuple[str, str]:
    value = entry.strip()
    wrong = Invalid(field, "holds a value that is not a JID", "jid", entry)
    if "@" in value:
        node, domain, _ = names.split_jid(value)
    else:
        node, domain = value, local_domain
    if not node or not domain or any(c.isspace() or c in "@/" for c in domain):
        raise wrong
    try:
        node = names.node(node, field)
    except Invalid:
        raise wrong from None
    if len(node) + len(domain) + 1 > MAX_JID:
        raise Invalid(field, f"holds a JID longer than {MAX_JID} characters")
    return node, domain


def _check_name(name: str) -> None:
    if not name.strip():
        raise Invalid("group_name", "must not be empty")
    if len(name) > MAX_GROUP_NAME:
        raise Invalid("group_name", f"is longer than {MAX_GROUP_NAME} characters")


def _checked_names(group_names: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(group_names))
    for name in wanted:
        _check_name(name)
    return wanted
