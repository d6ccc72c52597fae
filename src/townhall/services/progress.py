"""How far a long use case is, told as it goes, and where it lets others run.

Why here and not in the job service: the work (an import) reports progress without
knowing who follows it — a job's record, the CLI's bar, or nobody. And because SQLite
statements run straight on the event loop (store/database.py), a long loop of them
would hold every other request back; `advance` gives the loop back every few
milliseconds, so `/healthz` and other requests of the same process stay fast.
"""

from __future__ import annotations

import asyncio
import time

YIELD_EVERY_SECONDS = 0.001
"""Longest stretch of work between two chances for the event loop to serve others."""


class Progress:
    """`stage` (checking, writing, ...) and `done` of `total` in it; a plain counter
    that anyone holding it may read at any moment."""

    __slots__ = ("_since", "done", "stage", "total")

    def __init__(self) -> None:
        self.stage = ""
        self.done = 0
        self.total = 0
        self._since = time.monotonic()

    def begin(self, stage: str, total: int) -> None:
        self.stage = stage
        self.total = total
        self.done = 0

    async def advance(self, count: int = 1) -> None:
        """Count `count` more done; let the event loop serve others if it has waited."""
        self.done += count
        now = time.monotonic()
        if now - self._since >= YIELD_EVERY_SECONDS:
            await asyncio.sleep(0)
            self._since = time.monotonic()
