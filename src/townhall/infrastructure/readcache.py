"""The read cache: answers of hot reads kept by key, in Redis or in this process.

Keys follow `tenant:{domain}:{kind}:{id}` (in Redis behind the deployment's prefix, so
two deployments on one Redis never share entries). Services decide what is cached
(`services/cached.py`) and what a write makes stale; this module only keeps entries.

Why a write can never leave a stale answer behind, without relying on a TTL:
every entry is stored with a *tag* made of generation counters (one per kind for the
whole deployment, one per kind and tenant) and of the answer type's shape. A write
bumps the generations of the kinds it touched (`forget`), so every entry stored before
is dead at once: a lookup only answers an entry whose tag equals the current one. A
reader takes the tag *before* it reads the database (`lookup` hands it back as the
ticket) and `store` keeps the value only if the tag is still the same, atomically (a
Lua script in Redis; no await in between in process). So a reader that read the old
row while a write committed can never store it after the write's `forget`: either its
store came first (and the bump kills it) or its ticket is out of date (and nothing is
stored). TTLs only bound memory.

In Redis the generations, the entries and the hit counters are shared by every process,
so a `forget` done before the write answers holds for all of them. In process there is
no shared memory, but a database may keep a number that every commit changes, in any
process (where SQLite's WAL stands): then that number is part of every tag, and an entry
dies with any commit anywhere, the CLI's and other workers' included. Without Redis
and without such a number, `make_read_cache` keeps a cache in process for a single
worker only (each of several would keep its own stale copies).

Redis may go away. Writes go on (as the event bus does, the database is the truth), and
a process that failed to reach Redis for any cache call owes a flush: it answers from
the database only until it has made every entry of every tenant dead (one bump of each
kind's deployment-wide generation), which it keeps trying in the background every
`FLUSH_RETRY_SECONDS`. So when Redis returns, entries
older than a write made during the outage are dead before that process reads again, and
other processes that noticed the outage flush too. What remains is a process that
reached Redis all along while the writer could not (a partition between them only):
it may answer such an entry until the writer's next retry reaches Redis, or its TTL
ends (docs/rmp-mapping.md, "Cache").
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import functools
import hashlib
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

log = logging.getLogger(__name__)
T = TypeVar("T")

KINDS = ("calendar", "resource", "freebusy", "user")
"""What is cached: the reads the RMP reference names."""
TTL_DEFAULTS = {"calendar": 300, "resource": 300, "freebusy": 60, "user": 600}
"""Seconds an entry lives at most (memory housekeeping; never what keeps answers fresh)."""
PATTERN = "tenant:{domain}:{type}:{id}"
MAX_ID = 400
"""Longer ids are not cached (a key stays a key, not a payload)."""
CONNECT_TIMEOUT_SECONDS = 2.0
FLUSH_RETRY_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Scope:
    """The tenant whose entries a call reads or changes."""

    tenant_id: int
    domain: str

    @property
    def prefix(self) -> str:
        return f"tenant:{self.domain}:"

    def key(self, kind: str, ident: str) -> str:
        return f"{self.prefix}{kind}:{ident}"


@dataclass(slots=True)
class KindStats:
    keys: int = 0
    hits: int = 0
    misses: int = 0
    memory_bytes: int = 0
    evictions: int | None = 0
    ttl_total: float = 0.0

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return round(self.hits / asked, 4) if asked else 0.0

    @property
    def avg_ttl(self) -> int:
        return round(self.ttl_total / self.keys) if self.keys else 0


@dataclass(slots=True)
class CacheStats:
    """One tenant's counts per kind. `evictions` is the cache's own total: in process
    the entries this tenant lost to the size limit, in Redis the server's
    `evicted_keys` (Redis does not say whose keys it evicted)."""

    kinds: dict[str, KindStats] = field(default_factory=lambda: {k: KindStats() for k in KINDS})
    evictions: int = 0

    @property
    def hits(self) -> int:
        return sum(k.hits for k in self.kinds.values())

    @property
    def misses(self) -> int:
        return sum(k.misses for k in self.kinds.values())

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return round(self.hits / asked, 4) if asked else 0.0

    @property
    def keys(self) -> int:
        return sum(k.keys for k in self.kinds.values())

    @property
    def memory_bytes(self) -> int:
        return sum(k.memory_bytes for k in self.kinds.values())


@dataclass(frozen=True, slots=True)
class CacheConfig:
    provider: str  # redis, memory or none
    max_memory: int | None  # bytes; None: unbounded or unknown
    max_entries: int | None
    eviction_policy: str
    ttl_defaults: dict[str, int]
    note: str = ""


class ReadCache(ABC):
    """Where services keep the answers of their hot reads."""

    provider = "none"

    @abstractmethod
    async def lookup(
        self, scope: Scope, kind: str, ident: str, shape: str = ""
    ) -> tuple[bytes | None, str]:
        """The live entry (None on a miss, counted either way) and the ticket `store`
        needs: the tag as it was before the caller reads the database. `shape` names the
        answer's structure (`shape_of`): an entry another version of the code stored in
        another shape is never answered."""

    @abstractmethod
    async def store(
        self, scope: Scope, kind: str, ident: str, blob: bytes, ticket: str, shape: str = ""
    ) -> None:
        """Keep `blob` unless a write bumped the tag since `ticket` was taken."""

    @abstractmethod
    async def forget(self, scope: Scope, kinds: Iterable[str], everywhere: bool) -> None:
        """Make every entry of these kinds dead: of the tenant, or of every tenant."""

    @abstractmethod
    async def invalidate(self, scope: Scope, pattern: str, kind: str | None = None) -> int:
        """Remove the tenant's keys (of `kind`, if given) matching a glob pattern (`*`,
        `?`, `[...]`) over the whole key; how many were removed."""

    @abstractmethod
    async def stats(self, scope: Scope) -> CacheStats: ...

    @abstractmethod
    async def config(self) -> CacheConfig: ...

    async def close(self) -> None:
        return None

    async def fetch(
        self,
        scope: Scope,
        kind: str,
        ident: str,
        load: Callable[[], Awaitable[T]],
        answer: Any,
    ) -> T:
        """Read through: the cached answer, or `load()`'s, kept for the next reader.
        `answer` is the type to decode into. A cache that fails is skipped: the
        database answers (an error never becomes a stale or a missing answer)."""
        if len(ident) > MAX_ID:
            return await load()
        shape = shape_of(answer)
        try:
            blob, ticket = await self.lookup(scope, kind, ident, shape)
        except Exception as exc:  # the cache logged the outage once
            log.debug("cache lookup failed (%s): %s", kind, exc)
            return await load()
        if blob is not None:
            try:
                decoded: T = msgspec.json.decode(blob, type=answer)
            except msgspec.DecodeError as exc:  # not ours after all: read it anew
                log.warning("cache entry of %s not readable: %s", kind, exc)
            else:
                return decoded
        value = await load()
        try:
            await self.store(scope, kind, ident, msgspec.json.encode(value), ticket, shape)
        except Exception as exc:
            log.debug("cache store failed (%s): %s", kind, exc)
        return value


def _matches(scope: Scope, key: str, pattern: str, kind: str | None) -> bool:
    """Whether a key of the tenant (of `kind`) matches the glob `pattern`."""
    within = scope.prefix + (f"{kind}:" if kind else "")
    return key.startswith(within) and fnmatch.fnmatchcase(key, pattern)


@functools.cache
def shape_of(answer: Any) -> str:
    """A short digest of an answer type's structure (its JSON schema), part of every
    entry's tag: after an upgrade that changes a type, old entries are dead."""
    try:
        described = msgspec.json.encode(msgspec.json.schema(answer))
    except Exception:  # a type msgspec cannot describe: its name, at least
        described = repr(answer).encode()
    return hashlib.sha256(described).hexdigest()[:10]


