"""The in-process memo (infrastructure/cache.py): overlapping misses share one load, a
load that races a change is not kept, and a failed load keeps nothing."""

from __future__ import annotations

import asyncio

import pytest

from townhall.infrastructure.cache import TTLCache


async def test_overlapping_misses_share_one_load() -> None:
    memo: TTLCache[str, int] = TTLCache(60)
    loads = 0
    gate = asyncio.Event()

    async def load() -> int:
        nonlocal loads
        loads += 1
        await gate.wait()
        return 7

    waiting = [asyncio.create_task(memo.fetch("k", load)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [7] * 20
    assert loads == 1
    assert await memo.fetch("k", load) == 7
    assert loads == 1  # kept


async def test_a_load_begun_before_a_clear_is_answered_but_not_kept() -> None:
    memo: TTLCache[str, str] = TTLCache(60)
    gate = asyncio.Event()

    async def stale() -> str:
        await gate.wait()
        return "before the change"

    first = asyncio.create_task(memo.fetch("k", stale))
    await asyncio.sleep(0)
    memo.clear()  # the change is committed while the load is out

    async def fresh() -> str:
        return "after the change"

    assert await memo.fetch("k", fresh) == "after the change"
    gate.set()
    assert await first == "before the change"
    assert memo.get("k") == "after the change"


async def test_a_failed_load_reaches_every_waiter_and_keeps_nothing() -> None:
    memo: TTLCache[str, int] = TTLCache(60)
    gate = asyncio.Event()

    async def failing() -> int:
        await gate.wait()
        raise LookupError("gone")

    waiting = [asyncio.create_task(memo.fetch("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    for task in waiting:
        with pytest.raises(LookupError):
            await task

    async def found() -> int:
        return 1

    assert await memo.fetch("k", found) == 1


async def test_a_waiter_that_leaves_does_not_cancel_the_load() -> None:
    memo: TTLCache[str, int] = TTLCache(60)
    gate = asyncio.Event()

    async def load() -> int:
        await gate.wait()
        return 3

    leaving = asyncio.create_task(memo.fetch("k", load))
    staying = asyncio.create_task(memo.fetch("k", load))
    await asyncio.sleep(0)
    leaving.cancel()
    gate.set()
    assert await staying == 3
    assert leaving.cancelled()
    assert memo.get("k") == 3
