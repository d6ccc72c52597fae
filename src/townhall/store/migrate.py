"""Schema migrations (Alembic), run by `townhall db upgrade` and on every `serve` start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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
    _on(url, _run, action, *args)


def _on(url: str, work: Callable[..., None], *args: Any) -> None:
    """`work(connection, *args)` in one transaction on `url` (synchronously on SQLite,
    through asyncpg's engine on PostgreSQL)."""
    url = async_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            work(conn, *args)
        engine.dispose()
        return

    async def run_async() -> None:
        aengine = create_async_engine(url)
        async with aengine.begin() as conn:
            await conn.run_sync(work, *args)
        await aengine.dispose()

    asyncio.run(run_async())


@dataclass(frozen=True)
class Applied:
    """One migration an upgrade applied: its revision and its docstring's first line."""

    revision: str
    description: str


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str) -> list[Applied]:
    """Bring the database to the head revision; the migrations applied, oldest first
    (none: it was up to date)."""
    before: list[str | None] = []
    after: list[str | None] = []

    def record(connection: Connection, *_: Any) -> None:
        before.append(current_revision(connection))
        _run(connection, "upgrade", "head")
        after.append(current_revision(connection))

    _on(url, record)
    return between(before[0], after[0])


DESCRIPTION_CHARS = 100


def _one_line(doc: str) -> str:
    """A migration's docstring as one line: its first sentence, cut at a word."""
    text = " ".join(doc.split())
    sentence = text.split(". ", 1)[0].rstrip(".")
    if len(sentence) <= DESCRIPTION_CHARS:
        return sentence
    return sentence[:DESCRIPTION_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "..."


def between(lower: str | None, upper: str | None) -> list[Applied]:
    """The migrations after `lower` up to `upper` (a linear chain), oldest first."""
    scripts = _scripts()
    applied: list[Applied] = []
    revision = upper
    while revision is not None and revision != lower:
        script = scripts.get_revision(revision)
        if script is None:
            break
        applied.append(Applied(script.revision, _one_line(script.doc or "")))
        down = script.down_revision
        revision = down if isinstance(down, str) or down is None else down[0]
    return applied[::-1]


def head_revision() -> str:
    """The revision this code's schema is at (what `upgrade` brings a database to)."""
    head = _scripts().get_current_head()
    assert head is not None
    return head
