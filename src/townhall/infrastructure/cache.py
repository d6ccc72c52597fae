"""A tiny in-process memo with a time-to-live.

Used only for values that are cheap to be briefly stale and costly to fetch on every
request (tenant by host, the Openfire plugin's auth settings and accepted credentials,
session holders). Services drop entries on their own events, so within one process a
change is seen at once; other processes see it when Redis relays the event, or when the
TTL runs out without Redis.

`fetch` loads a missing entry once however many requests miss it together: when an
entry expires under load, one query refreshes it and the others wait for its answer
instead of each sending the same query (a burst of 64 at 64 connections).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}
        self._generation = 0
        """Counts `clear`s: a load begun before one may have read what the change
        replaced, so its answer is handed to its waiters but not kept."""

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl, value)

    def clear(self) -> None:
        self._entries.clear()
        self._loading.clear()
        self._generation += 1

    async def fetch(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The entry for `key`, else what `load` answers (kept for the TTL). Misses of
        one key that overlap share one `load`; its error reaches each of them and
        nothing is kept. A waiter that is cancelled does not cancel the load."""
        found = self.get(key)
        if found is not None:
            return found
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, load, self._generation))
            pending.add_done_callback(_retrieved)  # no warning if every waiter left
            self._loading[key] = pending
        return await asyncio.shield(pending)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]], generation: int) -> V:
        try:
            value = await load()
        finally:
            if generation == self._generation:
                self._loading.pop(key, None)
        if generation == self._generation:
            self.put(key, value)
        return value


def _retrieved(done: asyncio.Future[Any]) -> None:
    if not done.cancelled():
        done.exception()
