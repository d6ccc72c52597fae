"""`/admin/cache/*`: the read cache's statistics, configuration, invalidation, warming.

Admin only. Everything is scoped to the caller's tenant: its keys
(`tenant:{domain}:{type}:{id}`), its hits and misses; a pattern can never reach another
tenant's keys. Field names are the reference's; what it leaves open is in
docs/rmp-mapping.md ("Cache").
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import msgspec
from litestar import Response, Router, get, post
from litestar.di import NamedDependency

from townhall.domain.principal import Principal
from townhall.services.caching import (
    MAX_TARGETS,
    PATTERN,
    CacheConfig,
    CacheService,
    CacheStats,
    KindStats,
)

from ..documents import wire
from .http import AnyRequest, admins, body, iso, ok, parse_time
from .models import Body, Time


class InvalidateBody(Body):
    pattern: str
    type: str | None = None


class DateRange(Body):
    start: Time | None = None
    end: Time | None = None


class WarmBody(Body):
    type: str
    targets: Annotated[list[str], msgspec.Meta(max_length=MAX_TARGETS)]
    date_range: DateRange | None = None


class TypeStats(TypedDict):
    keys: int
    hitRate: float
    hits: int
    misses: int
    avgTTL: int
    memoryUsed: str
    memoryBytes: int
    evictions: int | None


class StatsWire(TypedDict):
    hitRate: float
    hits: int
    misses: int
    totalKeys: int
    memoryUsed: str
    memoryBytes: int
    evictions: int
    byType: dict[str, TypeStats]


class Stats(TypedDict):
    success: bool
    stats: StatsWire


class Invalidated(TypedDict):
    success: bool
    invalidated: int
    message: str


class Warmed(TypedDict):
    success: bool
    type: str
    warmed: int
    targets: list[str]
    failed: list[dict[str, str]]
    dateRange: dict[str, str] | None


class ConfigWire(TypedDict):
    provider: str
    maxMemory: str | None
    maxEntries: int | None
    evictionPolicy: str
    ttlDefaults: dict[str, int]
    namespacing: dict[str, Any]
    note: str


class Config(TypedDict):
    success: bool
    config: ConfigWire


def size(count: int) -> str:
    """Bytes as the reference shows memory (`45MB`): the largest unit that keeps a
    number of at least 1, one decimal below ten."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    if unit == "B":
        return f"{count}B"
    return f"{value:.1f}{unit}" if value < 10 else f"{round(value)}{unit}"


def _kind(found: KindStats) -> TypeStats:
    return {
        "keys": found.keys,
        "hitRate": found.hit_rate,
        "hits": found.hits,
        "misses": found.misses,
        "avgTTL": found.avg_ttl,
        "memoryUsed": size(found.memory_bytes),
        "memoryBytes": found.memory_bytes,
        "evictions": found.evictions,
    }


def render_stats(found: CacheStats) -> StatsWire:
    return {
        "hitRate": found.hit_rate,
        "hits": found.hits,
        "misses": found.misses,
        "totalKeys": found.keys,
        "memoryUsed": size(found.memory_bytes),
        "memoryBytes": found.memory_bytes,
        "evictions": found.evictions,
        "byType": {kind: _kind(counted) for kind, counted in found.kinds.items()},
    }


def render_config(found: CacheConfig) -> ConfigWire:
    return {
        "provider": found.provider,
        "maxMemory": None if found.max_memory is None else size(found.max_memory),
        "maxEntries": found.max_entries,
        "evictionPolicy": found.eviction_policy,
        "ttlDefaults": found.ttl_defaults,
        "namespacing": {"enabled": True, "pattern": PATTERN},
        "note": found.note,
    }


@get("/admin/cache/stats", guards=[admins], opt=wire(answers={200: Stats}))
async def cache_stats(
    caching: NamedDependency[CacheService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    return ok(stats=render_stats(await caching.stats(principal)))


@get("/admin/cache/config", guards=[admins], opt=wire(answers={200: Config}))
async def cache_config(
    caching: NamedDependency[CacheService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    return ok(config=render_config(await caching.config(principal)))


@post(
    "/admin/cache/invalidate",
    status_code=200,
    guards=[admins],
    opt=wire(InvalidateBody, answers={200: Invalidated}),
)
async def cache_invalidate(
    request: AnyRequest,
    caching: NamedDependency[CacheService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, InvalidateBody)
    removed = await caching.invalidate(principal, asked.pattern, asked.type)
    return ok(invalidated=removed, message=f"Invalidated {removed} cache entries matching pattern")


@post(
    "/admin/cache/warm",
    status_code=200,
    guards=[admins],
    opt=wire(WarmBody, answers={200: Warmed}),
)
async def cache_warm(
    request: AnyRequest,
    caching: NamedDependency[CacheService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, WarmBody)
    span = asked.date_range or DateRange()
    done = await caching.warm(
        principal,
        asked.type,
        asked.targets,
        parse_time(span.start, "dateRange.start", required=False),
        parse_time(span.end, "dateRange.end", required=False),
    )
    shown = (
        {"start": iso(done.range_from), "end": iso(done.range_till)}
        if done.range_from and done.range_till
        else None
    )
    return ok(
        type=done.kind,
        warmed=len(done.loaded),
        targets=done.loaded,
        failed=[{"target": target, "reason": why} for target, why in done.failed],
        dateRange=shown,
    )


router = Router(path="/", route_handlers=[cache_stats, cache_config, cache_invalidate, cache_warm])
