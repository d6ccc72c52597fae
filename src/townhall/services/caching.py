"""The read cache as admins see it: its counts, its settings, removing entries by
pattern and loading entries ahead of readers.

Entries are only ever a copy of what the services read (services/cached.py), so
removing or warming them changes no answer, only how fast it comes: these use cases
write nothing and record nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from townhall.domain.errors import Forbidden, Impossible, Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.infrastructure.readcache import (
    KINDS,
    MAX_ID,
    PATTERN,
    CacheConfig,
    CacheStats,
    KindStats,
)
from townhall.services.base import Deps, Service
from townhall.services.cached import scope_of
from townhall.services.calendars import CalendarService
from townhall.services.people import PeopleService
from townhall.services.resources import ResourceService

__all__ = ["PATTERN", "CacheConfig", "CacheService", "CacheStats", "KindStats", "Warmed"]
MAX_TARGETS = 500
WARM_DAYS = 7
"""The range warmed when none is given: from now, a week (what calendar views show)."""
WARMABLE = ("calendar", "resource", "freebusy", "user")


@dataclass(frozen=True, slots=True)
class Warmed:
    kind: str
    loaded: list[str]
    failed: list[tuple[str, str]]  # (target, why)
    range_from: datetime | None
    range_till: datetime | None


class CacheService(Service):
    def __init__(
        self,
        deps: Deps,
        resources: ResourceService,
        calendars: CalendarService,
        people: PeopleService,
    ) -> None:
        super().__init__(deps)
        self._resources = resources
        self._calendars = calendars
        self._people = people

    async def stats(self, actor: Principal) -> CacheStats:
        """The caller's tenant's entries, hits, misses and memory, per kind."""
        _admin(actor)
        return await self.read_cache.stats(scope_of(actor))

    async def config(self, actor: Principal) -> CacheConfig:
        _admin(actor)
        return await self.read_cache.config()

    async def invalidate(self, actor: Principal, pattern: str, kind: str | None = None) -> int:
        """Remove the tenant's entries matching `pattern`: a whole key pattern
        (`tenant:<domain>:resource:room-*`), or one over the id part (`room-*`, in
        `kind` or in every kind). Only the caller's tenant's keys can match."""
        _admin(actor)
        pattern = pattern.strip()
        if not pattern:
            raise Invalid("pattern", "must not be empty")
        if len(pattern) > MAX_ID:
            raise Invalid("pattern", f"is longer than {MAX_ID} characters")
        if kind is not None and kind not in KINDS:
            raise Invalid("type", f"must be one of {', '.join(KINDS)}")
        scope = scope_of(actor)
        if not pattern.startswith("tenant:"):
            pattern = f"{scope.prefix}{kind or '*'}:{pattern}"
        return await self.read_cache.invalidate(scope, pattern, kind)

    async def warm(
        self,
        actor: Principal,
        kind: str,
        targets: Sequence[str],
        range_from: datetime | None = None,
        range_till: datetime | None = None,
    ) -> Warmed:
        """Read each target once through the cache, as its readers would: resources
        and users by address, free/busy of addresses and the caller's calendars (by
        name) over the range. A target that cannot be read is reported, not fatal."""
        _admin(actor)
        if kind not in WARMABLE:
            raise Invalid("type", f"must be one of {', '.join(WARMABLE)}")
        if not targets:
            raise Invalid("targets", "must name at least one target")
        if len(targets) > MAX_TARGETS:
            raise Invalid("targets", f"may name at most {MAX_TARGETS}")
        timed = kind in ("calendar", "freebusy")
        if timed:
            range_from = range_from or self.clock.now()
            range_till = range_till or range_from + timedelta(days=WARM_DAYS)
            if range_till <= range_from:
                raise Impossible("date_range", "must end after it starts")
        else:
            range_from = range_till = None
        loaded: list[str] = []
        failed: list[tuple[str, str]] = []
        for target in dict.fromkeys(t.strip() for t in targets):
            if not target:
                raise Invalid("targets", "must not hold an empty target")
            try:
                if kind == "resource":
                    await self._resources.get(actor, target)
                elif kind == "user":
                    await self._people.get(actor, target.partition("@")[0].lower())
                elif kind == "freebusy":
                    assert range_from and range_till
                    await self._calendars.freebusy(actor, target, range_from, range_till)
                else:
                    assert range_from and range_till
                    await self._calendars.events(actor, target, range_from, range_till)
            except (NotFound, Forbidden, Invalid) as exc:
                failed.append((target, str(exc)))
            else:
                loaded.append(target)
        return Warmed(kind, loaded, failed, range_from, range_till)


def _admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden("cache", "", "Only an administrator may do this")
