"""The Alembic migrations build exactly the schema the code declares, up and down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, _pg
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