def _tag(generations: dict[str, int], scope: Scope, kind: str, shape: str) -> str:
    every = generations.get(kind, 0)
    mine = generations.get(f"{scope.tenant_id}:{kind}", 0)
    return f"{every}.{scope.tenant_id}.{mine}.{shape}"


class NoCache(ReadCache):
    """Nothing kept: every read goes to the database (several workers without Redis,
    or `TOWNHALL_CACHE=off`)."""

    provider = "none"

    def __init__(self, note: str = "") -> None:
        self._note = note
        self._misses: dict[tuple[str, str], int] = {}

    async def lookup(
        self, scope: Scope, kind: str, ident: str, shape: str = ""
    ) -> tuple[bytes | None, str]:
        self._misses[scope.domain, kind] = self._misses.get((scope.domain, kind), 0) + 1
        return None, ""

    async def store(
        self, scope: Scope, kind: str, ident: str, blob: bytes, ticket: str, shape: str = ""
    ) -> None:
        return None

    async def forget(self, scope: Scope, kinds: Iterable[str], everywhere: bool) -> None:
        return None

    async def invalidate(self, scope: Scope, pattern: str, kind: str | None = None) -> int:
        return 0

    async def stats(self, scope: Scope) -> CacheStats:
        found = CacheStats()
        for kind, counted in found.kinds.items():
            counted.misses = self._misses.get((scope.domain, kind), 0)
        return found

    async def config(self) -> CacheConfig:
        return CacheConfig("none", None, None, "none", dict(TTL_DEFAULTS), self._note)


