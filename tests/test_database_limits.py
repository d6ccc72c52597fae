"""PostgreSQL refusing connections: every API answers 503 with Retry-After in its own
error body (or 409 for a lost race), never a 500, and nothing half written.

The database is owned by a role that may hold only a few connections, far fewer than
the server's pools would open under the burst, as when several workers and a neighbour
share `max_connections`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
import requests
from sqlalchemy import text

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server
from tests.helpers.databases import fresh_database
from tests.helpers.rmp import at
from tests.helpers.symphony import key_pair
from townhall.store.database import open_database

LIMIT = 6
BURST = 48


def _starved_server(
    folder: Path, limit: int = LIMIT, workers: int = 2, **env: str
) -> Iterator[tuple[RunningServer, str]]:
    private, public = key_pair()
    (folder / "admin.pub").write_text(public)
    with fresh_database("postgresql", folder, limit=limit) as url:
        key = str(folder / "admin.pub")
        running = start_server(
            url, folder / "server.log", workers=workers, TOWNHALL_ADMIN_PUBLIC_KEY=key, **env
        )
        try:
            yield running, private
        finally:
            stop_server(running)


@pytest.fixture
def starved(tmp_path: Path) -> Iterator[tuple[RunningServer, str]]:
    """Pools sized for the default budget on a database that allows 6."""
    yield from _starved_server(tmp_path)


@pytest.fixture
def budgeted(tmp_path: Path) -> Iterator[tuple[RunningServer, str]]:
    """The same database, with the server told its connection budget."""
    yield from _starved_server(tmp_path, TOWNHALL_DB_MAX_CONNECTIONS=str(LIMIT))


@pytest.fixture
def four_workers(tmp_path: Path) -> Iterator[tuple[RunningServer, str]]:
    """Four workers with the default budget (20) on a database that allows exactly that."""
    yield from _starved_server(tmp_path, limit=20, workers=4)


def _served(call: Callable[[], requests.Response]) -> requests.Response:
    """`call` until it is not a 503 (which says: try again), a bounded number of times."""
    for _ in range(100):
        answer = call()
        if answer.status_code != 503:
            return answer
    raise AssertionError(f"still 503: {answer.text}")


def _checked(answer: requests.Response) -> int:
    """2xx, 409, or 503 with Retry-After and the API's own error body; never a 500."""
    status = answer.status_code
    assert status < 300 or status in (409, 503), (answer.url, status, answer.text)
    if status == 503:
        assert int(answer.headers["Retry-After"]) >= 1, answer.headers
        path = answer.request.path_url
        if path.startswith("/api/v2"):
            assert answer.json()["error"]["code"] == "SERVICE_UNAVAILABLE", answer.text
        elif path.startswith("/pod"):
            assert answer.json()["code"] == 503, answer.text
        elif answer.content:
            assert answer.json()["exception"] == "ServiceUnavailableException", answer.text
    return status


