"""50 requests for one slot of one resource at once: exactly one wins, 49 get 409.

On PostgreSQL they go round-robin to 4 server processes (the exclusion constraint
decides); on SQLite to the one process (the write transaction decides).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import RunningServer, start_server, stop_server
from tests.rmp import admin
from tests.test_rmp_bookings import at, make_resource

REQUESTS = 50


@pytest.fixture
def processes(server: RunningServer) -> Iterator[list[RunningServer]]:
    if server.database_url.startswith("sqlite"):
        yield [server]
        return
    others = [
        start_server(server.database_url, server.log.with_name(f"race{n}.log")) for n in range(3)
    ]
    try:
        yield [server, *others]
    finally:
        for other in others:
            stop_server(other)


def test_one_slot_fifty_requests_one_winner(processes: list[RunningServer]) -> None:
    rmp = admin(processes[0])
    resource = make_resource(rmp)
    token = rmp.headers["Authorization"]
    body = {"resourceId": resource, "title": "Race", "startTime": at(10, 5), "endTime": at(11, 5)}
    start = threading.Barrier(REQUESTS)
    answers: list[requests.Response] = []

    def attempt(n: int) -> None:
        url = f"{processes[n % len(processes)].url}/api/v2/bookings"
        start.wait()
        answers.append(requests.post(url, json=body, headers={"Authorization": token}, timeout=60))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(a.status_code for a in answers) == {201: 1, 409: REQUESTS - 1}
    winner = next(a.json()["booking"]["id"] for a in answers if a.status_code == 201)
    for lost in (a.json() for a in answers if a.status_code == 409):
        assert lost["error"]["code"] == "BOOKING_CONFLICT"
        assert [c["bookingId"] for c in lost["error"]["details"]["conflicts"]] == [winner]
    listed = rmp.get("/bookings", params={"resourceId": resource}).json()
    assert [b["id"] for b in listed["bookings"]] == [winner]
