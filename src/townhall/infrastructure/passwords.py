"""Password hashing with argon2id, off the event loop.

Hashing is deliberately slow, so it runs in the default thread pool (argon2-cffi
releases the GIL), letting both cores hash while the loop keeps serving reads.
Verification results are remembered per (stored hash, offered password digest) for the
life of the process: a repeated HTTP Basic login costs a dictionary lookup instead of an
argon2 run, and a password change produces a new stored hash, so the memo can never
vouch for a stale password.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_MEMO_LIMIT = 4096


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int, pepper: bytes = b"") -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._pepper = pepper or os.urandom(32)
        self._verified: dict[tuple[str, bytes], asyncio.Future[bool]] = {}

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Concurrent checks of the same credentials share one argon2 run."""
        key = (stored_hash, hmac.new(self._pepper, password.encode(), hashlib.sha256).digest())
        pending = self._verified.get(key)
        if pending is None:
            if len(self._verified) >= _MEMO_LIMIT:
                self._verified.clear()
            pending = asyncio.ensure_future(asyncio.to_thread(self._check, stored_hash, password))
            self._verified[key] = pending
        return await asyncio.shield(pending)

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
