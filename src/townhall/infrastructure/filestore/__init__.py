"""Where the bytes of people's files are kept: the `FileStore` port and its adapters.

The default adapter keeps them in a local folder (`local.py`); the other keeps them in
the database in chunks (`townhall.store.file_chunks`), so that every host of a
PostgreSQL deployment serves the same files. The file service sees only this port.

A blob is named by a key the service makes (`<tenant id>/<person id>/<random>`), never
by the path a person gave, so no path can reach outside the store, and a person's (or a
tenant's) blobs are removed by prefix. Blobs are written once and never changed: a new
version of a file is a new blob, so the metadata row decides, in one transaction, which
bytes a path has.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Protocol

CHUNK = 256 * 1024
"""How many bytes a store reads (and the database store writes) at a time."""


class FileStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store the bytes `chunks` yields under `key`, a chunk at a time (never all of
        them in memory), and answer how many there were. If `chunks` raises, or the
        store fails, nothing stays under `key` and the error goes on."""

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The bytes under `key`, a chunk at a time."""

    async def remove(self, keys: Sequence[str]) -> None:
        """Drop these blobs (those already gone are no error)."""

    def keys(self) -> AsyncIterator[str]:
        """Every blob's key, those still being written too (for the sweep of blobs
        that no upload finished)."""

    async def remove_prefix(self, prefix: str) -> None:
        """Drop every blob whose key starts with `prefix` (`7/` a tenant's, `7/12/` a
        person's)."""
