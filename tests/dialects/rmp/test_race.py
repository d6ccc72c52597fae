"""Requests that race: 50 for one slot of one resource at once (exactly one wins, 49 get
409), and an update and a cancel of one booking at once (neither is lost).

On PostgreSQL the 50 go round-robin to 4 server processes (the exclusion constraint
decides); on SQLite to the one process (the write transaction decides).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
import requests

from tests.conftest import RunningServer, start_server, stop_server
from tests.helpers.rmp import admin, at, make_resource

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


RUNS = 20
QUIET_UPDATE = {"sendInvitations": False}
QUIET_CANCEL = {"sendCancellation": "false"}


def _concurrently(*calls: Callable[[], requests.Response]) -> list[requests.Response]:
    """Each call in its own thread, all released at once; the answers in call order."""
    start = threading.Barrier(len(calls))
    answers: list[requests.Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def _state(booking: dict[str, Any]) -> tuple[str, str, str, str]:
    return booking["title"], booking["startTime"], booking["endTime"], booking["status"]


def _lost(
    before: dict[str, Any],
    after: dict[str, Any],
    updated: requests.Response,
    cancelled: requests.Response,
    final: dict[str, Any],
) -> str | None:
    """What went wrong in one run (None if nothing did): the cancel always succeeds and
    the booking ends as its answer says; an update that came first shows in it, one that
    came after is refused as a change of a cancelled booking."""
    if cancelled.status_code != 200:
        return f"the cancel answered {cancelled.status_code}: {cancelled.text}"
    answered = _state(cancelled.json()["booking"])
    if answered != _state(final):
        return f"the cancel answered {answered}, the booking ended {_state(final)}"
    if updated.status_code == 200:
        expected = _state(after)
    elif updated.status_code == 409 and "cancelled booking cannot change" in updated.text:
        expected = _state(before)
    else:
        return f"the update answered {updated.status_code}: {updated.text}"
    return None if _state(final) == expected else f"{expected} expected, {_state(final)} found"


def test_an_update_and_a_cancel_at_once_lose_nothing(server: RunningServer) -> None:
    """A booking update and a cancel of the same booking, fired together 20 times: the
    booking always ends as the last answer that succeeded says."""
    rmp = admin(server)
    resource = make_resource(rmp)
    auth = {"Authorization": rmp.headers["Authorization"]}
    problems: dict[int, str] = {}
    for run in range(RUNS):
        day = run + 2
        before = {"title": "Before", "startTime": at(9, day), "endTime": at(10, day)}
        after = {"title": "After", "startTime": at(9.5, day), "endTime": at(10.5, day)}
        made = rmp.post("/bookings", json={"resourceId": resource, **before})
        assert made.status_code == 201, made.text
        url = f"{rmp.base}/bookings/{made.json()['booking']['id']}"
        updated, cancelled = _concurrently(
            partial(requests.put, url, json={**after, **QUIET_UPDATE}, headers=auth, timeout=60),
            partial(requests.delete, url, params=QUIET_CANCEL, headers=auth, timeout=60),
        )
        final = rmp.get(url).json()["booking"]
        problem = _lost(
            {**before, "status": "cancelled"},
            {**after, "status": "cancelled"},
            updated,
            cancelled,
            final,
        )
        if problem is not None:
            problems[run] = problem
    assert not problems, f"{len(problems)} of {RUNS} runs lost a change: {problems}"
