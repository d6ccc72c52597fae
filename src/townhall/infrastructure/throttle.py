"""Counting attempts in fixed windows, in one process or across processes (Redis).

A counter starts at its first attempt and lives for one window; while it stands at its
limit or beyond, the key is held back until the window ends. `attempt` counts BEFORE
the caller does its expensive work (a password hash), so a flood of concurrent attempts
is refused without doing that work, whichever process each one reaches: the count is
taken and compared in one atomic step.

With `TOWNHALL_REDIS_URL` the counters are Redis keys under a per-deployment prefix
(`Settings.deployment_name`), so every server process of one deployment shares them and
two deployments on the same Redis never do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_PRUNE_EVERY = 1024


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `attempts` per `window_seconds` for one `key`."""

    key: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """`wait`: None if the attempt may go ahead, else the seconds (at least 1) until the
    window that holds it back ends. `last`: it is the last one a window lets through,
    so its failure is worth telling an operator about."""

    wait: int | None
    last: bool = False


class Throttle:
    """In-process counters (one server process: a dictionary is the shared state)."""

    def __init__(self, window_seconds: int, prefix: str = "townhall") -> None:
        self.window = max(1, window_seconds)
        self.prefix = prefix
        self._counts: dict[str, tuple[int, float]] = {}
        self._calls = 0

    async def attempt(self, limits: Sequence[Limit]) -> Attempt:
        """Count one attempt against every key."""
        now = time.monotonic()
        self._prune(now)
        counted: list[tuple[int, float]] = []
        for limit in limits:
            count, ends = self._counts.get(limit.key, (0, now + self.window))
            if ends <= now:
                count, ends = 0, now + self.window
            self._counts[limit.key] = (count + 1, ends)
            counted.append((count + 1, ends - now))
        return _verdict(limits, counted)

    async def settle(self, clear: Sequence[str] = (), forgive: Sequence[str] = ()) -> None:
        """Start the keys in `clear` afresh, and take one attempt back from those in
        `forgive` (an attempt that turned out not to be a failure)."""
        for key in clear:
            self._counts.pop(key, None)
        for key in forgive:
            count, ends = self._counts.get(key, (0, 0.0))
            if count > 1:
                self._counts[key] = (count - 1, ends)
            else:
                self._counts.pop(key, None)

    def key(self, *parts: object) -> str:
        return ":".join((self.prefix, *(str(p) for p in parts)))

    def _prune(self, now: float) -> None:
        self._calls += 1
        if self._calls % _PRUNE_EVERY == 0:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}

    async def close(self) -> None:
        return None


class RedisThrottle(Throttle):
    """Counters as Redis keys: created with their expiry and incremented in one
    transaction, so no crash between the two can leave a key that never expires."""

    def __init__(self, url: str, window_seconds: int, prefix: str) -> None:
        super().__init__(window_seconds, prefix)
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(url)

    async def attempt(self, limits: Sequence[Limit]) -> Attempt:
        window_ms = self.window * 1000
        async with self._redis.pipeline(transaction=True) as pipe:
            for limit in limits:
                pipe.set(limit.key, 0, px=window_ms, nx=True)
                pipe.incr(limit.key)
                pipe.pttl(limit.key)
            answers = await pipe.execute()
        counted = [
            (int(answers[3 * i + 1]), max(int(answers[3 * i + 2]), 0) / 1000)
            for i in range(len(limits))
        ]
        return _verdict(limits, counted)

    async def settle(self, clear: Sequence[str] = (), forgive: Sequence[str] = ()) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            if clear:
                pipe.delete(*clear)
            for key in forgive:
                # A plain DECR of a key that expired meanwhile would leave one that never
                # expires; the script removes a key that reaches zero.
                pipe.eval(_FORGIVE, 1, key)
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()


_FORGIVE = """
local left = redis.call('DECR', KEYS[1])
if left <= 0 then redis.call('DEL', KEYS[1]) end
return left
"""


def _verdict(limits: Sequence[Limit], counted: Sequence[tuple[int, float]]) -> Attempt:
    """From each key's count (this attempt included) and the seconds its window has left."""
    pairs = list(zip(limits, counted, strict=True))
    waits = [left for limit, (n, left) in pairs if n > limit.attempts]
    if waits:
        return Attempt(max(1, math.ceil(max(waits))))
    return Attempt(None, any(n == limit.attempts for limit, (n, _) in pairs))


def make_throttle(redis_url: str | None, window_seconds: int, prefix: str) -> Throttle:
    if redis_url:
        return RedisThrottle(redis_url, window_seconds, prefix)
    return Throttle(window_seconds, prefix)
