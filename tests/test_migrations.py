"""The Alembic migrations build exactly the schema the code declares, up and down."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import text

from tests.conftest import PG_ADMIN_URL, _pg
from townhall.store.database import open_database
from townhall.store.migrate import run_alembic, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"townhall_migrations_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_upgrade_matches_the_declared_schema_and_downgrades(empty_database: str) -> None:
    upgrade(empty_database)
    run_alembic(empty_database, "check")  # raises if the tables differ from schema.py
    run_alembic(empty_database, "downgrade", "base")
    upgrade(empty_database)
    run_alembic(empty_database, "check")


def test_sqlite_tables_are_rebuilt_with_their_rows_and_never_reuse_ids(tmp_path: Path) -> None:
    """0006 rebuilds every table with a generated id as AUTOINCREMENT: the rows, and the
    rows that point at them (ON DELETE CASCADE must not fire), stay."""
    url = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    run_alembic(url, "upgrade", "0004")
    db = sqlite3.connect(tmp_path / "rebuilt.db")
    db.executescript(
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 't', '2026-01-01 00:00:00');"
        "INSERT INTO users (id, tenant_id, username, created_at, updated_at) VALUES"
        " (7, 1, 'kept', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),"
        " (8, 1, 'newest', '2026-01-01 00:00:00', '2026-01-01 00:00:00');"
        "INSERT INTO user_roles (user_id, role) VALUES (7, 'admin'), (8, 'admin');"
        "INSERT INTO user_properties (user_id, key, value) VALUES (7, 'k', 'v');"
    )
    db.commit()
    db.close()
    upgrade(url)
    db = sqlite3.connect(tmp_path / "rebuilt.db")
    db.execute("PRAGMA foreign_keys=ON")
    assert db.execute("SELECT id, username FROM users ORDER BY id").fetchall() == [
        (7, "kept"),
        (8, "newest"),
    ]
    assert db.execute("SELECT count(*) FROM user_roles").fetchone() == (2,)
    assert db.execute("SELECT value FROM user_properties").fetchone() == ("v",)
    db.execute("DELETE FROM users WHERE id = 8")
    db.execute(
        "INSERT INTO users (tenant_id, username, created_at, updated_at)"
        " VALUES (1, 'next', '2026-01-01', '2026-01-01')"
    )
    assert db.execute("SELECT id FROM users WHERE username = 'next'").fetchone() == (9,)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()


async def _store_vcard(url: str, vcard: str) -> None:
    db = open_database(url)
    try:
        async with db.write() as tx:
            await tx.execute(
                text("INSERT INTO tenants (name, created_at) VALUES ('t', '2026-01-01')")
            )
            await tx.execute(
                text(
                    "INSERT INTO users (tenant_id, username, vcard, created_at, updated_at)"
                    " SELECT id, 'carded', :vcard, '2026-01-01', '2026-01-01' FROM tenants"
                ),
                {"vcard": vcard},
            )
    finally:
        await db.dispose()


async def _read_vcard(url: str) -> str:
    db = open_database(url)
    try:
        async with db.read() as tx:
            found = await tx.execute(text("SELECT vcard FROM users WHERE username = 'carded'"))
            return str(found.scalar_one())
    finally:
        await db.dispose()


def test_stored_vcards_with_entity_references_become_well_formed(empty_database: str) -> None:
    run_alembic(empty_database, "upgrade", "0006")
    stored = '<vCard xmlns="vcard-temp"><FN>A &xxe; B</FN><NOTE>x &amp; y &#38;</NOTE></vCard>'
    asyncio.run(_store_vcard(empty_database, stored))
    upgrade(empty_database)
    served = asyncio.run(_read_vcard(empty_database))
    assert served == '<vCard xmlns="vcard-temp"><FN>A  B</FN><NOTE>x &amp; y &#38;</NOTE></vCard>'
    assert etree.fromstring(served.encode()).findtext("{vcard-temp}NOTE") == "x & y &"
