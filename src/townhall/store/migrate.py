"""Schema migrations (Alembic), run by `townhall db upgrade` and on every `serve` start."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from townhall.store.database import async_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _run(connection: Connection, action: str, *args: Any) -> None:
    getattr(command, action)(alembic_config(connection), *args)


def run_alembic(url: str, action: str = "upgrade", *args: Any) -> None:
    """Run an Alembic command (`upgrade head` by default) against `url`."""
    if not args and action == "upgrade":
        args = ("head",)
    url = async_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            _run(conn, action, *args)
        engine.dispose()
        return

    async def run_async() -> None:
        aengine = create_async_engine(url)
        async with aengine.begin() as conn:
            await conn.run_sync(_run, action, *args)
        await aengine.dispose()

    asyncio.run(run_async())


def upgrade(url: str) -> None:
    run_alembic(url, "upgrade", "head")


def head_revision() -> str:
    """The revision this code's schema is at (what `upgrade` brings a database to)."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
