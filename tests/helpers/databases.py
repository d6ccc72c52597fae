"""A database of its own for a test that must not share the session's (it changes
server-wide properties, or limits the database's connections)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import PG_ADMIN_URL, _pg


@contextmanager
def fresh_database(backend: str, folder: Path, limit: int | None = None) -> Iterator[str]:
    """A new, empty database of `backend`'s kind; on PostgreSQL `limit` caps its
    connections (`ALTER DATABASE ... CONNECTION LIMIT`)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'own-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"townhall_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    if limit is not None:
        asyncio.run(_pg(f'ALTER DATABASE "{name}" CONNECTION LIMIT {limit}'))
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def backend_of(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"