def _burst(server: RunningServer, private: str, size: int = BURST) -> tuple[list[int], list[str]]:
    """Booking creates on four slots of one resource, and reads through every API, all
    at once; returns the statuses and the start times booked."""
    login = {"email": "admin@example.org", "password": ADMIN_PASSWORD}
    api = f"{server.url}/api/v2"
    logged = _served(lambda: requests.post(f"{api}/auth/login", json=login))
    assert logged.status_code == 200, logged.text
    headers = {"Authorization": f"Bearer {logged.json()['token']}"}
    kind = {"id": "room", "name": "Room", "category": "meeting-resources"}
    made = _served(lambda: requests.post(f"{api}/resource-types", json=kind, headers=headers))
    assert made.status_code == 201, made.text
    room = {"name": "Room 1", "type": "room", "category": "meeting-resources"}
    made = _served(lambda: requests.post(f"{api}/resources", json=room, headers=headers))
    assert made.status_code == 201, made.text
    resource = made.json()["resource"]["id"]
    signed = jwt.encode({"sub": "admin", "exp": int(time.time()) + 240}, private, "RS512")
    token = _served(
        lambda: requests.post(f"{server.url}/login/pubkey/authenticate", json={"token": signed})
    )
    assert token.status_code == 200, token.text
    symphony = {"sessionToken": token.json()["token"]}
    basic = ("admin", ADMIN_PASSWORD)

    def booking(i: int) -> Callable[[], requests.Response]:
        slot = {
            "resourceId": resource,
            "title": f"b{i}",
            "startTime": at(8 + i % 4),
            "endTime": at(9 + i % 4),
        }
        return lambda: requests.post(f"{api}/bookings", json=slot, headers=headers)

    calls: list[Callable[[], requests.Response]] = []
    for i in range(size // 4):
        calls.append(booking(i))
        calls.append(lambda: requests.get(f"{api}/resources", headers=headers))
        calls.append(lambda: requests.get(f"{server.url}/pod/v2/admin/user/list", headers=symphony))
        calls.append(
            lambda: requests.get(
                f"{server.api}/users", auth=basic, headers={"Accept": "application/json"}
            )
        )
    with ThreadPoolExecutor(max_workers=size) as pool:
        statuses = [_checked(answer) for answer in pool.map(lambda call: call(), calls)]
    params = {"resourceId": resource}
    listed = _served(lambda: requests.get(f"{api}/bookings", params=params, headers=headers))
    assert listed.status_code == 200, listed.text
    return statuses, [b["startTime"] for b in listed.json()["bookings"]]


def test_a_starved_database_is_503_with_retry_after_never_500(
    starved: tuple[RunningServer, str],
) -> None:
    server, private = starved
    statuses, starts = _burst(server, private)
    assert 503 in statuses, statuses  # the database did refuse connections
    # Nothing half written: each slot has at most one booking.
    assert len(starts) == len(set(starts)) and len(starts) <= 4, starts
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_pools_sized_from_the_budget_and_the_workers_never_overrun_it(
    budgeted: tuple[RunningServer, str],
) -> None:
    """With `db_max_connections` at the database's limit, two workers share it (one
    read and one write connection each): requests wait for a pooled connection
    instead of being refused."""
    server, private = budgeted
    statuses, starts = _burst(server, private)
    assert set(statuses) <= {200, 201, 409}, statuses
    assert sorted(starts) == sorted({at(8 + i) for i in range(4)}), starts
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log and "unavailable" not in log, log[-3000:]


def test_four_workers_stay_within_the_default_budget_under_a_burst(
    four_workers: tuple[RunningServer, str],
) -> None:
    """The issue's case: 4 workers once opened up to 80 connections and answered 500
    "too many clients". Now each worker's pools hold a quarter of the 20."""
    server, private = four_workers
    statuses, starts = _burst(server, private, size=160)
    assert set(statuses) <= {200, 201, 409}, statuses
    assert sorted(starts) == sorted({at(8 + i) for i in range(4)}), starts
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log and "unavailable" not in log, log[-3000:]


async def _deadlock(url: str) -> tuple[list[str], list[int]]:
    """Two write transactions that take two rows' locks in opposite orders."""
    db = open_database(url, pool_size=2)
    try:
        async with db.write() as tx:
            await tx.execute(text("CREATE TABLE probe (id int PRIMARY KEY, v int)"))
            await tx.execute(text("INSERT INTO probe VALUES (1, 0), (2, 0)"))
        locked = {1: asyncio.Event(), 2: asyncio.Event()}
        bump = text("UPDATE probe SET v = v + 1 WHERE id = :id")

        async def crosswise(first: int, then: int) -> None:
            async with db.write() as tx:
                await tx.execute(bump, {"id": first})
                locked[first].set()
                await locked[then].wait()
                await tx.execute(bump, {"id": then})

        outcomes = await asyncio.gather(crosswise(1, 2), crosswise(2, 1), return_exceptions=True)
        async with db.read() as tx:
            values = list((await tx.execute(text("SELECT v FROM probe ORDER BY id"))).scalars())
    finally:
        await db.dispose()
    return sorted(type(o).__name__ for o in outcomes), values


def test_a_deadlock_is_a_conflict_and_nothing_of_the_loser_is_written(tmp_path: Path) -> None:
    """PostgreSQL breaks a deadlock by aborting one transaction: that one is the
    domain's Conflict (each API's 409), the other commits whole."""
    with fresh_database("postgresql", tmp_path) as url:
        kinds, values = asyncio.run(_deadlock(url))
    assert kinds == ["Conflict", "NoneType"], kinds
    assert values == [1, 1], values
