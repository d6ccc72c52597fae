"""Domains of a tenant as RMP sees them: person domains, resource sub-domains, settings.

The tenant's primary domain is the one every dialect knows; further person domains are
aliases of it (the same people answer under each). A resource sub-domain such as
`confroom.resources.example.com` holds resource accounts and hangs under the person
domain it ends with.
"""

from __future__ import annotations

from typing import Any

from townhall.domain import names
from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.models import Domain
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import domains as store
from townhall.store import people as people_store
from townhall.store.database import Tx, UniqueViolation

RESOURCES_LABEL = ".resources."
WIRE_TYPES = ("primary", "resource-subdomain")

DEFAULT_SETTINGS: dict[str, Any] = {
    "timezone": "UTC",
    "language": "en-US",
    "dateFormat": "YYYY-MM-DD",
    "allowPastBookings": False,
    "maxBookingHours": 24,
}
"""What a domain's settings hold, with their defaults; an update may set only these."""


class DomainService(Service):
    async def list(self, actor: Principal, only: tuple[str, ...] | None = None) -> list[Domain]:
        """Every domain of the tenant, or only those named (a domain admin's view)."""
        async with self.db.read() as tx:
            return await store.list_domains(tx, actor.tenant_id, only)

    async def create(
        self,
        actor: Principal,
        name: str,
        wire_type: str = "primary",
        admin_email: str | None = None,
    ) -> Domain:
        name = names.domain(name, "domain")
        if wire_type not in WIRE_TYPES:
            raise Invalid("type", f"type must be one of {', '.join(WIRE_TYPES)}")
        async with self.change(actor, "domain.created", name) as tx:
            parent_id = await self._parent_of(tx, actor, name, wire_type)
            kind = "alias" if wire_type == "primary" else "resource-subdomain"
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
        stored = (await self.get(actor, name)).settings
        return {**DEFAULT_SETTINGS, **stored}

    async def update_settings(self, actor: Principal, name: str, changes: dict[str, Any]) -> None:
        checked = {key: _setting(key, value) for key, value in changes.items()}
        async with self.change(actor, "domain.settings.updated", name, data=checked) as tx:
            found = await store.find(tx, actor.tenant_id, name)
            if found is None:
                raise NotFound("domain", name)
            domain_id, domain = found
            await store.set_settings(tx, domain_id, {**domain.settings, **checked})

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

    async def _parent_of(self, tx: Tx, actor: Principal, name: str, wire_type: str) -> int | None:
        if wire_type == "primary":
            return None
        _, marker, parent = name.partition(RESOURCES_LABEL)
        if not marker or "." in name.partition(RESOURCES_LABEL)[0]:
            raise Invalid("domain", "a resource sub-domain is <label>.resources.<domain>")
        found = await store.find(tx, actor.tenant_id, parent)
        if found is None or found[1].kind == "resource-subdomain":
            raise NotFound("domain", parent)
        return found[0]

    async def _add_admin(self, tx: Tx, actor: Principal, domain_id: int, email: str) -> None:
        username = names.local_part(email, email.rpartition("@")[2].lower())
        user_id = await people_store.find_id(tx, actor.tenant_id, username)
        if user_id is None:
            raise NotFound("user", email)
        await store.add_admin(tx, user_id, domain_id)


def _setting(key: str, value: Any) -> Any:
    if key not in DEFAULT_SETTINGS:
        raise Invalid(key, f"unknown setting {key}; known: {', '.join(DEFAULT_SETTINGS)}")
    expected = type(DEFAULT_SETTINGS[key])
    if type(value) is not expected:
        raise Invalid(key, f"{key} must be a {expected.__name__}")
    if expected is int and value < 1:
        raise Invalid(key, f"{key} must be at least 1")
    return value
