"""SQLite's locks and WAL between server processes (store/database.py): the WAL is
copied back by the server's own checkpointer, never inside a commit, a write that
waits for another process waits on the event loop, and writers take turns through a
lock file. SQLite only: on PostgreSQL all three are the database server's business."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text

from townhall.store.database import SQLiteDatabase

ROWS = 2_000
ROW = "x" * 4_000  # ~8 MB in all: far past the 1,000 pages of SQLite's own trigger


async def test_commits_leave_the_checkpoint_to_the_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.db"
    db = SQLiteDatabase(f"sqlite:///{path}")
    db.start()
    try:
        async with db.write() as tx:
            await tx.execute(text("CREATE TABLE filler (body TEXT)"))
        small = path.stat().st_size
        async with db.write() as tx:
            await tx.execute(
                text("INSERT INTO filler (body) VALUES (:body)"), [{"body": ROW}] * ROWS
            )
        assert path.stat().st_size == small  # the commit did not checkpoint
        for _ in range(60):
            if path.stat().st_size > ROWS * len(ROW):
                break
            await asyncio.sleep(0.1)
        assert path.stat().st_size > ROWS * len(ROW)  # the checkpointer did
        async with db.read() as tx:
            assert (await tx.execute(text("SELECT count(*) FROM filler"))).scalar_one() == ROWS
    finally:
        await db.dispose()


async def test_a_write_waiting_for_another_process_leaves_the_loop_free(tmp_path: Path) -> None:
    """Two databases on one file stand for two server processes: while one writes, the
    other's BEGIN waits on the loop (which goes on serving) instead of inside SQLite's
    busy handler, and goes ahead as soon as the first commits."""
    path = tmp_path / "two-writers.db"
    first, second = SQLiteDatabase(f"sqlite:///{path}"), SQLiteDatabase(f"sqlite:///{path}")
    try:
        async with first.write() as tx:
            await tx.execute(text("CREATE TABLE marks (who TEXT)"))
        ticks = 0
        holding = asyncio.Event()

        async def hold_the_lock() -> None:
            async with first.write() as tx:
                await tx.execute(text("INSERT INTO marks VALUES ('first')"))
                holding.set()
                await asyncio.sleep(0.3)

        async def write_after() -> None:
            await holding.wait()
            async with second.write() as tx:
                await tx.execute(text("INSERT INTO marks VALUES ('second')"))

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await asyncio.wait_for(asyncio.gather(hold_the_lock(), write_after()), timeout=5)
        ticker.cancel()
        assert ticks >= 15  # the loop ran all along the 0.3 s wait
        async with second.read() as tx:
            found = (await tx.execute(text("SELECT who FROM marks ORDER BY rowid"))).scalars()
            assert list(found) == ["first", "second"]
    finally:
        await first.dispose()
        await second.dispose()


@contextlib.asynccontextmanager
async def beside_another_process(
    path: Path,
) -> AsyncIterator[tuple[SQLiteDatabase, sqlite3.Connection]]:
    """A database on `path` and another process's connection to the same file, which
    made it a WAL database with one table, `t (x INTEGER)`."""
    db = SQLiteDatabase(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("PRAGMA journal_mode=WAL")
        other.execute("CREATE TABLE t (x INTEGER)")
        yield db, other
    finally:
        other.close()
        await db.dispose()


def _other_process_takes_the_turn(path: Path) -> int:
    """The lock file's own open file, as another server process holds it."""
    fd = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


async def _turn_is_free(path: Path) -> bool:
    """Whether the turn can be taken now, tried for up to a second."""
    fd = os.open(f"{path}-writer", os.O_RDWR)
    try:
        for _ in range(100):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                await asyncio.sleep(0.01)
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return True
        return False
    finally:
        os.close(fd)


async def test_a_writer_waits_for_its_turn_and_goes_when_it_is_given(tmp_path: Path) -> None:
    """While another process holds the writers' turn, a write does not begin (though
    SQLite itself is free), and it begins once the turn is given back."""
    path = tmp_path / "turns.db"
    db = SQLiteDatabase(f"sqlite:///{path}")
    try:
        async with db.write() as tx:
            await tx.execute(text("CREATE TABLE marks (who TEXT)"))
        began = asyncio.Event()

        async def write() -> None:
            async with db.write() as tx:
                began.set()
                await tx.execute(text("INSERT INTO marks VALUES ('mine')"))

        other = _other_process_takes_the_turn(path)
        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not began.is_set()
        fcntl.flock(other, fcntl.LOCK_UN)
        await asyncio.wait_for(writing, timeout=2)
        os.close(other)
        async with db.read() as tx:
            assert (await tx.execute(text("SELECT who FROM marks"))).scalars().all() == ["mine"]
    finally:
        await db.dispose()


async def test_a_writer_that_stops_waiting_gives_its_turn_back(tmp_path: Path) -> None:
    """A request cancelled while its write waits for the turn: the turn its waiting
    thread gets later is given straight back, so the other process can go on."""
    path = tmp_path / "cancelled.db"
    db = SQLiteDatabase(f"sqlite:///{path}")
    try:
        async with db.write() as tx:
            await tx.execute(text("CREATE TABLE marks (who TEXT)"))
        other = _other_process_takes_the_turn(path)
        waiting = asyncio.create_task(db.write().__aenter__())
        await asyncio.sleep(0.1)
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
        assert await _turn_is_free(path)
        async with db.write() as tx:  # and this process still takes turns
            await tx.execute(text("INSERT INTO marks VALUES ('after')"))
    finally:
        await db.dispose()


async def test_the_change_stamp_moves_with_every_commit_and_never_comes_back(
    tmp_path: Path,
) -> None:
    """`change_stamp` is read from the WAL index's header in shared memory: each commit
    of another connection moves it, a WAL restart too, and no stamp comes back; a
    rolled-back write leaves it where it was."""
    async with beside_another_process(tmp_path / "stamps.db") as (db, other):
        seen = [db.change_stamp()]
        assert db._wal_index.position() == seen[0]  # mapped: no call into SQLite
        for step in range(4):
            if step == 2:
                other.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL restarts
            other.execute("INSERT INTO t VALUES (?)", (step,))
            seen.append(db.change_stamp())
        assert len(set(seen)) == len(seen), seen
        other.execute("BEGIN")
        other.execute("INSERT INTO t VALUES (9)")
        other.execute("ROLLBACK")
        assert db.change_stamp() == seen[-1]
