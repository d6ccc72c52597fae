"""SQLite's locks and WAL between server processes (store/database.py): the WAL is
copied back by the server's own checkpointer, never inside a commit, and a write that
waits for another process waits on the event loop. SQLite only: on PostgreSQL both are
the database server's business."""

from __future__ import annotations

import asyncio
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
