"""Every table's rows out of one consistent snapshot, and back in: the data of a backup.

Which tables: every table of the schema (`schema.metadata`), in foreign-key order, so a
restore can insert them in that order and delete them in the reverse one. Not the mail
engines' SQL views (they are queries over these tables), not `alembic_version` (the
archive names its revision instead), and not the live-connection registry and its room
occupants: they say which client is connected to which server process now, which is no
state to carry to another server (a restore ends them, as a restart would). Nor the
`jobs` table: it is this server's record of its own work (a restore running as a job is
one of its rows), so a restore leaves it exactly as it is, neither emptied nor filled
(it has no foreign key to the tenants the restore replaces: schema.py).

Each table is written as JSON lines, one object per row keyed by column name, rows in
primary-key order (so a self-referencing row comes after the row it names, and the same
data always gives the same bytes). Values are encoded by column type so they decode to
the same value on either database: bytes as base64, instants as ISO 8601 with their
offset (UTC, microseconds kept), JSON as it is, integers as JSON integers (Python's are
unbounded, so 64-bit ids survive). A JSON column can hold SQL NULL or a JSON `null`;
the second is listed in the row's reserved key `$jsonnull` so both come back as they were.

Generated ids: each table with one is also recorded with its sequence position (SQLite's
`sqlite_sequence`, PostgreSQL's sequence), and a restore moves the target's sequence
there (or to the highest id, if that is higher), so ids are never handed out twice, as
schema.py's `_ids_never_reused` promises, across the move.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    Table,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, StatementError

from townhall.store.database import ExclusionViolation, Snapshot, Tx, UniqueViolation
from townhall.store.schema import jobs, live_connections, metadata, room_occupants

PARTITION = 500
"""Rows read, and inserted, at a time: memory stays flat however large a table is."""
JSON_NULL_KEY = "$jsonnull"
NOT_STATE = frozenset({live_connections.name, room_occupants.name, jobs.name})
"""Tables of what is connected to which process now, and the server's own jobs (see
the module's docstring)."""
KEPT = frozenset({jobs.name})
"""Tables a restore neither empties nor fills: they stay as they are."""


def tables() -> list[Table]:
    """The backed-up tables, each after every table it refers to."""
    return [t for t in metadata.sorted_tables if t.name not in NOT_STATE]


def _sequenced(table: Table) -> Column[Any] | None:
    """The table's generated id column, if it has one."""
    key = list(table.primary_key.columns)
    if len(key) == 1 and key[0].autoincrement is True:
        return key[0]
    return None


def _is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON)


def _is_instant(column: Column[Any]) -> bool:
    impl = getattr(column.type, "impl", column.type)
    return isinstance(column.type, DateTime) or isinstance(impl, DateTime)


def _is_bytes(column: Column[Any]) -> bool:
    return isinstance(column.type, LargeBinary)


# --- encoding ---------------------------------------------------------------------------


