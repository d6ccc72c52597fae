"""What every service shares: the database, the clock, the bus and the audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from townhall.domain.events import DomainEvent
from townhall.domain.models import Tenant
from townhall.infrastructure.clock import Clock
from townhall.infrastructure.events import EventBus
from townhall.infrastructure.ids import Ids
from townhall.infrastructure.passwords import Passwords
from townhall.store import audit
from townhall.store.database import Database, Tx


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks for a change, and in which tenant. Every service call takes one."""

    tenant: Tenant
    username: str | None = None

    @property
    def tenant_id(self) -> int:
        return self.tenant.id

    def jid(self, username: str) -> str:
        return f"{username}@{self.tenant.domain}"


@dataclass(frozen=True, slots=True)
class Deps:
    db: Database
    clock: Clock
    events: EventBus
    passwords: Passwords
    node: str
    ids: Ids = field(default_factory=Ids)


class Service:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.db = deps.db
        self.clock = deps.clock

    @asynccontextmanager
    async def change(
        self,
        actor: Actor,
        action: str,
        subject: str,
        details: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> AsyncIterator[Tx]:
        """A write transaction that, if it commits, is audited and published.

        The audit row is written inside the transaction, so a failed change leaves no
        trace; the event goes out only after the commit, so no listener hears of a
        change that was rolled back.
        """
        async with self.db.write() as tx:
            yield tx
            await audit.record(
                tx,
                actor.tenant_id,
                actor.username,
                self.clock.now(),
                action,
                f"{action}: {subject}",
                self.deps.node,
                details,
            )
        await self.deps.events.publish(DomainEvent(action, actor.tenant_id, subject, data or {}))
