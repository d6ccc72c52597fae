"""People: accounts and profiles, whichever API made them.

Openfire addresses a person by username, Symphony by numeric id (its uid), RMP by
`username@<a person domain>`: all three reach the same account through this one
service, with one set of rules (domain/people.py). Each change is one unit of work that
reads the row it changes under a lock, so a refusal leaves nothing behind and two
concurrent changes never undo each other; a request that changes nothing records
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from townhall.domain import keys, names, roles
from townhall.domain import people as rules
from townhall.domain.errors import AlreadyExists, Conflict, Forbidden, Invalid, NotFound
from townhall.domain.keys import KeyChange
from townhall.domain.models import Person
from townhall.domain.principal import Principal
from townhall.domain.queries import MAX_PAGE, PersonFilter
from townhall.services import brands, limits
from townhall.services.base import Deps, Service, Work
from townhall.services.cached import cached
from townhall.services.domains import DomainService
from townhall.services.groups import GroupService
from townhall.store import address_books as address_store
from townhall.store import bookings as booking_store
from townhall.store import brands as brand_store
from townhall.store import calendars as calendar_store
from townhall.store import domains as domain_store
from townhall.store import groups as group_store
from townhall.store import people as store
from townhall.store import presence as presence_store
from townhall.store import tokens as token_store
from townhall.store.database import Tx, UniqueViolation

MAX_LOOKUP = 100
MAX_ACROSS = 1000
"""People one search across brands answers at most."""
Who = int | str
"""A person by id (int) or by username (str)."""


@dataclass(frozen=True, slots=True)
class NewPerson:
    """Everything a person may start with. `password` None makes an account that cannot
    sign in with a password (a bot that signs in with a key)."""

    username: str
    password: str | None = None
    name: str = ""
    email: str | None = None
    properties: Mapping[str, str | None] = field(default_factory=dict)
    profile: Mapping[str, str | None] = field(default_factory=dict)
    account_type: str | None = None
    roles: frozenset[str] = frozenset()
    keys: Mapping[str, KeyChange] = field(default_factory=dict)
    groups: Sequence[str] = ()
    admin_of: Sequence[str] = ()
    home_domain: str | None = None
    """The person domain whose admins may act on the person (None: the tenant's
    primary domain)."""
    profile_lists: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    calendar: bool = False
    """Make the person's personal calendar now (RMP's `createCalendar`); otherwise it
    is made on first use (a booking, a calendar read), as for people made elsewhere."""


@dataclass(frozen=True, slots=True)
class PersonChanges:
    """A partial update: None (or empty) leaves a field as it is.

    `properties` replaces them all; `property_updates` sets some (None removes one).
    `roles` replaces the directory roles (Townhall's server admin role stays);
    `groups` makes the person's groups exactly these; `admin_of` maps a domain to
    whether the person administers it. A new `password` ends the person's other
    sessions and tokens and says whether the person must change it again at once
    (`require_password_change`)."""

    username: str | None = None
    password: str | None = None
    name: str | None = None
    email: str | None = None
    properties: Mapping[str, str | None] | None = None
    property_updates: Mapping[str, str | None] = field(default_factory=dict)
    profile: Mapping[str, str | None] = field(default_factory=dict)
    account_type: str | None = None
    roles: frozenset[str] | None = None
    keys: Mapping[str, KeyChange] = field(default_factory=dict)
    groups: Sequence[str] | None = None
    admin_of: Mapping[str, bool] = field(default_factory=dict)
    profile_lists: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    """Replaces the person's metadata; None leaves it."""
    require_password_change: bool = False


def _lists(values: Mapping[str, tuple[str, ...] | None]) -> dict[str, object]:
    """List attributes as their JSON columns hold them."""
    return {k: list(v) if v is not None else None for k, v in values.items()}


class PeopleService(Service):
    def __init__(
        self,
        deps: Deps,
        groups: GroupService,
        domains: DomainService,
        password_min_length: int = rules.MIN_PASSWORD,
    ) -> None:
        super().__init__(deps)
        self._groups = groups
        self._domains = domains
        self._min_password = password_min_length

    # -- look-up -----------------------------------------------------------------------

    @cached("user", lambda actor, who: who if isinstance(who, str) else f"#{who}", Person)
    async def get(self, actor: Principal, who: Who) -> Person:
        async with self.db.read() as tx:
            return await self._find(tx, actor, who)

    @cached("user", lambda actor, username: f"card:{username}", store.Listed)
    async def card(self, actor: Principal, username: str) -> store.Listed:
        """What `get` answers about a person named by username, as lists print
        people (username, name, e-mail, properties): the read model of a single-user
        read. (Its key cannot be a username's: a node part holds no `:`.)"""
        async with self.db.read() as tx:
            found = await store.card(tx, actor.tenant_id, names.node(username, "username"))
        if found is None:
            raise NotFound("user", username)
        return found

    async def exists(self, actor: Principal, username: str) -> bool:
        async with self.db.read() as tx:
            return await store.find_id(tx, actor.tenant_id, username.strip().lower()) is not None

    async def find(
        self,
        actor: Principal,
        ids: Sequence[int] = (),
        emails: Sequence[str] = (),
        usernames: Sequence[str] = (),
    ) -> list[Person]:
        """People matching any of the ids, e-mail addresses or usernames given."""
        if len(ids) + len(emails) + len(usernames) > MAX_LOOKUP:
            raise Invalid("ids", f"may name at most {MAX_LOOKUP} people at once")
        found: dict[int, Person] = {}
        async with self.db.read() as tx:
            for batch in (
                await store.by_ids(tx, actor.tenant_id, ids) if ids else [],
                await store.by_emails(tx, actor.tenant_id, emails) if emails else [],
                await store.by_usernames(tx, actor.tenant_id, [u.lower() for u in usernames])
                if usernames
                else [],
            ):
                found.update((p.id, p) for p in batch)
        return list(found.values())

    async def search(
        self,
        actor: Principal,
        where: PersonFilter,
        offset: int = 0,
        limit: int | None = None,
        by_id: bool = False,
    ) -> tuple[list[Person], int]:
        """A page of people by username (or by id) and how many match in all."""
        if offset < 0:
            raise Invalid("offset", "must not be negative")
        if limit is not None and not 0 <= limit <= MAX_PAGE:
            raise Invalid("limit", f"must be between 0 and {MAX_PAGE}")
        async with self.db.read() as tx:
            found = await store.search(tx, actor.tenant_id, where, offset, limit, by_id)
            total = (
                len(found) + offset
                if limit is None or len(found) < limit
                else await store.count(tx, actor.tenant_id, where)
            )
        return found, total

    async def listing(
        self, actor: Principal, where: PersonFilter, offset: int = 0, limit: int | None = None
    ) -> tuple[list[store.Listed], int]:
        """What `search` answers, as lists print people (username, name, e-mail,
        properties) rather than whole `Person`s: the read model of long lists."""
        if offset < 0:
            raise Invalid("offset", "must not be negative")
        if limit is not None and not 0 <= limit <= MAX_PAGE:
            raise Invalid("limit", f"must be between 0 and {MAX_PAGE}")
        async with self.db.read() as tx:
            found = await store.listing(tx, actor.tenant_id, where, offset, limit)
            total = (
                len(found) + offset
                if limit is None or len(found) < limit
                else await store.count(tx, actor.tenant_id, where)
            )
        return found, total

    async def across_brands(
        self, actor: Principal, pattern: str, fields: Sequence[str] | None = None
    ) -> list[Person]:
        """People of every tenant the caller's brands reach (a reseller admin's, see
        services/brands.py `reached`) with one of `fields` matching `pattern`, where `*`
        stands for any run of characters and case does not count; list fields match if
        an element does. `fields` are names of `store.people.SEARCHABLE` (None: all but
        the e-mail). At most MAX_ACROSS people, by tenant and username."""
        pattern = pattern.strip()
        if not pattern:
            raise Invalid("search", "must not be empty")
        chosen = tuple(fields) if fields is not None else _ANY_FIELD
        unknown = [f for f in chosen if f not in store.SEARCHABLE]
        if unknown or not chosen:
            raise Invalid("field", f"must be one of {', '.join(store.SEARCHABLE)}")
        check = _wildcard(pattern)
        async with self.db.read() as tx:
            tenant_ids = await brand_store.tenants_of(tx, await brands.reached(tx, actor))
            # List fields' candidates may not all match: read more than will be shown.
            limit = MAX_ACROSS * 4 if "custom_ids" in chosen else MAX_ACROSS
            found = await store.matching(tx, tenant_ids, pattern, chosen, limit)
        return [p for p in found if _matches(p, chosen, check)][:MAX_ACROSS]

    async def addressed_in(self, actor: Principal, domain: str) -> list[Person]:
        """People of every tenant the caller's brands reach with an address in the
        domain: their e-mail, or an alias (a forward) that delivers to it. At most
        MAX_ACROSS, by tenant and username."""
        domain = names.domain(domain, "domain")
        async with self.db.read() as tx:
            tenant_ids = await brand_store.tenants_of(tx, await brands.reached(tx, actor))
            return await store.addressed_in(tx, tenant_ids, domain, MAX_ACROSS)

    async def ids(self, actor: Principal) -> list[int]:
        async with self.db.read() as tx:
            return await store.all_ids(tx, actor.tenant_id)

    # -- changes -----------------------------------------------------------------------

    async def create(self, actor: Principal, new: NewPerson) -> Person:
        username = rules.username(new.username)
        email = rules.email(new.email)
        profile = rules.profile(dict(new.profile))
        lists = rules.profile_lists(dict(new.profile_lists))
        metadata = rules.metadata(new.metadata)
        properties = rules.properties(dict(new.properties))
        account_type = rules.account_type(new.account_type)
        checked_keys = keys.key_changes(dict(new.keys))
        password = rules.password(new.password, self._min_password)
        rules.directory_roles(new.roles - {roles.SERVER_ADMIN})
        if roles.SERVER_ADMIN in new.roles and not actor.is_server_admin:
            raise Forbidden("user", username, "only a server administrator may make one")
        password_hash = await self.deps.passwords.hash(password) if password else None
        now = self.clock.now()
        async with self.unit(actor) as work:
            home_id = await self._home_for(work, actor, username, new.home_domain)
            _may_grant(actor, username, new.admin_of)
            # The plan limit holds for every API that makes people: they all come here.
            await limits.hold(work, actor.tenant_id, "users")
            try:
                user_id = await store.insert_person(
                    work,
                    actor.tenant_id,
                    username,
                    rules.display_name(new.name),
                    email,
                    now,
                    home_id,
                )
            except UniqueViolation:
                raise AlreadyExists("user", username) from None
            columns: dict[str, object] = {**profile, **_lists(lists)}
            if metadata is not None:
                columns["metadata"] = metadata
            if account_type:
                columns["account_type"] = account_type
            if columns:
                await store.update_row(work, user_id, now, **columns)
            if password_hash:
                await store.set_password_hash(work, user_id, password_hash, now, fresh=True)
            if properties:
                await store.replace_properties(work, user_id, properties, fresh=True)
            if new.roles:
                await store.replace_roles(work, user_id, new.roles, frozenset())
            for kind, (pem, expires) in checked_keys.items():
                await token_store.set_key(work, user_id, kind, pem, expires)
            await group_store.adopt(work, actor.tenant_id, user_id, actor.jid(username))
            await address_store.adopt(work, actor.tenant_id, user_id)
            if new.groups:
                await self._groups.join(work, actor, username, new.groups)
            for domain in new.admin_of:
                await self._domains.grant_admin(work, actor, domain, user_id, True)
            if new.calendar:
                await calendar_store.personal_calendar(work, actor.tenant_id, user_id, now)
            # The mailbox service hears the address (the mail store may prepare it).
            work.record("user.created", username, {"mailbox": email} if email else None)
            return await self._find(work, actor, user_id)

    async def update(self, actor: Principal, who: Who, changes: PersonChanges) -> Person:
        """Change what `changes` names. A rename keeps the account's id, so memberships,
        rosters, rooms and every other API's view follow the new name; it ends the
        person's live connections, which were opened under the old name."""
        new_name = rules.username(changes.username) if changes.username else None
        email = rules.email(changes.email) if changes.email is not None else None
        display = rules.display_name(changes.name) if changes.name is not None else None
        profile = rules.profile(dict(changes.profile))
        lists = rules.profile_lists(dict(changes.profile_lists))
        metadata = rules.metadata(changes.metadata)
        account_type = rules.account_type(changes.account_type)
        granted = rules.directory_roles(changes.roles)
        checked_keys = keys.key_changes(dict(changes.keys))
        password = rules.password(changes.password or None, self._min_password)
        password_hash = await self.deps.passwords.hash(password) if password else None
        properties = rules.properties(dict(changes.properties or {}))
        updates = rules.properties(dict(changes.property_updates))
        now = self.clock.now()
        async with self.unit(actor) as work:
            old = await self._lock(work, actor, who)
            if not (actor.user_id == old.id and _only_password(changes)):
                await self._may_act(work, actor, old)
            _may_grant(actor, old.username, tuple(changes.admin_of))
            columns: dict[str, object] = {
                k: v for k, v in profile.items() if old.profile.get(k) != v
            }
            columns.update(
                _lists({k: v for k, v in lists.items() if old.profile_lists.get(k) != v})
            )
            if metadata is not None and metadata != old.metadata:
                columns["metadata"] = metadata
            if new_name and new_name != old.username:
                columns["username"] = new_name
            if changes.email is not None and email != old.email:
                columns["email"] = email
            if display is not None and display != old.name:
                columns["name"] = display
            if account_type and account_type != old.account_type:
                columns["account_type"] = account_type
            changed = bool(columns) or bool(password_hash) or bool(checked_keys)
            if columns:
                try:
                    await store.update_row(work, old.id, now, **columns)
                except UniqueViolation:
                    raise AlreadyExists("user", new_name or old.username) from None
            if password_hash:
                await store.set_password_hash(work, old.id, password_hash, now)
                await self._end_other_sessions(work, actor, old.id)
                flag = "true" if changes.require_password_change else None
                updates = {**updates, store.CHANGE_REQUIRED: flag}
            replacement = properties if changes.properties is not None else None
            wanted = _merged(old.properties, replacement, updates)
            if wanted != old.properties:
                await store.replace_properties(work, old.id, wanted)
                changed = True
            if granted is not None and granted != old.roles - {roles.SERVER_ADMIN}:
                await store.replace_roles(work, old.id, granted, frozenset({roles.SERVER_ADMIN}))
                changed = True
            for kind, (pem, expires) in checked_keys.items():
                await token_store.set_key(work, old.id, kind, pem, expires)
            username = str(columns.get("username", old.username))
            if "username" in columns:
                await presence_store.close_for_user(work, old.id)
                await group_store.adopt(work, actor.tenant_id, old.id, actor.jid(username))
            if "username" in columns or "email" in columns:
                await address_store.adopt(work, actor.tenant_id, old.id)
            if changes.groups is not None:
                changed |= await self._groups.place(work, actor, username, changes.groups)
            for domain, admin in changes.admin_of.items():
                changed |= await self._domains.grant_admin(work, actor, domain, old.id, admin)
            if changed:
                subject = f"{old.username} -> {username}" if "username" in columns else username
                moved = {"mailbox": email} if email and "email" in columns else None
                work.record("user.updated", subject, moved)
            return await self._find(work, actor, old.id)

    async def set_locked(self, actor: Principal, who: Who, locked: bool) -> None:
        """Lock (ending every live connection and session token at once) or unlock an
        account; asking for the state it is in changes nothing."""
        async with self.unit(actor) as work:
            person = await self._lock(work, actor, who)
            if person.locked == locked:
                return
            await self._may_act(work, actor, person)
            if locked:
                await self._keep_an_admin(work, actor, person)
                await presence_store.close_for_user(work, person.id)
                await token_store.revoke_all(work, person.id, self.clock.now())
            await store.update_row(work, person.id, self.clock.now(), locked=locked)
            work.record("user.locked" if locked else "user.unlocked", person.username)

    async def delete(self, actor: Principal, who: Who, with_bookings: bool = False) -> Person:
        """Bookings the person organised outlive the account unless `with_bookings`.
        Returns the person as they were, so the caller can show who went."""
        async with self.unit(actor) as work:
            person = await self._lock(work, actor, who)
            await self._may_act(work, actor, person)
            await self._keep_an_admin(work, actor, person)
            if with_bookings:
                await booking_store.delete_organised_by(work, person.id)
            await store.delete_row(work, person.id)
            # The mailbox service hears it and removes the person's mailbox, the file
            # service their files.
            mailbox = (person.email or "").strip().lower()
            gone: dict[str, object] = {"user_id": person.id}
            if mailbox:
                gone["mailbox"] = mailbox
            work.record("user.deleted", person.username, gone)
        return person

    async def get_vcard(self, actor: Principal, username: str) -> str | None:
        async with self.db.read() as tx:
            return await store.get_vcard(
                tx, actor.tenant_id, names.local_part(username, actor.tenant.domain)
            )

    async def set_vcard(self, actor: Principal, username: str, vcard: str | None) -> None:
        local = names.local_part(username, actor.tenant.domain)
        action = "user.vcard.updated" if vcard is not None else "user.vcard.deleted"
        async with self.change(actor, action, local) as work:
            person = await self._lock(work, actor, local)
            await store.update_row(work, person.id, self.clock.now(), vcard=vcard)

    # -- helpers -----------------------------------------------------------------------

    async def _find(self, tx: Tx, actor: Principal, who: Who) -> Person:
        if isinstance(who, int):
            found = await store.find_by_id(tx, actor.tenant_id, who)
            if found is None:
                raise NotFound("user", str(who))
            return found
        person = await store.find(tx, actor.tenant_id, names.node(who, "username"))
        if person is None:
            raise NotFound("user", who)
        return person

    async def _lock(self, work: Work, actor: Principal, who: Who) -> Person:
        """The person, locked against other writers until the unit of work ends."""
        user_id = who if isinstance(who, int) else await self._id_of(work, actor, who)
        person = await store.lock_row(work, actor.tenant_id, user_id) if user_id else None
        if person is None:
            raise NotFound("user", str(who))
        return person

    async def _id_of(self, tx: Tx, actor: Principal, username: str) -> int | None:
        return await store.find_id(tx, actor.tenant_id, names.node(username, "username"))

    async def _home_for(
        self, tx: Tx, actor: Principal, username: str, home: str | None
    ) -> int | None:
        """The id of a new person's home domain (None: the primary domain), which the
        actor must administer, unless it administers the whole tenant."""
        name = (home or actor.tenant.domain).lower()
        if not _tenant_wide(actor) and not actor.administers(name):
            raise Forbidden("user", username, f"Only an administrator of {name} may do this")
        if home is None or name == actor.tenant.domain:
            return None
        found = await domain_store.find(tx, actor.tenant_id, name)
        if found is None or found[1].kind == "resource-subdomain":
            raise NotFound("domain", name)
        return found[0]

    async def _may_act(self, tx: Tx, actor: Principal, person: Person) -> None:
        """Who may change, lock or delete a person. A server admin anyone; a server
        admin only by one. A tenant-wide directory admin (Symphony's user admins) anyone
        else. Anyone else, a domain admin, only people whose home domain it administers
        and whose own rights are strictly lower than its: whichever address or API named
        the person, the rule is about the person."""
        if actor.is_server_admin:
            return
        if roles.SERVER_ADMIN in person.roles:
            raise Forbidden(
                "user", person.username, "only a server administrator may change a server admin"
            )
        if _tenant_wide(actor):
            return
        home = await store.home_domain(tx, person.id) or actor.tenant.domain
        if not actor.administers(home):
            raise Forbidden("user", person.username, f"Only an administrator of {home} may do this")
        theirs = await domain_store.administered_by(tx, person.id)
        lower = all(_strictly_below(actor, domain) for domain in theirs)
        if person.roles & roles.USER_ADMINS or not lower:
            raise Forbidden("user", person.username, "an administrator with equal or higher rights")

    async def _end_other_sessions(self, work: Work, actor: Principal, user_id: int) -> None:
        """After a password change only the session that made it (if it is the
        person's own) stays: whoever held the old password holds nothing any more."""
        keep = actor.session_id if actor.user_id == user_id else None
        await token_store.revoke_all(work, user_id, self.clock.now(), keep)

    async def _keep_an_admin(self, tx: Tx, actor: Principal, person: Person) -> None:
        """Refuse to lock or delete the tenant's last usable administrator."""
        if roles.SERVER_ADMIN not in person.roles or person.locked:
            return
        if await store.count_with_role(tx, actor.tenant_id, roles.SERVER_ADMIN) <= 1:
            raise Conflict("user", person.username, "the last administrator must remain")


_ANY_FIELD = ("username", "mobile_phone", "delivery_status", "custom_ids")
"""What a search across brands compares when it names no field (OX's ANY)."""


def _wildcard(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)


def _matches(person: Person, fields: Sequence[str], check: re.Pattern[str]) -> bool:
    """Whether a field (for a list, an element) of the person matches in full."""
    for name in fields:
        if name == "custom_ids":
            values: tuple[str | None, ...] = person.profile_lists.get(name) or ()
        elif name in ("username", "email"):
            values = (getattr(person, name),)
        else:
            values = (person.profile.get(name),)
        if any(v is not None and check.fullmatch(str(v)) for v in values):
            return True
    return False


def _tenant_wide(actor: Principal) -> bool:
    """Administers every person of the tenant: a server admin or a directory admin."""
    return actor.is_server_admin or actor.holds_any(roles.USER_ADMINS)


def _strictly_below(actor: Principal, domain: str) -> bool:
    """A domain under one the actor administers (so rights over it are lower)."""
    return any(domain.lower().endswith("." + own) for own in actor.admin_domains)


def _only_password(changes: PersonChanges) -> bool:
    """A change of nothing but the password, which a person may make on themselves
    (rights over others, or over their own rights, are `_may_act`'s)."""
    return replace(changes, password=None, require_password_change=False) == PersonChanges()


def _may_grant(actor: Principal, username: str, domains: Sequence[str]) -> None:
    """Only an administrator of a domain makes someone an administrator of it."""
    for domain in domains:
        if not _tenant_wide(actor) and not actor.administers(domain):
            raise Forbidden("user", username, f"Only an administrator of {domain} may do this")


def _merged(
    current: dict[str, str | None],
    replacement: Mapping[str, str | None] | None,
    updates: Mapping[str, str | None],
) -> dict[str, str | None]:
    """The properties after a wholesale replacement (if any: a key may have no value),
    then single updates (where None removes the key)."""
    merged = dict(current if replacement is None else replacement)
    for key, value in updates.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