def _encode(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if _is_bytes(column):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decode(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if _is_bytes(column):
        return base64.b64decode(value, validate=True)
    if _is_instant(column):
        return datetime.fromisoformat(value)
    return value


class Damaged(Exception):
    """A table's lines cannot be read back into its columns."""

    def __init__(self, table: str, reason: str) -> None:
        super().__init__(f"{table}: {reason}")
        self.table = table
        self.reason = reason


def _row_line(table: Table, row: Any) -> bytes:
    mapping = row._mapping
    out: dict[str, Any] = {}
    json_nulls = []
    for column in table.columns:
        value = mapping[column.name]
        if _is_json(column) and value is None and not mapping[f"isnull_{column.name}"]:
            json_nulls.append(column.name)
        out[column.name] = _encode(column, value)
    if json_nulls:
        out[JSON_NULL_KEY] = json_nulls
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _select(table: Table) -> Any:
    flags = [c.is_(None).label(f"isnull_{c.name}") for c in table.columns if _is_json(c)]
    order = list(table.primary_key.columns) or list(table.columns)
    return select(*table.columns, *flags).order_by(*order)


@dataclass(frozen=True, slots=True)
class Dumped:
    """One table's part of the archive: its file, row count, digest and sequence."""

    name: str
    path: Path
    rows: int
    sha256: str
    sequence: int | None


async def schema_revision(tx: Snapshot | Tx) -> str | None:
    """The Alembic revision the database is at (None before any migration)."""
    try:
        found = await tx.execute(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return None
    value = found.scalar()
    return str(value) if value is not None else None


async def sequence_of(snap: Snapshot | Tx, kind: str, table: Table) -> int | None:
    """Where the table's id generator stands (None: no generator, or never used)."""
    if _sequenced(table) is None:
        return None
    if kind == "sqlite":
        found = await snap.execute(
            text("SELECT seq FROM sqlite_sequence WHERE name = :name"), {"name": table.name}
        )
        value = found.scalar()
        return int(value) if value is not None else None
    column = _sequenced(table)
    assert column is not None
    name = (
        await snap.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
        )
    ).scalar()
    if name is None:
        return None
    found = await snap.execute(text(f"SELECT last_value, is_called FROM {name}"))
    last, called = tuple(found.one())
    return int(last) if called else None


async def dump_table(snap: Snapshot, table: Table, out: IO[bytes]) -> tuple[int, str]:
    """Write the table's rows as JSON lines to `out`: (rows, sha256 of the bytes)."""
    digest = hashlib.sha256()
    count = 0
    async for part in snap.stream(_select(table), PARTITION):
        chunk = b"".join(_row_line(table, row) for row in part)
        digest.update(chunk)
        out.write(chunk)
        count += len(part)
    return count, digest.hexdigest()


async def dump(snap: Snapshot, folder: Path) -> AsyncIterator[Dumped]:
    """Every table into `folder/<name>.jsonl`, in foreign-key order, one at a time."""
    for table in tables():
        path = folder / f"{table.name}.jsonl"
        with path.open("wb") as out:
            rows, sha = await dump_table(snap, table, out)
        yield Dumped(table.name, path, rows, sha, await sequence_of(snap, snap.kind, table))


# --- restore ----------------------------------------------------------------------------


def _loading_table(table: Table) -> Table:
    """A copy of `table` for inserting: its JSON columns write Python None as SQL NULL
    (the schema's write it as JSON `null`), so the two nulls come back apart."""
    columns = [
        Column(c.name, JSON(none_as_null=True) if _is_json(c) else c.type) for c in table.columns
    ]
    return Table(table.name, MetaData(), *columns)


def decode_lines(table: Table, lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Rows of the table from its JSON lines; Damaged if one does not fit the columns."""
    names = {c.name: c for c in table.columns}
    for number, line in enumerate(lines, start=1):
        try:
            given = json.loads(line)
            if not isinstance(given, dict):
                raise ValueError("a row is not an object")
            json_nulls = given.pop(JSON_NULL_KEY, [])
            if not isinstance(json_nulls, list) or not all(
                isinstance(n, str) and n in names and _is_json(names[n]) for n in json_nulls
            ):
                raise ValueError(f"{JSON_NULL_KEY} names no JSON columns")
            unknown = set(given) - set(names)
            if unknown:
                raise ValueError(f"unknown columns {sorted(unknown)}")
            row = {name: _decode(column, given.get(name)) for name, column in names.items()}
            for name in json_nulls:
                row[name] = JSON.NULL
        except (ValueError, TypeError) as exc:
            raise Damaged(table.name, f"row {number}: {exc}") from None
        yield row


async def clear(tx: Tx) -> None:
    """Delete every row of every table, the live-connection registry too (it names
    people and rooms the archive replaces), referring tables first; not the KEPT ones."""
    for table in reversed(metadata.sorted_tables):
        if table.name not in KEPT:
            await tx.execute(table.delete())
            await asyncio.sleep(0)  # others are served between tables (see `load`)


async def load(tx: Tx, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert the rows, PARTITION at a time; Damaged if the database refuses one."""
    target = _loading_table(table)
    count = 0
    batch: list[dict[str, Any]] = []

    async def flush() -> None:
        try:
            await tx.execute(insert(target), batch)
        except (DBAPIError, StatementError, UniqueViolation, ExclusionViolation) as exc:
            reason = (str(getattr(exc, "orig", exc)).splitlines() or [""])[0]
            raise Damaged(table.name, f"a row this database refuses: {reason}") from None
        batch.clear()

    for row in rows:
        batch.append(row)
        count += 1
        if len(batch) >= PARTITION:
            await flush()
            # SQLite's statements run on the event loop: between two batches it serves
            # others (`/healthz` during a large restore), as services/progress.py does.
            await asyncio.sleep(0)
    if batch:
        await flush()
    return count


async def set_sequence(tx: Tx, kind: str, table: Table, *positions: int | None) -> None:
    """Move the table's id generator past every id it holds and past every position
    given (where the archive's stood, where this server's stood before the restore), so
    a new row never gets an id a past row had, in either server."""
    column = _sequenced(table)
    if column is None:
        return
    highest = (await tx.execute(select(func.max(column)))).scalar() or 0
    position = max(int(highest), *(p or 0 for p in positions))
    if kind == "sqlite":
        await tx.execute(text("DELETE FROM sqlite_sequence WHERE name = :n"), {"n": table.name})
        if position:
            await tx.execute(
                text("INSERT INTO sqlite_sequence (name, seq) VALUES (:n, :s)"),
                {"n": table.name, "s": position},
            )
        return
    name = (
        await tx.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
        )
    ).scalar()
    if name is None:
        return
    await tx.execute(
        text("SELECT setval(:seq, :value, :called)"),
        {"seq": name, "value": max(position, 1), "called": position > 0},
    )
