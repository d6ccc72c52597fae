"""Reading the audit trail (the unit of work, `Service.unit`, is its one writer)."""

from __future__ import annotations

from datetime import datetime

from townhall.domain.errors import Invalid
from townhall.domain.models import AuditEntry
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import audit as store

MAX_ENTRIES = 10_000


class AuditService(Service):
    async def entries(
        self,
        actor: Principal,
        username: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
        action: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first, at most MAX_ENTRIES of them: the plugin takes any limit, so a
        larger one is capped rather than refused."""
        if offset < 0:
            raise Invalid("offset", "must not be negative")
        if limit < 0:
            raise Invalid("limit", "must not be negative")
        async with self.db.read() as tx:
            return list(
                await store.entries(
                    tx,
                    actor.tenant_id,
                    username,
                    since,
                    until,
                    offset,
                    min(limit, MAX_ENTRIES),
                    action,
                )
            )
