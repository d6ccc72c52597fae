"""People: accounts, passwords, profile properties, lockout and vCards."""

from __future__ import annotations

from dataclasses import dataclass

from townhall.domain import names, roles
from townhall.domain.errors import AlreadyExists, Conflict, Invalid, NotFound
from townhall.domain.models import Tenant, User
from townhall.domain.queries import UserFilter
from townhall.services.base import Actor, Service
from townhall.store import bookings as booking_store
from townhall.store import groups as group_store
from townhall.store import sessions as session_store
from townhall.store import tokens as token_store
from townhall.store import users as store
from townhall.store.database import Tx, UniqueViolation
from townhall.store.users import Login

MAX_PAGE = 100_000


@dataclass(frozen=True, slots=True)
class UserChanges:
    """A partial update: None leaves a field as it is."""

    new_username: str | None = None
    password: str | None = None
    name: str | None = None
    email: str | None = None
    properties: dict[str, str | None] | None = None


class UserService(Service):
    async def list(
        self, actor: Actor, where: UserFilter, offset: int = 0, limit: int | None = None
    ) -> tuple[list[User], int]:
        if offset < 0:
            raise Invalid("start", "start must not be negative")
        if limit is not None and not 0 <= limit <= MAX_PAGE:
            raise Invalid("limit", f"limit must be between 0 and {MAX_PAGE}")
        async with self.db.read() as tx:
            found = await store.search(tx, actor.tenant_id, where, offset, limit)
            total = (
                len(found) + offset
                if limit is None
                else await store.count(tx, actor.tenant_id, where)
            )
        return found, total

    async def get(self, actor: Actor, username: str) -> User:
        async with self.db.read() as tx:
            user = await store.find(tx, actor.tenant_id, names.node(username, "username"))
        if user is None:
            raise NotFound("user", username)
        return user

    async def exists(self, actor: Actor, username: str) -> bool:
        async with self.db.read() as tx:
            return await store.find_id(tx, actor.tenant_id, username.strip().lower()) is not None

    async def create(
        self,
        actor: Actor,
        username: str,
        password: str | None,
        name: str | None = None,
        email: str | None = None,
        properties: dict[str, str | None] | None = None,
        roles_granted: tuple[str, ...] = (),
    ) -> User:
        """`password` None makes an account that cannot log in with a password (e.g. a bot
        that signs in with a key)."""
        username = names.node(username, "username")
        if password is not None and not password:
            raise Invalid("password", "password must not be empty")
        password_hash = await self.deps.passwords.hash(password) if password else None
        now = self.clock.now()
        async with self.change(actor, "user.created", username) as tx:
            try:
                user_id = await store.insert_user(
                    tx, actor.tenant_id, username, name or "", email or None, now
                )
            except UniqueViolation:
                raise AlreadyExists("user", username) from None
            if password_hash:
                await store.set_password_hash(tx, user_id, password_hash, now)
            if properties:
                await store.replace_properties(tx, user_id, properties)
            for role in roles_granted:
                await store.grant_role(tx, user_id, role)
            await group_store.adopt(tx, actor.tenant_id, user_id, actor.jid(username))
        return await self.get(actor, username)

    async def update(self, actor: Actor, username: str, changes: UserChanges) -> None:
        """Update in place; a different `new_username` renames the account.

        A rename keeps the account's id, so group memberships, roster, room
        affiliations and every other dialect's view follow the new name.
        """
        username = names.node(username, "username")
        new_name = names.node(changes.new_username, "username") if changes.new_username else None
        password_hash = (
            await self.deps.passwords.hash(changes.password) if changes.password else None
        )
        subject = f"{username} -> {new_name}" if new_name and new_name != username else username
        async with self.change(actor, "user.updated", subject) as tx:
            user_id = await self._require(tx, actor, username)
            values: dict[str, object] = {}
            if new_name and new_name != username:
                values["username"] = new_name
            if changes.name is not None:
                values["name"] = changes.name
            if changes.email is not None:
                values["email"] = changes.email or None
            try:
                await store.update_user(tx, user_id, self.clock.now(), **values)
            except UniqueViolation:
                raise AlreadyExists("user", new_name or username) from None
            if password_hash:
                await store.set_password_hash(tx, user_id, password_hash, self.clock.now())
            if changes.properties is not None:
                await store.replace_properties(tx, user_id, changes.properties)
            if new_name and new_name != username:
                await session_store.close_for_user(tx, user_id)
                await group_store.adopt(tx, actor.tenant_id, user_id, actor.jid(new_name))

    async def delete(self, actor: Actor, username: str, with_bookings: bool = False) -> None:
        """Bookings the user organised outlive the account unless `with_bookings`."""
        username = names.node(username, "username")
        async with self.change(actor, "user.deleted", username) as tx:
            user_id = await self._require(tx, actor, username)
            await self._keep_an_admin(tx, actor, user_id, "username")
            if with_bookings:
                await booking_store.delete_organised_by(tx, user_id)
            await store.delete_user(tx, user_id)

    async def set_locked(self, actor: Actor, username: str, locked: bool) -> None:
        """Lock (and disconnect) or unlock an account. Repeating either is harmless."""
        username = names.node(username, "username")
        action = "user.locked" if locked else "user.unlocked"
        async with self.change(actor, action, username) as tx:
            user_id = await self._require(tx, actor, username)
            if locked:
                await self._keep_an_admin(tx, actor, user_id, "username")
                await session_store.close_for_user(tx, user_id)
                await token_store.revoke_all(tx, user_id, self.clock.now())
            await store.update_user(tx, user_id, self.clock.now(), locked=locked)

    async def authenticate(self, tenant: Tenant, username: str, password: str) -> Login | None:
        """The account if `password` is right and the account is not locked."""
        try:
            username = names.node(username, "username")
        except Invalid:
            return None
        async with self.db.read() as tx:
            found = await store.login(tx, tenant.id, username)
        if found is None or found.locked or not found.password_hash:
            return None
        if not await self.deps.passwords.verify(found.password_hash, password):
            return None
        return found

    async def get_vcard(self, actor: Actor, username: str) -> str | None:
        async with self.db.read() as tx:
            return await store.get_vcard(
                tx, actor.tenant_id, names.local_part(username, actor.tenant.domain)
            )

    async def set_vcard(self, actor: Actor, username: str, vcard: str | None) -> None:
        username = names.node(names.local_part(username, actor.tenant.domain), "username")
        action = "user.vcard.updated" if vcard is not None else "user.vcard.deleted"
        async with self.change(actor, action, username) as tx:
            user_id = await self._require(tx, actor, username)
            await store.update_user(tx, user_id, self.clock.now(), vcard=vcard)

    async def _require(self, tx: Tx, actor: Actor, username: str) -> int:
        user_id = await store.find_id(tx, actor.tenant_id, username)
        if user_id is None:
            raise NotFound("user", username)
        return user_id

    async def _keep_an_admin(self, tx: Tx, actor: Actor, user_id: int, field: str) -> None:
        """Refuse to lock or delete the tenant's last usable administrator."""
        found = await store.login_by_id(tx, user_id)
        if found is None or roles.SERVER_ADMIN not in found.roles or found.locked:
            return
        if await store.count_with_role(tx, actor.tenant_id, roles.SERVER_ADMIN) <= 1:
            raise Conflict("user", found.username, "cannot lock out or delete the last admin")