@dataclass(slots=True)
class _Entry:
    domain: str
    kind: str
    tag: str
    blob: bytes
    expires: float
    ttl: int


class MemoryCache(ReadCache):
    """One process's cache: an LRU of at most `max_entries` entries."""

    provider = "memory"

    def __init__(
        self,
        max_entries: int = 10_000,
        ttls: dict[str, int] | None = None,
        stamp: Callable[[], object] | None = None,
    ) -> None:
        """`stamp`: the database's change stamp (`Database.change_stamp`), if it
        keeps one; it makes this cache safe beside other processes that write."""
        self._max = max_entries
        self._ttls = ttls or dict(TTL_DEFAULTS)
        self._stamp = stamp
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._counts: dict[tuple[str, str, str], int] = {}

    def _count(self, domain: str, kind: str, what: str) -> None:
        self._counts[domain, kind, what] = self._counts.get((domain, kind, what), 0) + 1

    async def lookup(
        self, scope: Scope, kind: str, ident: str, shape: str = ""
    ) -> tuple[bytes | None, str]:
        key = scope.key(kind, ident)
        tag = self._tag(scope, kind, shape)
        entry = self._entries.get(key)
        if entry is not None:
            if entry.tag == tag and entry.expires > time.monotonic():
                self._entries.move_to_end(key)
                self._count(scope.domain, kind, "hits")
                return entry.blob, tag
            del self._entries[key]
        self._count(scope.domain, kind, "misses")
        return None, tag

    async def store(
        self, scope: Scope, kind: str, ident: str, blob: bytes, ticket: str, shape: str = ""
    ) -> None:
        if self._tag(scope, kind, shape) != ticket:
            return  # a write came between the caller's lookup and now
        ttl = self._ttls.get(kind, 300)
        key = scope.key(kind, ident)
        self._entries[key] = _Entry(scope.domain, kind, ticket, blob, time.monotonic() + ttl, ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            _, evicted = self._entries.popitem(last=False)
            self._count(evicted.domain, evicted.kind, "evictions")

    def _tag(self, scope: Scope, kind: str, shape: str) -> str:
        tag = _tag(self._generations, scope, kind, shape)
        return tag if self._stamp is None else f"{tag}.{self._stamp()}"

    async def forget(self, scope: Scope, kinds: Iterable[str], everywhere: bool) -> None:
        for kind in kinds:
            name = kind if everywhere else f"{scope.tenant_id}:{kind}"
            self._generations[name] = self._generations.get(name, 0) + 1

    async def invalidate(self, scope: Scope, pattern: str, kind: str | None = None) -> int:
        doomed = [key for key in self._entries if _matches(scope, key, pattern, kind)]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    async def stats(self, scope: Scope) -> CacheStats:
        found = CacheStats()
        now = time.monotonic()
        for key, entry in self._entries.items():
            counted = found.kinds.get(entry.kind)
            if counted is None or not key.startswith(scope.prefix):
                continue
            counted.keys += 1
            counted.memory_bytes += len(key) + len(entry.blob)
            counted.ttl_total += max(0.0, entry.expires - now)
        for kind, counted in found.kinds.items():
            counted.hits = self._counts.get((scope.domain, kind, "hits"), 0)
            counted.misses = self._counts.get((scope.domain, kind, "misses"), 0)
            counted.evictions = self._counts.get((scope.domain, kind, "evictions"), 0)
        found.evictions = sum(k.evictions or 0 for k in found.kinds.values())
        return found

    async def config(self) -> CacheConfig:
        return CacheConfig(
            "memory",
            None,
            self._max,
            "lru",
            dict(self._ttls),
            "in each process, checked against the database's change stamp"
            if self._stamp is not None
            else "in this process only (one worker, no Redis)",
        )


_LOOKUP = """
local g = redis.call('HMGET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. ARGV[1])
local tag = (g[1] or '0') .. '.' .. ARGV[2] .. '.' .. (g[2] or '0') .. '.' .. ARGV[4]
local v = redis.call('GET', KEYS[1])
if v then
  local n = string.len(tag)
  if string.sub(v, 1, n + 1) == tag .. '|' then
    redis.call('HINCRBY', KEYS[3], ARGV[3] .. 'hits', 1)
    return {tag, string.sub(v, n + 2)}
  end
  redis.call('DEL', KEYS[1])
end
redis.call('HINCRBY', KEYS[3], ARGV[3] .. 'misses', 1)
return {tag}
"""
"""Answer the entry if its tag is current (dropping a dead one), count the hit or miss,
and hand back the current tag: one round trip, atomic."""

_STORE = """
local g = redis.call('HMGET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. ARGV[1])
local tag = (g[1] or '0') .. '.' .. ARGV[2] .. '.' .. (g[2] or '0') .. '.' .. ARGV[6]
if tag ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], tag .. '|' .. ARGV[4], 'EX', ARGV[5])
return 1
"""
"""Keep the entry only if no write bumped the tag since the reader's lookup."""


class RedisCache(ReadCache):
    """The deployment's cache in Redis, shared by every server process."""

    provider = "redis"

    def __init__(self, url: str, deployment: str, ttls: dict[str, int] | None = None) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._redis: Any = redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=CONNECT_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 1),
        )
        self._base = f"{deployment}:cache:"
        self._generations = f"{deployment}:cache-generations"
        self._counters = f"{deployment}:cache-counters"
        self._ttls = ttls or dict(TTL_DEFAULTS)
        self._lookup = self._redis.register_script(_LOOKUP)
        self._store = self._redis.register_script(_STORE)
        self._owed = False
        self._flusher: asyncio.Task[None] | None = None

    @property
    def owes_flush(self) -> bool:
        return self._owed

    def _failed(self, exc: BaseException) -> None:
        if not self._owed:
            log.warning("cache: Redis unreachable (%s); flushing once it is back", exc)
        self._owed = True
        if self._flusher is None or self._flusher.done():
            with contextlib.suppress(RuntimeError):  # no running loop: the next call flushes
                self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush(self) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for kind in KINDS:
                pipe.hincrby(self._generations, kind)
            await pipe.execute()
        if self._owed:
            log.warning("cache: Redis reachable again; every entry made before is dead")
        self._owed = False

    async def _flush_soon(self) -> None:
        while self._owed:
            with contextlib.suppress(Exception):
                await self._flush()
                return
            await asyncio.sleep(FLUSH_RETRY_SECONDS)

    async def _settled(self) -> None:
        """Raise while this process owes a flush: the background flusher alone tries
        Redis meanwhile, so reads do not each wait for an unreachable server."""
        if self._owed:
            raise ConnectionError("the cache owes a flush (Redis was unreachable)")

    async def lookup(
        self, scope: Scope, kind: str, ident: str, shape: str = ""
    ) -> tuple[bytes | None, str]:
        try:
            await self._settled()
            found = await self._lookup(
                keys=[self._base + scope.key(kind, ident), self._generations, self._counters],
                args=[kind, scope.tenant_id, f"{scope.domain}|{kind}|", shape],
            )
        except Exception as exc:
            self._failed(exc)
            raise
        tag = found[0].decode()
        return (bytes(found[1]) if len(found) > 1 else None), tag

    async def store(
        self, scope: Scope, kind: str, ident: str, blob: bytes, ticket: str, shape: str = ""
    ) -> None:
        try:
            await self._settled()
            await self._store(
                keys=[self._base + scope.key(kind, ident), self._generations],
                args=[kind, scope.tenant_id, ticket, blob, self._ttls.get(kind, 300), shape],
            )
        except Exception as exc:
            self._failed(exc)
            raise

    async def forget(self, scope: Scope, kinds: Iterable[str], everywhere: bool) -> None:
        try:
            await self._settled()
            async with self._redis.pipeline(transaction=True) as pipe:
                for kind in kinds:
                    field = kind if everywhere else f"{scope.tenant_id}:{kind}"
                    pipe.hincrby(self._generations, field)
                await pipe.execute()
        except Exception as exc:
            self._failed(exc)
            raise

    async def _keys(self, scope: Scope) -> list[bytes]:
        match = self._base + scope.prefix + "*"
        return [key async for key in self._redis.scan_iter(match=match, count=500)]

    async def invalidate(self, scope: Scope, pattern: str, kind: str | None = None) -> int:
        skip = len(self._base)
        doomed = [
            k for k in await self._keys(scope) if _matches(scope, k.decode()[skip:], pattern, kind)
        ]
        removed = 0
        for start in range(0, len(doomed), 500):
            removed += int(await self._redis.delete(*doomed[start : start + 500]))
        return removed

    async def stats(self, scope: Scope) -> CacheStats:
        found = CacheStats()
        keys = await self._keys(scope)
        skip = len(self._base) + len(scope.prefix)
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.memory_usage(key)
                pipe.ttl(key)
            answers = await pipe.execute() if keys else []
        for index, key in enumerate(keys):
            kind = key.decode()[skip:].partition(":")[0]
            counted = found.kinds.get(kind)
            memory, ttl = answers[2 * index], answers[2 * index + 1]
            if counted is None or memory is None:  # gone meanwhile
                continue
            counted.keys += 1
            counted.memory_bytes += int(memory)
            counted.ttl_total += max(0, int(ttl))
        counters = await self._redis.hgetall(self._counters)
        for kind, counted in found.kinds.items():
            counted.hits = int(counters.get(f"{scope.domain}|{kind}|hits".encode(), 0))
            counted.misses = int(counters.get(f"{scope.domain}|{kind}|misses".encode(), 0))
            counted.evictions = None  # Redis does not attribute its evictions
        info = await self._redis.info("stats")
        found.evictions = int(info.get("evicted_keys", 0))
        return found

    async def config(self) -> CacheConfig:
        max_memory: int | None = None
        policy = "unknown"
        with contextlib.suppress(Exception):  # CONFIG may be renamed or refused
            raw = await self._redis.config_get("maxmemory*")
            got = {_text(k): _text(v) for k, v in raw.items()}
            max_memory = int(got.get("maxmemory", "0")) or None
            policy = got.get("maxmemory-policy", policy)
        return CacheConfig(
            "redis", max_memory, None, policy, dict(self._ttls), "shared by every server process"
        )

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flusher
        with contextlib.suppress(Exception):
            await self._redis.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def make_read_cache(
    mode: str,
    redis_url: str | None,
    deployment: str,
    workers: int,
    max_entries: int,
    stamp: Callable[[], object] | None = None,
) -> ReadCache:
    """Redis where configured; else in process, checked against the database's change
    `stamp` where it keeps one (SQLite), or for a single worker; else none: several
    workers share no memory, so one worker could not make the others forget what a
    write changed."""
    if mode == "off":
        return NoCache("turned off (TOWNHALL_CACHE=off)")
    if mode not in ("auto", "on"):
        raise ValueError("TOWNHALL_CACHE must be auto, on or off")
    if redis_url:
        return RedisCache(redis_url, deployment)
    if stamp is not None:
        return MemoryCache(max_entries, stamp=stamp)
    if workers > 1:
        return NoCache("off: several workers without Redis cannot invalidate each other")
    return MemoryCache(max_entries)
