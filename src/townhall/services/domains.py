"""Domains of a tenant: person domains, resource sub-domains and their settings; and the
mail domains a brand shares with its tenants.

The tenant's primary domain is the one every dialect knows; further person domains are
aliases of it (the same people answer under each; OX calls them a context's explicit
domains). A resource sub-domain such as `confroom.resources.example.com` holds resource
accounts and hangs under the person domain it ends with. A shared domain belongs to a
brand, not to a tenant: every tenant of the brand (and of the brands below it) hosts
mail in it (services/mail_routing.py). A name is one domain, whatever its kind.
"""

from __future__ import annotations

import builtins
from typing import Any

from townhall.domain import names, recurrence
from townhall.domain.errors import AlreadyExists, Conflict, Forbidden, Invalid, NotFound
from townhall.domain.models import Domain
from townhall.domain.principal import Principal
from townhall.services import brands
from townhall.services.base import Service, Work
from townhall.store import brands as brand_store
from townhall.store import domains as store
from townhall.store import mail as mail_store
from townhall.store import people as people_store
from townhall.store.database import Tx, UniqueViolation

RESOURCES_LABEL = ".resources."
SUBDOMAIN = "resource-subdomain"
ALIAS = "alias"
SHARED = "shared"
KINDS = ("alias", SUBDOMAIN)
"""The kinds of domain a tenant may add (its primary domain comes with the tenant)."""
_TYPE_NAMES = {bool: "true or false", int: "a whole number", str: "text"}

DEFAULT_SETTINGS: dict[str, Any] = {
    "timezone": "UTC",
    "language": "en-US",
    "date_format": "YYYY-MM-DD",
    "allow_past_bookings": False,
    "max_booking_hours": 24,
}
"""What a domain's settings hold, with their defaults; an update may set only these.
The language, time zone and date format are what its people's preferences default to;
the booking rules bind the bookings of the resources under it."""


