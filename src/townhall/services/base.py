"""What every service shares: the database, the clock, the bus, and the unit of work.

A use case is one service call in one write transaction (`Service.unit`). The unit
records each change it makes; when the transaction commits, every recorded change has
its audit row written inside it and is published on the bus after it, in order. A
request that changed nothing records nothing, so it is neither audited nor published.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Result
from sqlalchemy.sql import Executable

from townhall.domain.events import DomainEvent
from townhall.domain.principal import Principal
from townhall.infrastructure.clock import Clock
from townhall.infrastructure.events import EventBus
from townhall.infrastructure.ids import Ids
from townhall.infrastructure.passwords import Passwords
from townhall.infrastructure.readcache import NoCache, ReadCache
from townhall.services import cached
from townhall.store import audit
from townhall.store.database import Database, Tx


@dataclass(frozen=True, slots=True)
class Deps:
    db: Database
    clock: Clock
    events: EventBus
    passwords: Passwords
    node: str
    ids: Ids = field(default_factory=Ids)
    cache: ReadCache = field(default_factory=NoCache)


log = logging.getLogger(__name__)

CHANGES_AT_ONCE = 500
"""A unit with more changes (a 10,000-row import) audits them in statements of this many
and publishes them with a pause between as many, giving the event loop back (on SQLite
every statement runs on it): other requests of the process are not held up meanwhile."""


@dataclass(frozen=True, slots=True)
class Change:
    """One state change: `action` is the event topic (`user.created`), `data` what
    listeners are told, `details` what the audit log keeps besides the summary."""

    action: str
    subject: str
    data: Mapping[str, Any] = field(default_factory=dict)
    details: str | None = None


class Work:
    """An open write transaction and the changes made in it so far. It is a `Tx`, so
    store functions take it as they take any transaction."""

    __slots__ = ("_tx", "changes")

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self.changes: list[Change] = []

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        return await self._tx.execute(stmt, params)

    async def driver_rows(self, stmt: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        return await self._tx.driver_rows(stmt, params)

    async def savepoint_insert(self, stmt: Executable, params: Any = None) -> Result[Any]:
        return await self._tx.savepoint_insert(stmt, params)

    def record(
        self,
        action: str,
        subject: str,
        data: Mapping[str, Any] | None = None,
        details: str | None = None,
    ) -> None:
        self.changes.append(Change(action, subject, data or {}, details))


class Service:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.db = deps.db
        self.clock = deps.clock

    @property
    def read_cache(self) -> ReadCache:
        return self.deps.cache

    @asynccontextmanager
    async def unit(self, actor: Principal) -> AsyncIterator[Work]:
        """A write transaction that audits, inside it, every change it records, and
        publishes them once it has committed: no listener hears of a rolled-back change,
        and a failed change leaves no trace.

        After the commit, before the caller answers, the read cache forgets what the
        changes touched (services/cached.py): a reader that read the old rows before
        cannot keep them (its ticket is out of date), and no later reader finds them."""
        async with self.db.write() as tx:
            work = Work(tx)
            yield work
            now = self.clock.now()
            for start in range(0, len(work.changes), CHANGES_AT_ONCE):
                if start:
                    await asyncio.sleep(0)
                await audit.record(
                    tx,
                    actor.tenant_id,
                    actor.username,
                    now,
                    self.deps.node,
                    [
                        (c.action, f"{c.action}: {c.subject}", c.details)
                        for c in work.changes[start : start + CHANGES_AT_ONCE]
                    ],
                )
        if work.changes:
            await self._forget_cached(actor, work.changes)
        for number, change in enumerate(work.changes, start=1):
            event = DomainEvent(change.action, actor.tenant_id, change.subject, dict(change.data))
            await self.deps.events.publish(event)
            if number % CHANGES_AT_ONCE == 0:
                await asyncio.sleep(0)

    async def _forget_cached(self, actor: Principal, changes: list[Change]) -> None:
        topics = [c.action for c in changes]
        kinds = cached.touched(topics)
        if not kinds:
            return
        try:
            await self.deps.cache.forget(
                cached.scope_of(actor), kinds, cached.everywhere(actor, topics)
            )
        except Exception as exc:  # the cache owes a flush now (readcache.RedisCache)
            log.debug("cache not told of a committed change (%s): %s", topics, exc)

    @asynccontextmanager
    async def change(
        self,
        actor: Principal,
        action: str,
        subject: str,
        details: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Work]:
        """A unit of work that always makes exactly this one change."""
        async with self.unit(actor) as work:
            yield work
            work.record(action, subject, data, details)
