"""`townhall serve` refusing to start without its dependencies, beyond tests/test_faults.py:
on PostgreSQL nothing is created, the refusal never shows a password, a SQLite file in a
folder that cannot hold it is named."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD, PG_ADMIN_URL, _free_port, _pg

EXITS_WITHIN = 60
"""A bound on how long a server told to stop may take (a hang, not a slow exit, fails)."""


def serve(
    database_url: str, log: Path, workers: int = 1, err: int = subprocess.PIPE, **env: str
) -> subprocess.Popen[bytes]:
    """`townhall serve`, its output in `log` (and its errors too unless piped apart)."""
    environment = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "TOWNHALL_DATABASE_URL": database_url,
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOWNHALL_DOMAIN": "example.org",
        "TOWNHALL_ARGON2_TIME_COST": "1",
        "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
        **env,
    }
    command = [sys.executable, "-m", "townhall", "serve", "--port", str(_free_port())]
    return subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=environment,
        stdout=log.open("wb"),
        stderr=err,
    )


def refused(database_url: str, log: Path, **env: str) -> str:
    """The one thing `serve` said on stderr when it refused to start (exit status 1)."""
    process = serve(database_url, log, **env)
    _, err = process.communicate(timeout=EXITS_WITHIN)
    assert process.returncode == 1, log.read_text()
    assert "listening" not in log.read_text()
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    name = f"townhall_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _tables(database_url: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return [row["tablename"] for row in rows]


def no_redis() -> str:
    return f"redis://127.0.0.1:{_free_port()}/0"


def test_unreachable_redis_on_postgresql_creates_nothing(
    tmp_path: Path, empty_postgres: str
) -> None:
    why = refused(empty_postgres, tmp_path / "out.log", TOWNHALL_REDIS_URL=no_redis())
    assert "Redis" in why
    assert asyncio.run(_tables(empty_postgres)) == []


def test_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{_free_port()}/townhall"
    why = refused(url, tmp_path / "out.log")
    assert "database" in why and "127.0.0.1" in why
    assert "s3cret-pw" not in why


def test_an_unwritable_sqlite_folder_is_named(tmp_path: Path) -> None:
    why = refused(f"sqlite:///{tmp_path / 'missing' / 'townhall.db'}", tmp_path / "out.log")
    assert "missing" in why


@pytest.mark.parametrize("redis", [None, "redis://127.0.0.1:6379/0"])
def test_several_workers_without_redis_are_warned_of(tmp_path: Path, redis: str | None) -> None:
    extra = {"TOWNHALL_REDIS_URL": redis} if redis else {}
    errors = tmp_path / "err.log"
    with errors.open("wb") as err:
        process = serve(
            f"sqlite:///{tmp_path / 'townhall.db'}", tmp_path / "out.log", 2, err, **extra
        )
    try:
        deadline = time.monotonic() + EXITS_WITHIN
        while "listening" not in (tmp_path / "out.log").read_text():
            assert process.poll() is None and time.monotonic() < deadline, errors.read_text()
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=EXITS_WITHIN)
    warned = [line for line in errors.read_text().splitlines() if "without Redis" in line]
    assert len(warned) == (0 if redis else 1), warned


def test_a_held_smtp_port_is_named_and_nothing_is_created(tmp_path: Path) -> None:
    import socket

    database = tmp_path / "held.db"
    with socket.socket() as holder:  # a program that does not share its port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        where = f"127.0.0.1:{holder.getsockname()[1]}"
        line = refused(
            f"sqlite+aiosqlite:///{database}", tmp_path / "log", TOWNHALL_SMTP_LISTEN=where
        )
    assert line.startswith("townhall: cannot start: TOWNHALL_SMTP_LISTEN")
    assert where in line and "in use" in line
    assert not database.exists()


@pytest.mark.parametrize("setting", ["TOWNHALL_SMTP_LISTEN", "TOWNHALL_MTA_POLICY_LISTEN"])
def test_a_malformed_listener_address_is_named(tmp_path: Path, setting: str) -> None:
    line = refused(f"sqlite+aiosqlite:///{tmp_path}/x.db", tmp_path / "log", **{setting: "2525"})
    assert f"{setting} must be host:port or off" in line
