"""People as a directory knows them: profile attributes, account type, roles and keys.

This is the same account the Openfire API manages by username; here it is addressed by
its numeric id. Enabling and disabling is the account's lock (see UserService).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from townhall.domain import names, roles
from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.models import ACCOUNT_TYPES, PROFILE_FIELDS, Person
from townhall.services.base import Actor, Deps, Service
from townhall.services.tokens import KEY_KINDS, parse_public_key
from townhall.services.users import UserService
from townhall.store import groups as group_store
from townhall.store import profiles as store
from townhall.store import tokens as token_store
from townhall.store import users as user_store
from townhall.store.database import Tx, UniqueViolation

MAX_LOOKUP = 100
MAX_PAGE = 1000
Key = tuple[str | None, datetime | None]  # (PEM or None to remove, expiry)


@dataclass(frozen=True, slots=True)
class PersonChanges:
    """Fields to set; None leaves a field alone (`profile` lists only what changes)."""

    username: str | None = None
    email: str | None = None
    name: str | None = None
    profile: dict[str, str | None] = field(default_factory=dict)
    account_type: str | None = None
    roles: frozenset[str] | None = None
    keys: dict[str, Key] = field(default_factory=dict)


class ProfileService(Service):
    def __init__(self, deps: Deps, users: UserService) -> None:
        super().__init__(deps)
        self._users = users

    async def get(self, actor: Actor, user_id: int) -> Person:
        async with self.db.read() as tx:
            found = await store.by_ids(tx, actor.tenant_id, [user_id])
        if not found:
            raise NotFound("user", str(user_id))
        return found[0]

    async def find(
        self,
        actor: Actor,
        ids: Sequence[int] = (),
        emails: Sequence[str] = (),
        usernames: Sequence[str] = (),
    ) -> list[Person]:
        """People matching any of the ids, e-mail addresses or usernames given."""
        if len(ids) + len(emails) + len(usernames) > MAX_LOOKUP:
            raise Invalid("uid", f"at most {MAX_LOOKUP} users can be looked up at once")
        found: dict[int, Person] = {}
        async with self.db.read() as tx:
            for batch in (
                await store.by_ids(tx, actor.tenant_id, ids) if ids else [],
                await store.by_emails(tx, actor.tenant_id, emails) if emails else [],
                await store.by_usernames(tx, actor.tenant_id, [u.lower() for u in usernames])
                if usernames
                else [],
            ):
                found.update((p.user.id, p) for p in batch)
        return list(found.values())

    async def page(self, actor: Actor, skip: int, limit: int) -> list[Person]:
        if skip < 0:
            raise Invalid("skip", "skip must not be negative")
        if not 0 < limit <= MAX_PAGE:
            raise Invalid("limit", f"limit must be between 1 and {MAX_PAGE}")
        async with self.db.read() as tx:
            return await store.page(tx, actor.tenant_id, skip, limit)

    async def ids(self, actor: Actor) -> list[int]:
        async with self.db.read() as tx:
            return await store.all_ids(tx, actor.tenant_id)

    async def create(self, actor: Actor, wanted: PersonChanges, password: str | None) -> Person:
        username = names.node(wanted.username or "", "userName")
        if not wanted.email:
            raise Invalid("emailAddress", "emailAddress is required")
        address = names.email(wanted.email, "emailAddress")
        profile, account_type, granted, keys = _checked(wanted)
        password_hash = await self.deps.passwords.hash(password) if password else None
        now = self.clock.now()
        async with self.change(actor, "user.created", username) as tx:
            try:
                user_id = await user_store.insert_user(
                    tx, actor.tenant_id, username, wanted.name or "", address, now
                )
            except UniqueViolation:
                raise AlreadyExists("user", username) from None
            await self._write(tx, user_id, profile, account_type, granted, keys)
            if password_hash:
                await user_store.set_password_hash(tx, user_id, password_hash, now)
            await group_store.adopt(tx, actor.tenant_id, user_id, actor.jid(username))
        return await self.get(actor, user_id)

    async def update(self, actor: Actor, user_id: int, changes: PersonChanges) -> Person:
        profile, account_type, granted, keys = _checked(changes)
        new_name = names.node(changes.username, "userName") if changes.username else None
        address = names.email(changes.email, "emailAddress") if changes.email else None
        async with self.change(actor, "user.updated", str(user_id)) as tx:
            current = await store.by_ids(tx, actor.tenant_id, [user_id])
            if not current:
                raise NotFound("user", str(user_id))
            values: dict[str, object] = {}
            if new_name and new_name != current[0].user.username:
                values["username"] = new_name
            if changes.email is not None:
                values["email"] = address
            if changes.name is not None:
                values["name"] = changes.name
            try:
                await user_store.update_user(tx, user_id, self.clock.now(), **values)
            except UniqueViolation:
                raise AlreadyExists("user", new_name or "") from None
            if new_name and "username" in values:
                await group_store.adopt(tx, actor.tenant_id, user_id, actor.jid(new_name))
            await self._write(tx, user_id, profile, account_type, granted, keys)
        return await self.get(actor, user_id)

    async def set_enabled(self, actor: Actor, user_id: int, enabled: bool) -> None:
        person = await self.get(actor, user_id)
        await self._users.set_locked(actor, person.user.username, not enabled)

    async def _write(
        self,
        tx: Tx,
        user_id: int,
        profile: dict[str, str | None],
        account_type: str | None,
        granted: frozenset[str] | None,
        keys: dict[str, Key],
    ) -> None:
        values: dict[str, object] = dict(profile)
        if account_type:
            values["account_type"] = account_type
        await store.set_profile(tx, user_id, values)
        if granted is not None:
            await store.replace_roles(tx, user_id, granted, frozenset({roles.SERVER_ADMIN}))
        for kind, (pem, expires) in keys.items():
            await token_store.set_key(tx, user_id, kind, pem, expires)


def _checked(
    wanted: PersonChanges,
) -> tuple[dict[str, str | None], str | None, frozenset[str] | None, dict[str, Key]]:
    """Everything validated before anything is written, so a bad field changes nothing."""
    unknown = set(wanted.profile) - set(PROFILE_FIELDS)
    if unknown:
        raise Invalid(sorted(unknown)[0], "unknown profile attribute")
    if wanted.account_type is not None and wanted.account_type not in ACCOUNT_TYPES:
        raise Invalid("accountType", f"accountType must be one of {', '.join(ACCOUNT_TYPES)}")
    if wanted.roles is not None:
        bad = sorted(wanted.roles - roles.SYMPHONY_ROLES)
        if bad:
            raise Invalid("roles", f"unknown role {bad[0]}")
    keys: dict[str, Key] = {}
    for kind, (pem, expires) in wanted.keys.items():
        if kind not in KEY_KINDS:
            raise Invalid("key", f"unknown key kind {kind}")
        keys[kind] = (parse_public_key(pem, f"{kind}Key") if pem else None, expires)
    return dict(wanted.profile), wanted.account_type, wanted.roles, keys
