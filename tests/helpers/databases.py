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
    """A new, empty database of `backend`'s kind. On PostgreSQL with `limit`, it is
    owned by a new role that may hold at most `limit` connections (a superuser is not
    subject to connection limits, hence the role)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'own-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"townhall_test_{uuid.uuid4().hex[:12]}"
    user = PG_ADMIN_URL.split("://", 1)[1].split("@", 1)[0]
    if limit is not None:
        user = f"{name}_role"
        asyncio.run(_pg(f'CREATE ROLE "{user}" LOGIN CONNECTION LIMIT {limit}'))
    asyncio.run(_pg(f'CREATE DATABASE "{name}" OWNER "{user}"'))
    host = PG_ADMIN_URL.split("@", 1)[1].rsplit("/", 1)[0]
    try:
        yield f"postgresql://{user}@{host}/{name}"
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if limit is not None:
            asyncio.run(_pg(f'DROP ROLE IF EXISTS "{user}"'))


def backend_of(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"
