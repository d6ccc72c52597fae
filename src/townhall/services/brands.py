"""Brands (OX's resellers): above tenants, below the operator.

A brand owns tenants and may sit under another brand; its administrators act on every
tenant of the brand and of the brands below it, and one Basic credential per brand reads
its people's mail counters. Only the operator (see services/tenants.py) makes brands,
their administrators and credentials; every tenant belongs to one (the default brand
unless made under another). Logging in as a brand admin or with a brand's mail
credential is the auth service's (services/auth.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from townhall.domain import names
from townhall.domain.errors import AlreadyExists, Forbidden, Invalid, NotFound
from townhall.domain.models import DEFAULT_BRAND_ID, Brand, BrandAdmin, Tenant
from townhall.domain.principal import Principal
from townhall.infrastructure.cache import TTLCache
from townhall.services.base import Deps, Service
from townhall.services.tenants import TenantService
from townhall.store import brands as store
from townhall.store import tenants as tenant_store
from townhall.store.database import Tx, UniqueViolation


@dataclass(frozen=True, slots=True)
class CreatedBrandAdmin:
    admin: BrandAdmin
    password: str
    """Shown once: only its hash is kept."""


async def reached(tx: Tx, actor: Principal) -> set[int]:
    """The brands a caller above tenants acts on: a reseller admin's brand and those
    below it; the master admin (the operator, acting for a brand) every brand. Anyone
    else: Forbidden. A function, not only a method, because the services of the things
    brands own (people across contexts, shared domains) ask it inside their own reads."""
    if actor.brand_id is None:
        raise Forbidden("brand", actor.tenant.domain, "Only a reseller admin may do this")
    first = await tenant_store.first_tenant(tx)
    if actor.is_server_admin and first is not None and first.id == actor.tenant_id:
        return {b.id for b in await store.all_brands(tx)}
    return await store.reach(tx, actor.brand_id)


def _name(raw: str, field: str) -> str:
    name = raw.strip()
    if not name or len(name) > 200:
        raise Invalid(field, "must be 1 to 200 characters")
    return name


class BrandService(Service):
    def __init__(self, deps: Deps, tenants: TenantService, master_override: bool = False) -> None:
        super().__init__(deps)
        self._tenants = tenants
        self.master_override = master_override
        self._covered: TTLCache[tuple[int, int], bool] = TTLCache(5.0)
        deps.events.subscribe(self._on_event)
        """Whether brand admins and the master admin (the operator) may also act where
        only a tenant's own admins may by default (OX's MASTER_ACCOUNT_OVERRIDE)."""

    async def all(self, actor: Principal) -> list[Brand]:
        await self._require_operator(actor)
        async with self.db.read() as tx:
            return await store.all_brands(tx)

    async def create(self, actor: Principal, name: str, parent: str | None = None) -> Brand:
        await self._require_operator(actor)
        name = _name(name, "name")
        async with self.unit(actor) as work:
            parent_id = (await self._named(work, parent)).id if parent else None
            try:
                brand_id = await store.insert_brand(work, name, parent_id, self.clock.now())
            except UniqueViolation:
                raise AlreadyExists("brand", name) from None
            work.record("brand.created", name, {"parent": parent})
        return Brand(brand_id, name, parent_id)

    async def add_admin(
        self, actor: Principal, brand: str, username: str, password: str | None = None
    ) -> CreatedBrandAdmin:
        """A reseller admin of `brand`; without a password, one is made (shown once)."""
        await self._require_operator(actor)
        username = names.node(username, "username")
        password = password or secrets.token_urlsafe(12)
        password_hash = await self.deps.passwords.hash(password)
        async with self.unit(actor) as work:
            found = await self._named(work, brand)
            try:
                admin_id = await store.insert_admin(
                    work, found.id, username, password_hash, self.clock.now()
                )
            except UniqueViolation:
                raise AlreadyExists("brand_admin", username) from None
            work.record("brand.admin.added", found.name, {"admin": username})
        return CreatedBrandAdmin(BrandAdmin(admin_id, found.id, username), password)

    async def set_mail_credential(
        self, actor: Principal, brand: str, username: str, password: str
    ) -> None:
        """The Basic credential that reads the mail counters of the brand's people."""
        await self._require_operator(actor)
        username = username.strip()
        if not username or ":" in username:
            raise Invalid("username", "must be non-empty and hold no ':'")
        if not password:
            raise Invalid("password", "must not be empty")
        password_hash = await self.deps.passwords.hash(password)
        async with self.unit(actor) as work:
            found = await self._named(work, brand)
            try:
                await store.set_mail_credential(work, found.id, username, password_hash)
            except UniqueViolation:
                raise AlreadyExists("mail_credential", username) from None
            work.record("brand.mail_credential.set", found.name, {"username": username})

    async def of_tenant(self, tenant: Tenant) -> Brand:
        async with self.db.read() as tx:
            found = await store.of_tenant(tx, tenant.id)
        if found is None:
            raise NotFound("brand", str(DEFAULT_BRAND_ID))
        return found

    async def of_admin(self, admin: BrandAdmin) -> Brand:
        """The brand a reseller admin administers."""
        async with self.db.read() as tx:
            found = await store.by_id(tx, admin.brand_id)
        if found is None:
            raise NotFound("brand", str(admin.brand_id))
        return found

    async def of_default(self) -> Brand:
        async with self.db.read() as tx:
            found = await store.by_id(tx, DEFAULT_BRAND_ID)
        if found is None:
            raise NotFound("brand", str(DEFAULT_BRAND_ID))
        return found

    async def lineage(self, brand: Brand) -> list[Brand]:
        """The brand and the brands above it, nearest first."""
        chain = [brand]
        async with self.db.read() as tx:
            while chain[-1].parent_id is not None and len(chain) < 64:
                parent = await store.by_id(tx, chain[-1].parent_id)
                if parent is None:
                    break
                chain.append(parent)
        return chain

    async def reaches(self, admin: BrandAdmin, tenant: Tenant) -> bool:
        """Whether a reseller admin acts on the tenant (its brand, or one below it)."""
        async with self.db.read() as tx:
            owner = await store.of_tenant(tx, tenant.id)
            return owner is not None and owner.id in await store.reach(tx, admin.brand_id)

    async def covers(self, brand: Brand, tenant: Tenant) -> bool:
        """Whether the tenant belongs to the brand or to a brand below it (what the
        brand's mail-read credential may read). Remembered for a few seconds (and
        forgotten on any brand or tenant change heard): the mail reads ask on every
        request."""

        async def load() -> bool:
            async with self.db.read() as tx:
                owner = await store.of_tenant(tx, tenant.id)
                return owner is not None and owner.id in await store.reach(tx, brand.id)

        return await self._covered.fetch((brand.id, tenant.id), load)

    def _on_event(self, event: object) -> None:
        if getattr(event, "topic", "").startswith(("brand.", "tenant.", "backup.")):
            self._covered.clear()

    async def tenants_reached(self, admin: BrandAdmin) -> list[int]:
        async with self.db.read() as tx:
            return await store.tenants_of(tx, await store.reach(tx, admin.brand_id))

    async def brands_reached(self, actor: Principal) -> set[int]:
        """The brands a caller above tenants acts on (see `reached`)."""
        async with self.db.read() as tx:
            return await reached(tx, actor)

    async def tenants_of_actor(self, actor: Principal) -> list[int]:
        """The tenants (contexts) of the brands the caller reaches."""
        async with self.db.read() as tx:
            return await store.tenants_of(tx, await reached(tx, actor))

    async def assign(self, actor: Principal, tenant: Tenant, brand: str) -> None:
        """Move a tenant under another brand (the operator's)."""
        await self._require_operator(actor)
        async with self.unit(actor) as work:
            found = await self._named(work, brand)
            await store.set_tenant_brand(work, tenant.id, found.id)
            work.record("brand.tenant.assigned", found.name, {"tenant": tenant.domain})

    async def _named(self, tx: Tx, name: str) -> Brand:
        found = await store.by_name(tx, name.strip())
        if found is None:
            raise NotFound("brand", name)
        return found

    async def _require_operator(self, actor: Principal) -> None:
        if not await self._tenants.is_operator(actor):
            raise Forbidden("brand", actor.tenant.domain, "Only the operator may do this")
