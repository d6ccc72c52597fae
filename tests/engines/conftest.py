"""One Townhall server with private Postfix and Dovecot instances per database kind,
shared by every engine test (starting them takes a few seconds)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import RunningServer, _free_port, start_server, stop_server
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.engines import Engines, drop_role, engine_role, engines_present, running_engines


@dataclass
class MailStack:
    server: RunningServer
    engines: Engines
    policy_port: int
    role: str | None
    """The engines' PostgreSQL role (None on SQLite)."""


@pytest.fixture(scope="session")
def stack(database_url: str) -> Iterator[MailStack]:
    """Townhall (with its policy service on) and the engines on a database of their own."""
    engines_present()
    backend = backend_of(database_url)
    role: str | None = None
    with tempfile.TemporaryDirectory(prefix="th-engines-") as scratch:
        folder = Path(scratch)
        folder.chmod(0o755)
        with fresh_database(backend, folder) as url:
            policy_port = _free_port()
            server = start_server(
                url,
                folder / "server.log",
                TOWNHALL_MTA_POLICY_LISTEN=f"127.0.0.1:{policy_port}",
            )
            try:
                if backend == "postgresql":
                    role = engine_role(url)
                with running_engines(url, role, f"127.0.0.1:{policy_port}") as engines:
                    yield MailStack(server, engines, policy_port, role)
            finally:
                stop_server(server)
        if role is not None:
            drop_role(role)
