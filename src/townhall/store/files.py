"""People's files and folders: the metadata rows (`files`); the bytes are in a file
store (infrastructure.filestore), named by each row's `blob`.

Paths are kept without a leading `/` ("docs/a.pdf"); the top folder is "" and has no
row. Every row's `parent` is the path of the folder it is in, so a folder is listed by
one indexed query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement

from townhall.store.database import Tx
from townhall.store.schema import files

FILE = "file"
DIRECTORY = "directory"


@dataclass(frozen=True, slots=True)
class Entry:
    """A file (with size, mime type and its blob) or a folder (none of those)."""

    path: str
    name: str
    kind: str
    modified_at: datetime
    size: int | None = None
    mime_type: str | None = None
    blob: str | None = None


_COLUMNS = (
    files.c.path,
    files.c.name,
    files.c.kind,
    files.c.modified_at,
    files.c.size,
    files.c.mime_type,
    files.c.blob,
)


class _ByteOrder(ColumnElement[str]):
    """A text column ordered by its bytes, as SQLite's BINARY collation orders it; on
    PostgreSQL `COLLATE "C"`, so a listing comes in the same order on both (the
    database's locale would put `a` before `B`, SQLite after)."""

    inherit_cache = False

    def __init__(self, column: ColumnElement[str]) -> None:
        self.column = column
        self.type = column.type


@compiles(_ByteOrder)
def _plain(element: _ByteOrder, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(_ByteOrder, "postgresql")
def _in_c(element: _ByteOrder, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.column, **kw)} COLLATE "C"'


def _entry(row: object) -> Entry:
    return Entry(*row)  # type: ignore[misc]


async def get(tx: Tx, user_id: int, path: str) -> Entry | None:
    found = await tx.execute(
        select(*_COLUMNS).where(files.c.user_id == user_id, files.c.path == path)
    )
    row = found.first()
    return _entry(row) if row is not None else None


async def children(
    tx: Tx, user_id: int, parent: str, offset: int, limit: int
) -> tuple[list[Entry], int]:
    """A folder's entries, folders first, then by name; and how many there are."""
    mine = (files.c.user_id == user_id, files.c.parent == parent)
    total = (await tx.execute(select(func.count()).select_from(files).where(*mine))).scalar()
    query = (
        select(*_COLUMNS)
        .where(*mine)
        .order_by((files.c.kind == FILE).asc(), _ByteOrder(files.c.name))
        .offset(offset)
        .limit(limit)
    )
    return [_entry(row) for row in await tx.execute(query)], int(total or 0)


async def used_bytes(tx: Tx, user_id: int) -> int:
    found = await tx.execute(
        select(func.coalesce(func.sum(files.c.size), 0)).where(files.c.user_id == user_id)
    )
    return int(found.scalar() or 0)


async def add_folder(tx: Tx, user_id: int, path: str, parent: str, name: str, at: datetime) -> None:
    await tx.execute(
        insert(files).values(
            user_id=user_id, path=path, parent=parent, name=name, kind=DIRECTORY, modified_at=at
        )
    )


async def put_file(tx: Tx, user_id: int, parent: str, entry: Entry, exists: bool) -> None:
    """Write the file's row: a new one, or the existing one at its path replaced."""
    values = {
        "size": entry.size,
        "mime_type": entry.mime_type,
        "blob": entry.blob,
        "modified_at": entry.modified_at,
    }
    if exists:
        await tx.execute(
            update(files)
            .where(files.c.user_id == user_id, files.c.path == entry.path)
            .values(**values)
        )
        return
    await tx.execute(
        insert(files).values(
            user_id=user_id, path=entry.path, parent=parent, name=entry.name, kind=FILE, **values
        )
    )


async def touch(tx: Tx, user_id: int, path: str, at: datetime) -> None:
    """A folder changed (an entry came or went) at `at`; the top folder has no row."""
    if path:
        await tx.execute(
            update(files)
            .where(files.c.user_id == user_id, files.c.path == path)
            .values(modified_at=at)
        )


async def remove(tx: Tx, user_id: int, path: str) -> list[str]:
    """Remove the entry at `path` and, for a folder, everything in it; answer the blobs
    that held their bytes."""
    within = or_(files.c.path == path, files.c.path.startswith(path + "/", autoescape=True))
    mine = (files.c.user_id == user_id, within)
    blobs = await tx.execute(select(files.c.blob).where(*mine, files.c.blob.is_not(None)))
    found = [str(b) for b in blobs.scalars()]
    await tx.execute(delete(files).where(*mine))
    return found


async def named(tx: Tx, blobs: list[str]) -> set[str]:
    """Which of these blobs a row names."""
    found = await tx.execute(select(files.c.blob).where(files.c.blob.in_(blobs)))
    return {str(b) for b in found.scalars()}
