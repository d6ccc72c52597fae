"""SQLite's WAL is copied back into the database file by the server's own checkpointer,
never inside a commit (store/database.py `SQLiteDatabase.start`). SQLite only: on
PostgreSQL checkpoints are the server's business."""

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
