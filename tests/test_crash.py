"""`kill -9` in the middle of a burst of writes, on each database: after a restart every
write the server acknowledged is there, and a write it did not acknowledge is there whole
or not at all."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, BACKENDS, RunningServer, start_server, stop_server
from tests.helpers.databases import fresh_database

BURST = 300
KILL_AFTER = 80
"""Acknowledged creates before the kill: well inside the burst, so writes are in flight."""


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def _kill_9(server: RunningServer) -> None:
    """The server and its workers at once, as a power cut would: nobody shuts down."""
    for pid in [*_descendants(server.process.pid), server.process.pid]:
        os.kill(pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def _create(server: RunningServer, name: str) -> bool:
    try:
        answer = requests.post(
            f"{server.api}/users",
            json={
                "username": name,
                "password": "pw-123456",
                "properties": [{"key": "k", "value": name}],
            },
            auth=("admin", ADMIN_PASSWORD),
            timeout=10,
        )
    except requests.RequestException:
        return False
    return answer.status_code == 201


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_acknowledged_write_is_lost_to_kill_9(backend: str, tmp_path: Path) -> None:
    names = [f"burst{i}" for i in range(BURST)]
    with fresh_database(backend, tmp_path) as url:
        first = start_server(url, tmp_path / "first.log", workers=2)
        with ThreadPoolExecutor(16) as pool:
            calls: dict[str, Future[bool]] = {n: pool.submit(_create, first, n) for n in names}
            while sum(c.done() and c.result() for c in calls.values()) < KILL_AFTER:
                time.sleep(0.005)
            _kill_9(first)
        acknowledged = {n for n, c in calls.items() if c.result()}
        assert KILL_AFTER <= len(acknowledged) < BURST, "the kill came after the burst"

        second = start_server(url, tmp_path / "second.log")
        try:
            with requests.Session() as http:
                http.auth = ("admin", ADMIN_PASSWORD)
                http.headers["Accept"] = "application/json"
                found = {n: http.get(f"{second.api}/users/{n}") for n in names}
        finally:
            stop_server(second)
    assert all(a.status_code in (200, 404) for a in found.values())
    present = {n for n, a in found.items() if a.status_code == 200}
    assert acknowledged <= present, sorted(acknowledged - present)
    for name in present:  # whole: the properties written with the person are there too
        assert found[name].json()["properties"] == [{"key": "k", "value": name}]
