"""The database file store: blobs kept in `file_chunks`, so every host of a PostgreSQL
deployment serves the same files (`TOWNHALL_FILE_STORE=database`).

Each chunk is its own short write, so an upload never holds a write transaction open
while the client sends (on SQLite that would stop every other write). A blob is only
reachable once the file service's metadata row names it, which is what makes an upload
all or nothing; a failed `put` deletes the chunks it wrote. Reads fetch one chunk per
statement, so a download never has more than one chunk in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence

from sqlalchemy import delete, insert, select

from .database import Database
from .schema import file_chunks

CHUNK = 256 * 1024
"""The most bytes one row holds."""


class DatabaseFileStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _write(self, key: str, seq: int, data: bytes) -> None:
        async with self.db.write() as tx:
            await tx.execute(insert(file_chunks).values(blob=key, seq=seq, data=data))

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        pending = bytearray()
        seq = 0
        size = 0
        try:
            async for chunk in chunks:
                pending += chunk
                size += len(chunk)
                while len(pending) >= CHUNK:
                    await self._write(key, seq, bytes(pending[:CHUNK]))
                    del pending[:CHUNK]
                    seq += 1
            if pending:
                await self._write(key, seq, bytes(pending))
        except BaseException:
            await self.remove([key])
            raise
        return size

    async def read(self, key: str) -> AsyncIterator[bytes]:
        seq = 0
        while True:
            async with self.db.read() as tx:
                found = await tx.execute(
                    select(file_chunks.c.data).where(
                        file_chunks.c.blob == key, file_chunks.c.seq == seq
                    )
                )
                data = found.scalar()
            if data is None:
                return
            yield bytes(data)
            seq += 1

    async def remove(self, keys: Sequence[str]) -> None:
        if keys:
            async with self.db.write() as tx:
                await tx.execute(delete(file_chunks).where(file_chunks.c.blob.in_(list(keys))))

    async def keys(self) -> AsyncIterator[str]:
        async with self.db.read() as tx:
            found = await tx.execute(select(file_chunks.c.blob).distinct())
            keys = [str(k) for k in found.scalars()]
        for key in keys:
            yield key

    async def remove_prefix(self, prefix: str) -> None:
        async with self.db.write() as tx:
            await tx.execute(
                delete(file_chunks).where(file_chunks.c.blob.startswith(prefix, autoescape=True))
            )
