"""The local file store: each blob one file under the store's folder.

The key's parts (`<tenant>/<person>/<random>`) are folders, so removing a person's
blobs is removing one folder. A blob is written as `<key>.part` and renamed into place
when complete, so a reader never sees half a blob. The file system's calls run in a
worker thread, so a slow disk never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO

from . import CHUNK


def _open_new(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


def _finish(handle: BinaryIO, partial: Path, final: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(partial, final)


def _discard(handle: BinaryIO, partial: Path) -> None:
    handle.close()
    partial.unlink(missing_ok=True)


class LocalFileStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
            raise ValueError(f"not a blob key: {key!r}")
        return self.folder.joinpath(*parts)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        final = self._path(key)
        partial = final.with_name(final.name + ".part")
        handle = await asyncio.to_thread(_open_new, partial)
        size = 0
        try:
            async for chunk in chunks:
                await asyncio.to_thread(handle.write, chunk)
                size += len(chunk)
            await asyncio.to_thread(_finish, handle, partial, final)
        except BaseException:
            await asyncio.to_thread(_discard, handle, partial)
            raise
        return size

    async def read(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def remove(self, keys: Sequence[str]) -> None:
        def unlink() -> None:
            for key in keys:
                self._path(key).unlink(missing_ok=True)

        await asyncio.to_thread(unlink)

    async def keys(self) -> AsyncIterator[str]:
        found = await asyncio.to_thread(
            lambda: (
                [p for p in self.folder.rglob("*") if p.is_file()] if self.folder.exists() else []
            )
        )
        for path in found:
            yield path.relative_to(self.folder).as_posix()

    async def remove_prefix(self, prefix: str) -> None:
        folder = self._path(prefix.rstrip("/"))
        await asyncio.to_thread(shutil.rmtree, folder, True)