class DomainService(Service):
    """Server admins administer every domain; a domain admin its own and those below."""

    async def administered(self, actor: Principal) -> list[Domain]:
        """The domains of the tenant the actor administers."""
        return [d for d in await self.list(actor) if actor.administers(d.name)]

    async def list(self, actor: Principal, only: tuple[str, ...] | None = None) -> list[Domain]:
        """Every domain of the tenant, or only those named."""
        async with self.db.read() as tx:
            return await store.list_domains(tx, actor.tenant_id, only)

    async def create(
        self, actor: Principal, name: str, kind: str = "alias", admin_email: str | None = None
    ) -> Domain:
        """A further person domain (an alias of the tenant's, for server admins) or a
        resource sub-domain `<label>.resources.<domain>` (for admins of that domain)."""
        _may_create(actor, name, kind)
        name = names.domain(name, "domain")
        if kind not in KINDS:
            raise Invalid("kind", f"must be one of {', '.join(KINDS)}")
        async with self.change(actor, "domain.created", name) as tx:
            if await store.held_by_others(tx, actor.tenant_id, _enclosing(name)):
                raise Forbidden("domain", name, f"{name} is under another tenant's domain")
            parent_id = await self._parent_of(tx, actor, name, kind)
            try:
                domain_id = await store.insert_domain(
                    tx, actor.tenant_id, name, kind, parent_id, self.clock.now()
                )
            except UniqueViolation:
                raise AlreadyExists("domain", name) from None
            if admin_email:
                await self._add_admin(tx, actor, domain_id, admin_email)
        return await self.get(actor, name)

    async def get(self, actor: Principal, name: str) -> Domain:
        async with self.db.read() as tx:
            found = await store.find(tx, actor.tenant_id, name)
        if found is None:
            raise NotFound("domain", name)
        return found[1]

    async def settings(self, actor: Principal, name: str) -> dict[str, Any]:
        """A domain's settings (defaults filled in), for its admins."""
        _may_administer(actor, name)
        return {**DEFAULT_SETTINGS, **(await self.get(actor, name)).settings}

    async def defaults(self, actor: Principal) -> dict[str, Any]:
        """The settings of the tenant's own domain, which everyone's preferences default
        to: anyone of the tenant may read them."""
        stored = (await self.get(actor, actor.tenant.domain)).settings
        return {**DEFAULT_SETTINGS, **stored}

    async def update_settings(
        self, actor: Principal, name: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Set the settings given (the others stay); answers them all, defaults filled in."""
        _may_administer(actor, name)
        checked = {key: _setting(key, value) for key, value in changes.items()}
        async with self.unit(actor) as work:
            found = await store.find(work, actor.tenant_id, name)
            if found is None:
                raise NotFound("domain", name)
            domain_id, domain = found
            wanted = {**domain.settings, **checked}
            if wanted != domain.settings:
                await store.set_settings(work, domain_id, wanted)
                work.record("domain.settings.updated", domain.name, checked)
        return {**DEFAULT_SETTINGS, **wanted}

    async def grant_admin(
        self, tx: Tx, actor: Principal, name: str, user_id: int, admin: bool
    ) -> bool:
        """Within the caller's transaction: make the person an administrator of domain
        `name`, or no longer one. True if that changed anything."""
        found = await store.find(tx, actor.tenant_id, name)
        if found is None:
            raise NotFound("domain", name)
        if admin:
            return await store.add_admin(tx, user_id, found[0])
        return await store.remove_admin(tx, user_id, found[0])

    async def is_server_admin(self, actor: Principal, username: str) -> bool:
        async with self.db.read() as tx:
            return await store.is_server_admin(tx, actor.tenant_id, username)

    async def admin_ids(self, actor: Principal) -> set[int]:
        async with self.db.read() as tx:
            return await store.admin_ids(tx, actor.tenant_id)

    # -- mail domains: a tenant's further domains, a brand's shared ones ---------------

    async def further(self, actor: Principal) -> builtins.list[str]:
        """The tenant's further person domains (its `alias` domains), for its admins."""
        _require_server_admin(actor)
        async with self.db.read() as tx:
            return await store.names_of_kind(tx, [actor.tenant_id], ALIAS)

    async def add_further(self, actor: Principal, name: str) -> str:
        """A further person domain of the tenant that hosts its mail and routes no
        requests (only the operator's names do). Idempotent for the tenant's own; a name
        another tenant or a brand holds, or one inside theirs: AlreadyExists/Conflict."""
        _require_server_admin(actor)
        name = names.domain(name, "domain")
        async with self.unit(actor) as work:
            held = await store.holder(work, name)
            if held is not None:
                if held[0] == actor.tenant_id and held[2] == ALIAS:
                    return name
                raise AlreadyExists("domain", name)
            await _not_inside_others(work, name, [actor.tenant_id], set())
            try:
                await store.insert_domain(
                    work, actor.tenant_id, name, ALIAS, None, self.clock.now()
                )
            except UniqueViolation:
                raise AlreadyExists("domain", name) from None
            work.record("domain.created", name, {"kind": ALIAS})
        return name

    async def remove_further(self, actor: Principal, name: str) -> None:
        """Remove a further person domain of the tenant. The operator's routing names and
        a domain with resource sub-domains under it stay (Conflict): removing them would
        cut requests off or take resources with them."""
        _require_server_admin(actor)
        name = names.domain(name, "domain")
        async with self.unit(actor) as work:
            held = await store.holder(work, name)
            if held is None or held[0] != actor.tenant_id or held[2] != ALIAS:
                raise NotFound("domain", name)
            if held[3]:
                raise Conflict(
                    "domain", name, f"domain {name} routes to the tenant (the operator's)"
                )
            if await store.has_subdomains(work, name):
                raise Conflict("domain", name, f"domain {name} has resource sub-domains")
            await store.delete_named(work, name)
            await mail_store.delete_aliases_in(work, name)
            work.record("domain.deleted", name, {"kind": ALIAS})

    async def further_in_brands(self, actor: Principal) -> builtins.list[str]:
        """The further person domains of every tenant the caller's brands reach."""
        async with self.db.read() as tx:
            tenant_ids = await brand_store.tenants_of(tx, await brands.reached(tx, actor))
            return await store.names_of_kind(tx, tenant_ids, ALIAS)

    async def shared(self, actor: Principal) -> builtins.list[str]:
        """The shared mail domains of the brands the caller reaches."""
        async with self.db.read() as tx:
            return await store.shared_names(tx, await brands.reached(tx, actor))

    async def add_shared(self, actor: Principal, name: str, exist_ok: bool = False) -> str:
        """A shared mail domain of the caller's brand. Held already: AlreadyExists,
        unless `exist_ok` and it is this brand's shared domain."""
        name = names.domain(name, "domain")
        async with self.unit(actor) as work:
            reached = await brands.reached(work, actor)
            assert actor.brand_id is not None  # reached() refuses anyone without one
            held = await store.holder(work, name)
            if held is not None:
                if exist_ok and held[1] == actor.brand_id and held[2] == SHARED:
                    return name
                raise AlreadyExists("domain", name)
            tenant_ids = await brand_store.tenants_of(work, reached)
            await _not_inside_others(work, name, tenant_ids, reached)
            try:
                await store.insert_shared(work, actor.brand_id, name, self.clock.now())
            except UniqueViolation:
                raise AlreadyExists("domain", name) from None
            work.record("domain.created", name, {"kind": SHARED, "brand": actor.brand_id})
        return name

    async def remove_shared(self, actor: Principal, name: str) -> None:
        name = names.domain(name, "domain")
        async with self.unit(actor) as work:
            reached = await brands.reached(work, actor)
            held = await store.holder(work, name)
            if held is None or held[2] != SHARED or held[1] not in reached:
                raise NotFound("domain", name)
            await store.delete_named(work, name)
            await mail_store.delete_aliases_in(work, name)
            work.record("domain.deleted", name, {"kind": SHARED, "brand": held[1]})

    async def mail_domain_in_brands(self, actor: Principal, name: str) -> str:
        """A domain of any person kind that a tenant or brand the caller reaches holds
        (NotFound otherwise): where the caller may look for people's addresses."""
        name = names.domain(name, "domain")
        async with self.db.read() as tx:
            reached = await brands.reached(tx, actor)
            held = await store.holder(tx, name)
            if held is None or held[2] == SUBDOMAIN:
                raise NotFound("domain", name)
            if held[0] is not None:
                if held[0] not in await brand_store.tenants_of(tx, reached):
                    raise NotFound("domain", name)
            elif held[1] not in reached:
                raise NotFound("domain", name)
        return name

    async def _parent_of(self, tx: Tx, actor: Principal, name: str, kind: str) -> int | None:
        if kind != SUBDOMAIN:
            return None
        _, marker, parent = name.partition(RESOURCES_LABEL)
        if not marker or "." in name.partition(RESOURCES_LABEL)[0]:
            raise Invalid("domain", "must be <label>.resources.<domain> for a resource sub-domain")
        found = await store.find(tx, actor.tenant_id, parent)
        if found is None or found[1].kind == SUBDOMAIN:
            raise NotFound("domain", parent)
        return found[0]

    async def _add_admin(self, tx: Tx, actor: Principal, domain_id: int, email: str) -> None:
        username = names.local_part(email, email.rpartition("@")[2].lower())
        user_id = await people_store.find_id(tx, actor.tenant_id, username)
        if user_id is None:
            raise NotFound("user", email)
        await store.add_admin(tx, user_id, domain_id)


def _require_server_admin(actor: Principal) -> None:
    if not actor.is_server_admin:
        raise Forbidden("domain", actor.tenant.domain, "Only a server administrator may do this")


async def _not_inside_others(
    work: Work, name: str, tenant_ids: builtins.list[int], brand_ids: set[int]
) -> None:
    """A name inside one another tenant or brand holds would let the caller pose as
    them (see `_enclosing`): Conflict."""
    if await store.held_outside(work, _enclosing(name), tenant_ids, brand_ids):
        raise Conflict("domain", name, f"domain {name} is inside a domain held by someone else")


def _may_administer(actor: Principal, name: str) -> None:
    if not actor.administers(name):
        raise Forbidden("domain", name, f"Only an administrator of {name} may do this")


def _enclosing(name: str) -> list[str]:
    """The names that enclose `name` (itself excluded), down to two labels: a tenant may
    not claim a name inside another tenant's (`mail.their.org` when they hold their.org),
    which would let it pose as them."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def _may_create(actor: Principal, name: str, kind: str) -> None:
    if kind == SUBDOMAIN:
        _may_administer(actor, name.lower().partition(RESOURCES_LABEL)[2] or "-")
    elif not actor.is_server_admin:
        raise Forbidden("domain", name, "Only a server administrator may do this")


def _setting(key: str, value: Any) -> Any:
    if key not in DEFAULT_SETTINGS:
        raise Invalid(key, f"is not a setting; the settings are {', '.join(DEFAULT_SETTINGS)}")
    expected = type(DEFAULT_SETTINGS[key])
    if type(value) is not expected:
        raise Invalid(key, f"must be {_TYPE_NAMES[expected]}")
    if expected is int and value < 1:
        raise Invalid(key, "must be at least 1")
    if key == "timezone":  # calendar series of the domain's people expand in it
        return recurrence.zone(value, key).key
    return value
