"""Tenants: which organisation a request belongs to."""

from __future__ import annotations

from townhall.domain.errors import NotFound
from townhall.domain.models import Tenant
from townhall.infrastructure.cache import TTLCache
from townhall.services.base import Deps, Service
from townhall.store import tenants as store


class TenantService(Service):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._by_host: TTLCache[str, Tenant] = TTLCache(ttl_seconds=5.0)
        self._by_id: TTLCache[int, Tenant] = TTLCache(ttl_seconds=5.0)

    async def for_host(self, host: str | None) -> Tenant:
        """The tenant whose domain is `host` (port stripped), else the first tenant."""
        domain = (host or "").rsplit(":", 1)[0].strip().lower().rstrip(".")
        cached = self._by_host.get(domain)
        if cached is not None:
            return cached
        async with self.db.read() as tx:
            tenant = await store.tenant_by_domain(tx, domain) if domain else None
            tenant = tenant or await store.first_tenant(tx)
        if tenant is None:
            raise NotFound("tenant", domain, "no tenant is configured")
        self._by_host.put(domain, tenant)
        return tenant

    async def by_domain(self, domain: str) -> Tenant:
        """The tenant whose domain (or one of its domains) is `domain`; no fallback."""
        async with self.db.read() as tx:
            tenant = await store.tenant_by_domain(tx, domain.strip().lower().rstrip("."))
        if tenant is None:
            raise NotFound("tenant", domain, f"no tenant has the domain {domain}")
        return tenant

    async def first(self) -> Tenant | None:
        async with self.db.read() as tx:
            return await store.first_tenant(tx)

    async def by_id(self, tenant_id: int) -> Tenant:
        cached = self._by_id.get(tenant_id)
        if cached is not None:
            return cached
        async with self.db.read() as tx:
            tenant = await store.tenant_by_id(tx, tenant_id)
        if tenant is None:
            raise NotFound("tenant", str(tenant_id))
        self._by_id.put(tenant_id, tenant)
        return tenant
