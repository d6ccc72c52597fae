"""Fixtures: a real Townhall server process per database, and in-process services.

Every storage-touching test runs twice: on an SQLite file and on a fresh PostgreSQL
database (127.0.0.1:5432, trust auth). Nothing is mocked: the server is started the
way a user starts it (`townhall serve`) and spoken to over HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from townhall.services.container import Services

pytest_plugins = ["tests.helpers.symphony"]

PG_ADMIN_URL = os.environ.get("TOWNHALL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ADMIN_PASSWORD = "admin-test-password"
BACKENDS = ["sqlite", "postgresql"]
_names = itertools.count()

# No server a test starts takes the default SMTP port (127.0.0.1:2525): several run at
# once under xdist, and a test that receives mail names a private port of its own.
os.environ.setdefault("TOWNHALL_SMTP_LISTEN", "off")


def unique(prefix: str) -> str:
    """A name no other test uses, so tests can share one server."""
    return f"{prefix}{os.getpid()}x{next(_names)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A new, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'townhall.db'}"
        return
    name = f"townhall_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class RunningServer:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def api(self) -> str:
        return f"{self.url}/plugins/restapi/v1"


def start_server(
    database_url: str, log: Path, workers: int = 1, ready: str = "/readyz", **env: str
) -> RunningServer:
    """A `townhall serve` of its own, once `ready` answers 200 (`/healthz` for a server
    whose dependencies start after it, see wait_ready)."""
    port = _free_port()
    environment = {
        **os.environ,
        "TOWNHALL_DATABASE_URL": database_url,
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOWNHALL_DOMAIN": "example.org",
        # Cheap hashing keeps the suite fast; production uses the defaults.
        "TOWNHALL_ARGON2_TIME_COST": "1",
        "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
        # Every test's deliberate failures reach a shared server from this one address;
        # tests/test_login_limits.py starts servers with small limits of its own.
        "TOWNHALL_LOGIN_FAILURES_PER_ADDRESS": "100000",
        # And as many SaaS registrations (tests/dialects/rmp/test_saas.py tests the limit).
        "TOWNHALL_SAAS_REGISTRATIONS_PER_ADDRESS": "0",
        **env,
    }
    if not database_url.startswith("sqlite"):  # else: the SQLite file's folder
        # Mail and files of a server on PostgreSQL stay its own, not the checkout's.
        environment.setdefault("TOWNHALL_DATA_DIR", str(log.parent))
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "townhall", "serve", "--port", str(port), "--workers", str(workers)],
        env=environment,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            if requests.get(f"{url}{ready}", timeout=1).status_code == 200:
                return RunningServer(url, database_url, process, log)
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def wait_ready(server: RunningServer, seconds: float = 60) -> None:
    """Until `/readyz` answers 200: every dependency the server names is up."""
    deadline = time.monotonic() + seconds
    while (answer := requests.get(f"{server.url}/readyz", timeout=5)).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready: {answer.text}\n{server.log.read_text()}")
        time.sleep(0.2)


def stop_server(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(database_url, tmp_path_factory.mktemp("log") / "server.log")
    yield running
    stop_server(running)


@pytest.fixture
def http(server: RunningServer) -> Iterator[requests.Session]:
    """Raw HTTP as the admin; tests add Accept/Content-Type themselves."""
    with requests.Session() as session:
        session.auth = ("admin", ADMIN_PASSWORD)
        yield session


@pytest.fixture
def client(server: RunningServer):  # type: ignore[no-untyped-def]
    """The official `openfire-restapi` client, unchanged."""
    from openfire_restapi import OpenfireRestApiClient

    return OpenfireRestApiClient(server.url, ("admin", ADMIN_PASSWORD))


def in_process(database_url: str, data_dir: str, **extra: str) -> dict[str, str]:
    """The settings of in-process services on the test database (cheap argon2)."""
    return {
        "TOWNHALL_DATABASE_URL": database_url,
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOWNHALL_DOMAIN": "example.org",
        "TOWNHALL_ARGON2_TIME_COST": "1",
        "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
        "TOWNHALL_DATA_DIR": data_dir,
        **extra,
    }


@pytest.fixture
async def services(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Services]:
    """In-process services on the test database (migrated and initialised)."""
    from townhall.app import TENANT_DEFAULTS
    from townhall.config import load_settings
    from townhall.services.bootstrap import ensure_initialised
    from townhall.services.container import Services
    from townhall.store.migrate import upgrade

    settings = load_settings(in_process(database_url, str(tmp_path_factory.mktemp("data"))))
    await asyncio.to_thread(upgrade, database_url)
    built = Services.build(settings)
    await ensure_initialised(built, settings, TENANT_DEFAULTS)
    yield built
    await built.close()


def reset_auth_properties(server: RunningServer) -> None:
    """Basic auth on, API enabled: written straight to the database, whatever the API says
    (the server notices within its one-second settings cache)."""
    asyncio.run(_reset_auth(server.database_url))


async def _reset_auth(database_url: str) -> None:
    from townhall.store.database import open_database
    from townhall.store.schema import system_properties

    db = open_database(database_url)
    try:
        async with db.write() as tx:
            await tx.execute(
                system_properties.delete().where(
                    system_properties.c.key.in_(["plugin.restapi.enabled"])
                )
            )
            await tx.execute(
                system_properties.update()
                .where(system_properties.c.key == "plugin.restapi.httpAuth")
                .values(value="basic")
            )
    finally:
        await db.dispose()
