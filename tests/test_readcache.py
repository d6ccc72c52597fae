"""The read cache's own promises, against a real Redis (and in process): a reader that
took its ticket before a write can never store what it read, and a process that could
not tell Redis of a write makes every older entry dead before the cache is used again.

The HTTP behaviour (stats, invalidation, warming, two server processes) is in
tests/dialects/rmp/test_cache.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.test_faults import PrivateRedis
from tests.test_sqlite_checkpoints import beside_another_process
from townhall.infrastructure.readcache import MemoryCache, ReadCache, RedisCache, Scope

SHARED_REDIS = "redis://127.0.0.1:6379/0"
ROOM = Scope(1, "example.org")
OTHER = Scope(2, "other.example")


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[ReadCache]:
    made: ReadCache = (
        MemoryCache(100)
        if request.param == "memory"
        else RedisCache(SHARED_REDIS, f"test-{uuid.uuid4().hex[:8]}")
    )
    yield made
    await made.invalidate(ROOM, "*")
    await made.invalidate(OTHER, "*")
    await made.close()


async def test_a_reader_that_read_before_a_write_stores_nothing(cache: ReadCache) -> None:
    blob, ticket = await cache.lookup(ROOM, "resource", "r1")
    assert blob is None
    await cache.forget(ROOM, ["resource"], everywhere=False)  # a write committed meanwhile
    await cache.store(ROOM, "resource", "r1", b'"old"', ticket)
    assert (await cache.lookup(ROOM, "resource", "r1"))[0] is None
    _, ticket = await cache.lookup(ROOM, "resource", "r1")
    await cache.store(ROOM, "resource", "r1", b'"new"', ticket)
    assert (await cache.lookup(ROOM, "resource", "r1"))[0] == b'"new"'


async def test_an_entry_of_another_shape_is_never_answered(cache: ReadCache) -> None:
    """After an upgrade that changes an answer type, entries of the old one are dead."""
    _, ticket = await cache.lookup(ROOM, "user", "u", "old-shape")
    await cache.store(ROOM, "user", "u", b"1", ticket, "old-shape")
    assert (await cache.lookup(ROOM, "user", "u", "old-shape"))[0] == b"1"
    blob, ticket = await cache.lookup(ROOM, "user", "u", "new-shape")
    assert blob is None
    await cache.store(ROOM, "user", "u", b"2", ticket, "old-shape")  # a ticket of another shape
    assert (await cache.lookup(ROOM, "user", "u", "old-shape"))[0] is None


async def test_forget_kills_the_kinds_of_one_tenant_or_of_all(cache: ReadCache) -> None:
    for scope in (ROOM, OTHER):
        for kind in ("resource", "user"):
            _, ticket = await cache.lookup(scope, kind, "x")
            await cache.store(scope, kind, "x", b"1", ticket)
    await cache.forget(ROOM, ["resource"], everywhere=False)
    assert (await cache.lookup(ROOM, "resource", "x"))[0] is None
    assert (await cache.lookup(ROOM, "user", "x"))[0] == b"1"
    assert (await cache.lookup(OTHER, "resource", "x"))[0] == b"1"
    await cache.forget(ROOM, ["user"], everywhere=True)
    assert (await cache.lookup(OTHER, "user", "x"))[0] is None
    stats = await cache.stats(OTHER)
    assert stats.kinds["user"].misses == 2 and stats.kinds["resource"].hits == 1


async def test_invalidate_counts_only_the_tenants_matching_keys(cache: ReadCache) -> None:
    for ident in ("room-1", "room-2", "desk-1"):
        _, ticket = await cache.lookup(ROOM, "resource", ident)
        await cache.store(ROOM, "resource", ident, b"1", ticket)
    _, ticket = await cache.lookup(OTHER, "resource", "room-1")
    await cache.store(OTHER, "resource", "room-1", b"1", ticket)
    assert await cache.invalidate(ROOM, "*:room-*", "user") == 0
    assert await cache.invalidate(ROOM, "*:room-*") == 2
    assert await cache.invalidate(ROOM, "*:room-*") == 0
    assert (await cache.stats(OTHER)).kinds["resource"].keys == 1


async def test_a_commit_by_another_process_kills_sqlite_stamped_entries(tmp_path: Path) -> None:
    """An in-process cache checked against SQLite's change stamp: a commit made by a
    connection that is not this process's (the CLI's, another worker's) kills every
    entry, and a reader that took its ticket before it stores nothing."""
    async with beside_another_process(tmp_path / "stamped.db") as (db, other):
        cache = MemoryCache(100, stamp=db.change_stamp)
        _, ticket = await cache.lookup(ROOM, "user", "u")
        await cache.store(ROOM, "user", "u", b"1", ticket)
        assert (await cache.lookup(ROOM, "user", "u"))[0] == b"1"
        other.execute("INSERT INTO t VALUES (1)")
        blob, ticket = await cache.lookup(ROOM, "user", "u")
        assert blob is None
        other.execute("INSERT INTO t VALUES (2)")  # committed between lookup and store
        await cache.store(ROOM, "user", "u", b"2", ticket)
        assert (await cache.lookup(ROOM, "user", "u"))[0] is None
        assert "change stamp" in (await cache.config()).note


def test_the_in_process_cache_evicts_the_least_recently_used() -> None:
    async def run() -> None:
        small = MemoryCache(2)
        for ident in ("a", "b", "c"):
            _, ticket = await small.lookup(ROOM, "user", ident)
            await small.store(ROOM, "user", ident, b"1", ticket)
        stats = await small.stats(ROOM)
        assert stats.kinds["user"].keys == 2 and stats.kinds["user"].evictions == 1
        assert (await small.lookup(ROOM, "user", "a"))[0] is None

    asyncio.run(run())


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_a_write_redis_missed_kills_older_entries_before_the_cache_is_used_again() -> None:
    redis = PrivateRedis(_port())
    redis.start()
    deployment = f"test-{uuid.uuid4().hex[:8]}"
    reader, writer = RedisCache(redis.url, deployment), RedisCache(redis.url, deployment)
    try:
        _, ticket = await reader.lookup(ROOM, "resource", "r1")
        await reader.store(ROOM, "resource", "r1", b'"old"', ticket)
        assert redis.process is not None
        os.kill(redis.process.pid, signal.SIGSTOP)  # unreachable, yet keeps its data
        try:
            with pytest.raises(Exception):  # noqa: B017 - whatever the client raises
                await writer.forget(ROOM, ["resource"], everywhere=False)
        finally:
            os.kill(redis.process.pid, signal.SIGCONT)
        assert writer.owes_flush
        with pytest.raises(ConnectionError):  # the writer answers from the database
            await writer.lookup(ROOM, "resource", "r1")
        for _ in range(100):  # its background flush reaches Redis again
            if not writer.owes_flush:
                break
            await asyncio.sleep(0.05)
        assert not writer.owes_flush
        assert (await reader.lookup(ROOM, "resource", "r1"))[0] is None
    finally:
        await reader.close()
        await writer.close()
        redis.kill()


def _port() -> int:
    from tests.conftest import _free_port

    return _free_port()
