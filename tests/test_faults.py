"""Faults around `townhall serve`: Redis lost and back, dependencies missing at start,
SIGTERM while it starts. Each test runs its own server (and Redis) on SQLite files, so
it can break them without disturbing the shared servers."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import ADMIN_PASSWORD, RunningServer, _free_port, start_server, stop_server
from tests.dialects.rmp.test_events import bearer, next_of, ws_url
from tests.helpers.rmp import Rmp, admin, at, book, make_resource

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, which it may kill and start again."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ping = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis(_free_port())
    redis.start()
    yield redis
    redis.kill()


def eventually(check: Any, what: str, seconds: float = 60) -> Any:
    """Retry `check` until it answers something true (a deadline, not a timed claim)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")


def on_each_worker(server: RunningServer) -> dict[str, Rmp]:
    """One logged-in session per worker: a session keeps its connection, so it always
    speaks to the same worker, which its cluster status names."""
    found: dict[str, Rmp] = {}

    def more() -> bool:
        session = admin(server)
        status = session.get(
            f"{server.api}/clustering/status",
            auth=("admin", ADMIN_PASSWORD),
            headers={"Accept": "application/json"},
        )
        found.setdefault(status.json()["status"], session)
        return {"Senior member", "Junior member"} <= set(found)

    eventually(more, "a session on each of the two workers")
    return {"senior": found["Senior member"], "junior": found["Junior member"]}


def readiness(session: Rmp) -> tuple[int, dict[str, Any]]:
    answer = session.get(session.base.replace("/api/v2", "/readyz"))
    return answer.status_code, answer.json()


async def test_events_cross_workers_again_after_redis_returns(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'townhall.db'}",
        tmp_path / "server.log",
        workers=2,
        TOWNHALL_REDIS_URL=private_redis.url,
    )
    try:
        await _outage_and_recovery(server, private_redis)
    finally:
        stop_server(server)


async def _a_socket_on_each_worker(
    http: aiohttp.ClientSession, server: RunningServer, senior: Rmp, junior: Rmp, resource: str
) -> tuple[list[Any], list[Any]]:
    """Sockets until one is on the junior worker (which worker accepts a connection is the
    kernel's choice). While events stay in their worker, a booking on each worker tells
    whose a socket is."""
    sockets: list[Any] = []
    for round_ in range(20):
        batch = [await http.ws_connect(ws_url(server, bearer(senior))) for _ in range(4)]
        for ws in batch:
            await next_of(ws, "connected")
        sockets += batch
        day = 3 + round_
        by_senior = (
            await asyncio.to_thread(book, senior, resource, at(9, day), at(10, day))
        ).json()
        await asyncio.to_thread(book, junior, resource, at(11, day), at(12, day))
        on_junior = []
        for ws in sockets:  # every socket hears exactly one of the two bookings
            heard = (await next_of(ws, "booking.created"))["data"]["id"]
            if heard != by_senior["booking"]["id"]:
                on_junior.append(ws)
        if on_junior:
            return sockets, on_junior
    raise AssertionError("80 sockets, every one on the senior worker")


async def _outage_and_recovery(server: RunningServer, redis: PrivateRedis) -> None:
    workers = await asyncio.to_thread(on_each_worker, server)
    senior, junior = workers["senior"], workers["junior"]
    resource = await asyncio.to_thread(make_resource, senior)
    async with aiohttp.ClientSession() as http:
        redis.kill()
        for session in (senior, junior):  # each worker says it is not ready, and why
            _, body = await asyncio.to_thread(
                eventually, lambda s=session: (r := readiness(s))[0] == 503 and r, "503"
            )
            assert body["redis"] == "down" and body["database"] == "up"
        sockets, on_junior = await _a_socket_on_each_worker(http, server, senior, junior, resource)
        redis.start()
        for session in (senior, junior):
            await asyncio.to_thread(eventually, lambda s=session: readiness(s)[0] == 200, "200")
        # A booking on the senior worker reaches a socket of the junior one again.
        deadline = time.monotonic() + 60
        hour = 13
        while True:
            made = await asyncio.to_thread(book, senior, resource, at(hour, 40), at(hour + 0.5, 40))
            assert made.status_code == 201, made.text
            try:
                got = await next_of(on_junior[0], "booking.created", timeout=2)
            except TimeoutError:
                assert time.monotonic() < deadline, "events never crossed workers again"
                hour += 1
                continue
            assert got["data"]["id"] == made.json()["booking"]["id"]
            break
        for ws in sockets:
            await ws.close()


# -- starting ---------------------------------------------------------------------------


def serve_env(database: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TOWNHALL_DATABASE_URL": f"sqlite:///{database}",
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOWNHALL_ARGON2_TIME_COST": "1",
        "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def serve_command(workers: int = 1) -> list[str]:
    port = str(_free_port())
    return [sys.executable, "-m", "townhall", "serve", "--port", port, "--workers", str(workers)]


def tenants_in(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return (
            db.execute("SELECT count(*) FROM tenants").fetchone()[0] if "tenants" in tables else 0
        )


@pytest.mark.parametrize(
    "broken",
    [
        {"TOWNHALL_REDIS_URL": "redis://127.0.0.1:{port}/0"},
        {"TOWNHALL_DATABASE_URL": "postgresql://postgres@127.0.0.1:{port}/townhall"},
    ],
    ids=["redis", "database"],
)
def test_serve_without_its_dependencies_says_so_and_creates_nothing(
    tmp_path: Path, broken: dict[str, str]
) -> None:
    database = tmp_path / "townhall.db"
    dead = {key: value.format(port=_free_port()) for key, value in broken.items()}
    env = serve_env(database, **dead)
    out = subprocess.run(serve_command(), env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unreachable" in lines[0], out.stderr
    assert next(iter(broken)).split("_")[1].lower() in lines[0].lower()
    assert "listening" not in out.stdout
    assert tenants_in(database) == 0


@pytest.mark.parametrize("moment", ["0.2 s", "listening on", "Spawning worker", "Started worker"])
def test_sigterm_while_starting_stops_the_server(tmp_path: Path, moment: str) -> None:
    """SIGTERM at each point of a start: before anything (0.2 s), before Granian, while
    its worker starts, just after: each time the server exits (the bound only guards
    against a hang), and the database it leaves starts again."""
    database = tmp_path / "townhall.db"
    env = serve_env(database)
    process = subprocess.Popen(  # its own group: a hung start is killed with its workers
        serve_command(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        if moment == "0.2 s":
            time.sleep(0.2)
        else:
            assert process.stdout is not None
            for line in process.stdout:
                if moment in line:
                    break
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # a worker left behind would hold the pipe
        process.communicate()
        pytest.fail(f"serve ignored SIGTERM sent at {moment!r}")
    again = subprocess.run(
        [sys.executable, "-m", "townhall", "db", "upgrade"], env=env, capture_output=True
    )
    assert again.returncode == 0, again.stderr
