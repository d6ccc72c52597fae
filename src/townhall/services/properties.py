"""System properties: a tenant's key/value settings, some of them secrets.

Secret properties are write-only: readers get a mask, so an admin API cannot be used to
exfiltrate the credential that protects it.
"""

from __future__ import annotations

from townhall.domain.errors import Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.infrastructure.cache import TTLCache
from townhall.services.base import Deps, Service
from townhall.store import properties as store

MASK = "********"
SECRET_SUFFIXES = (".secret", ".password", ".passwd", ".apikey", ".api_key", ".token")


def is_secret(key: str) -> bool:
    return key.lower().endswith(SECRET_SUFFIXES)


def _checked(key: str, value: str | None) -> str | None:
    """A secret is never set empty: an empty secret protects nothing, and where it is
    the way in (Openfire's shared secret) it locks every caller out."""
    if is_secret(key) and not (value or "").strip():
        raise Invalid(key, "must not be empty (it is a secret)", "secret", value)
    return value


class PropertyService(Service):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._prefix_cache: TTLCache[tuple[int, str], dict[str, str | None]] = TTLCache(1.0)
        deps.events.subscribe(self._forget)

    def _forget(self, event: object) -> None:
        if getattr(event, "topic", "").startswith(("property.", "backup.")):
            self._prefix_cache.clear()

    async def list(self, actor: Principal) -> dict[str, str | None]:
        """Every stored property, secrets masked."""
        async with self.db.read() as tx:
            found = await store.all_properties(tx, actor.tenant_id)
        return {k: (MASK if is_secret(k) and v else v) for k, v in found.items()}

    async def get(self, actor: Principal, key: str) -> str | None:
        async with self.db.read() as tx:
            found, value = await store.get(tx, actor.tenant_id, key)
        if not found:
            raise NotFound("property", key)
        return MASK if is_secret(key) and value else value

    async def exists(self, actor: Principal, key: str) -> bool:
        async with self.db.read() as tx:
            found, _ = await store.get(tx, actor.tenant_id, key)
        return found

    async def raw(self, tenant_id: int, prefix: str) -> dict[str, str | None]:
        """Unmasked values under `prefix`, for the server's own use (e.g. API auth).

        Cached for a second: these are read on every request.
        """

        async def load() -> dict[str, str | None]:
            async with self.db.read() as tx:
                return await store.all_properties(tx, tenant_id, prefix)

        return await self._prefix_cache.fetch((tenant_id, prefix), load)

    async def set(self, actor: Principal, key: str, value: str | None) -> None:
        """Create or overwrite; writing the value a property has changes nothing."""
        if not key:
            raise Invalid("key", "must not be empty", "property")
        value = _checked(key, value)
        async with self.unit(actor) as work:
            found, current = await store.get(work, actor.tenant_id, key, for_update=True)
            if found and current == value:
                return
            await store.put(work, actor.tenant_id, key, value)
            work.record("property.set", key)

    async def update(self, actor: Principal, key: str, value: str | None) -> None:
        """Overwrite a stored property (NotFound if there is none)."""
        value = _checked(key, value)
        async with self.unit(actor) as work:
            found, current = await store.get(work, actor.tenant_id, key, for_update=True)
            if not found:
                raise NotFound("property", key)
            if current == value:
                return
            await store.put(work, actor.tenant_id, key, value)
            work.record("property.set", key)

    async def delete(self, actor: Principal, key: str) -> None:
        async with self.change(actor, "property.deleted", key) as work:
            if not await store.remove(work, actor.tenant_id, key):
                raise NotFound("property", key)
