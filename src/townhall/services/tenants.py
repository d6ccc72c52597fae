"""Tenants: which organisation a request belongs to, and the operator's use cases.

Only the operator decides which names route traffic to a tenant: a request's Host (and
RMP's login `server`) is looked up among routing names only, which are a tenant's
primary domain and the names the operator adds (`add_route`). Domains a tenant's own
admins add are names of their people, never routes, so they change nothing for anyone
else. The operator is the CLI, or a server admin of the first tenant (the deployment's
own); a server admin of any other tenant administers that tenant only.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from townhall.domain import names, roles
from townhall.domain import people as people_rules
from townhall.domain.errors import AlreadyExists, Conflict, Forbidden, Invalid, NotFound
from townhall.domain.models import Tenant
from townhall.domain.principal import Principal
from townhall.infrastructure.cache import TTLCache
from townhall.services.base import Deps, Service, Work
from townhall.store import brands as brand_store
from townhall.store import mailboxes as mailbox_store
from townhall.store import people as people_store
from townhall.store import tenants as store
from townhall.store.database import UniqueViolation

SetUp = Callable[[Principal], Awaitable[None]]
"""What a new tenant starts with beyond its rows (a chat service, each API's set-up)."""
DEFAULT_ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class NewTenant:
    domain: str
    name: str | None = None
    admin: str = DEFAULT_ADMIN
    brand: str | None = None
    """The brand that owns it, by name; None: the default brand."""


@dataclass(frozen=True, slots=True)
class CreatedTenant:
    """A new tenant and its first admin's credentials (the password is shown once)."""

    tenant: Tenant
    admin: str
    password: str


@dataclass(frozen=True, slots=True)
class TenantInfo:
    tenant: Tenant
    routes: list[str] = field(default_factory=list)
    default: bool = False


class TenantService(Service):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._by_host: TTLCache[str, Tenant] = TTLCache(ttl_seconds=5.0)
        self._by_id: TTLCache[int, Tenant] = TTLCache(ttl_seconds=5.0)
        self.set_up: list[SetUp] = []
        """Run for each new tenant, as its system principal (filled by `Services`)."""
        deps.events.subscribe(self._on_event)

    def _on_event(self, event: object) -> None:
        """Routing changed somewhere (another process, through Redis): look names up
        again at once rather than when the cache expires."""
        if getattr(event, "topic", "").startswith(("tenant.", "backup.")):
            self._forget()

    # -- routing -----------------------------------------------------------------------

    async def for_host(self, host: str | None) -> Tenant:
        """The tenant that `host` (port stripped) routes to, else the first tenant."""
        domain = _host_name(host)

        async def load() -> Tenant:
            async with self.db.read() as tx:
                tenant = await store.tenant_by_route(tx, domain) if domain else None
                tenant = tenant or await store.first_tenant(tx)
            if tenant is None:
                raise NotFound("tenant", domain, "no tenant is configured")
            return tenant

        return await self._by_host.fetch(domain, load)

    async def routed(self, name: str) -> Tenant | None:
        """The tenant a routing name (a login's server or address domain) names."""
        async with self.db.read() as tx:
            return await store.tenant_by_route(tx, _host_name(name))

    async def by_domain(self, domain: str) -> Tenant:
        """The tenant whose domain (or one of its domains) is `domain`; no fallback."""
        async with self.db.read() as tx:
            tenant = await store.tenant_by_domain(tx, domain.strip().lower().rstrip("."))
        if tenant is None:
            raise NotFound("tenant", domain, f"no tenant has the domain {domain}")
        return tenant

    async def by_name(self, name: str) -> Tenant:
        """The tenant of that display name (names are not unique: several is Invalid)."""
        async with self.db.read() as tx:
            found = await store.tenants_named(tx, name.strip())
        if not found:
            raise NotFound("tenant", name)
        if len(found) > 1:
            raise Invalid("name", f"names {len(found)} tenants; name one by its id")
        return found[0]

    async def first(self) -> Tenant | None:
        async with self.db.read() as tx:
            return await store.first_tenant(tx)

    async def by_id(self, tenant_id: int) -> Tenant:
        async def load() -> Tenant:
            async with self.db.read() as tx:
                tenant = await store.tenant_by_id(tx, tenant_id)
            if tenant is None:
                raise NotFound("tenant", str(tenant_id))
            return tenant

        return await self._by_id.fetch(tenant_id, load)

    # -- the operator's use cases ------------------------------------------------------

    async def list(self, actor: Principal) -> list[TenantInfo]:
        await self._require_operator(actor)
        async with self.db.read() as tx:
            found = await store.all_tenants(tx)
            return [
                TenantInfo(t, await store.routes_of(tx, t.id), i == 0) for i, t in enumerate(found)
            ]

    async def create(self, actor: Principal, new: NewTenant) -> CreatedTenant:
        """A tenant, its primary domain (which routes to it) and its first admin, a
        server admin of the new tenant only, with a generated password."""
        await self._require_operator(actor)
        domain = names.domain(new.domain, "domain")
        name = (new.name or domain).strip()
        if not name or len(name) > 200:
            raise Invalid("name", "must be 1 to 200 characters")
        admin = people_rules.username(new.admin)
        password = secrets.token_urlsafe(12)
        password_hash = await self.deps.passwords.hash(password)
        now = self.clock.now()
        async with self.unit(actor) as work:
            owner = await brand_store.by_name(work, new.brand) if new.brand else None
            if new.brand and owner is None:
                raise NotFound("brand", new.brand)
            tenant = await self.make(work, name, domain, admin, password_hash, now)
            if owner is not None:
                await brand_store.set_tenant_brand(work, tenant.id, owner.id)
        await self.set_up_new(tenant)
        return CreatedTenant(tenant, admin, password)

    async def make(
        self,
        work: Work,
        name: str,
        domain: str,
        admin: str,
        password_hash: str,
        now: datetime,
        admin_name: str = "Administrator",
    ) -> Tenant:
        """Inside the caller's unit of work: the tenant's rows and its first admin (a
        server admin of the new tenant only), checked arguments given. Whoever makes a
        tenant (the operator, a SaaS registration) makes it this one way; after the
        commit it calls `set_up_new`."""
        if await store.tenant_by_domain(work, domain) is not None:
            raise AlreadyExists("domain", domain)
        try:
            tenant = await store.create_tenant(work, name, domain, now)
        except UniqueViolation:
            raise AlreadyExists("domain", domain) from None
        user_id = await people_store.insert_person(
            work, tenant.id, admin, admin_name, f"{admin}@{domain}", now
        )
        await people_store.set_password_hash(work, user_id, password_hash, now)
        admins = frozenset({roles.SERVER_ADMIN})
        await people_store.replace_roles(work, user_id, admins, frozenset())
        work.record("tenant.created", domain, {"name": name, "admin": admin})
        return tenant

    async def set_up_new(self, tenant: Tenant) -> None:
        """What a new tenant starts with beyond its rows (each API's set-up)."""
        for set_up in self.set_up:
            await set_up(Principal.system(tenant))

    async def delete(self, actor: Principal, domain: str) -> None:
        """The tenant whose primary domain (or routing name) is `domain`, with
        everything it holds, in one transaction; the first tenant stays."""
        await self._require_operator(actor)
        wanted = _host_name(domain)
        async with self.unit(actor) as work:
            first = await store.first_tenant(work)
            found = await store.tenant_by_route(work, wanted)
            if found is None:
                raise NotFound("tenant", wanted)
            if first is not None and found.id == first.id:
                raise Conflict("tenant", wanted, "the first tenant cannot be deleted")
            await store.lock_tenant(work, found.id)
            # The mailbox service hears them and removes the people's mailboxes.
            mailboxes = await mailbox_store.addresses_of_tenant(work, found.id)
            await store.delete_tenant(work, found.id)
            # The file service hears its id and removes the tenant's files.
            gone = {"mailboxes": mailboxes, "tenant_id": found.id}
            work.record("tenant.deleted", found.domain, gone)
        self._forget()

    async def add_route(self, actor: Principal, domain: str, route: str) -> Tenant:
        """Make `route` a name whose requests reach the tenant of `domain`."""
        await self._require_operator(actor)
        name = names.domain(route, "route")
        async with self.unit(actor) as work:
            tenant = await store.tenant_by_route(work, _host_name(domain))
            if tenant is None:
                raise NotFound("tenant", domain)
            try:
                added = await store.add_route(work, tenant.id, name, self.clock.now())
            except UniqueViolation:
                raise AlreadyExists("domain", name) from None
            if added:
                work.record("tenant.route.added", tenant.domain, {"route": name})
        self._forget()
        return tenant

    async def is_operator(self, actor: Principal) -> bool:
        """The CLI, or a server admin of the first tenant."""
        if not actor.is_server_admin:
            return False
        first = await self.first()
        return first is not None and first.id == actor.tenant_id

    async def _require_operator(self, actor: Principal) -> None:
        if not await self.is_operator(actor):
            raise Forbidden("tenant", actor.tenant.domain, "Only the operator may do this")

    def _forget(self) -> None:
        """Routing changed: this process looks names up again (others when the change's
        event reaches them through Redis, or within 5 s without it)."""
        self._by_host.clear()
        self._by_id.clear()


def _host_name(host: str | None) -> str:
    """A Host header or name as routing names are stored (port and final dot gone)."""
    name = (host or "").strip().lower()
    if name.startswith("["):  # an IPv6 literal: never a routing name
        return name.partition("]")[0] + "]"
    return name.rsplit(":", 1)[0].rstrip(".")
