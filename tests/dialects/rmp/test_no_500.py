"""RMP: input no handler was written for is a 400 naming the field, never a 500.

Each case was a 500 (and a stack trace in the log) before issue 12: a JSON body nested
a thousand levels deep, and times that leave the years 1 to 9999 once in UTC.
"""

from __future__ import annotations

import requests

from tests.conftest import RunningServer
from tests.helpers.rmp import admin, at, book, make_resource, person, refused

DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000
DEEP_ARRAY = b"[" * 1000 + b"]" * 1000


def _log_after(server: RunningServer, mark: int) -> str:
    return server.log.read_bytes()[mark:].decode(errors="replace")


def test_deeply_nested_bodies_are_refused_naming_the_body(server: RunningServer) -> None:
    mark = server.log.stat().st_size
    login = f"{server.url}/api/v2/auth/login"
    for deep in (DEEP_OBJECT, DEEP_ARRAY):
        answer = requests.post(login, data=deep, headers={"Content-Type": "application/json"})
        refused(answer, 400, "body")
    rmp = admin(server)
    for path in ("/bookings", "/resources", "/resource-types", "/users", "/calendars/x/events"):
        for deep in (DEEP_OBJECT, DEEP_ARRAY):
            answer = rmp.post(path, data=deep, headers={"Content-Type": "application/json"})
            refused(answer, 400, "body")
    # A catalogue file, and a JSON cell of a CSV one.
    for deep in (DEEP_OBJECT, DEEP_ARRAY):
        answer = rmp.post("/admin/import", files={"file": ("c.json", deep)})
        refused(answer, 400, "file")
    cell = DEEP_ARRAY.replace(b'"', b'""')
    csv = b'type,name,category,customFields\nx,Room,meeting-resources,"' + cell + b'"\n'
    answer = rmp.post("/admin/import", files={"file": ("c.csv", csv)})
    assert answer.status_code == 400, answer.text
    # Deep, but within the limit, still decodes (and is refused for what it says).
    shallow = b'{"email":' + b"[" * 60 + b"]" * 60 + b"}"
    answer = requests.post(login, data=shallow, headers={"Content-Type": "application/json"})
    assert refused(answer, 400)["details"]["field"] != "body"
    log = _log_after(server, mark)
    assert "Traceback" not in log and "RecursionError" not in log, log[-2000:]
    # The login still works.
    assert admin(server).login_answer["token"]


def test_times_outside_years_1_to_9999_in_utc_are_refused_by_name(server: RunningServer) -> None:
    mark = server.log.stat().st_size
    rmp, email = person(server)
    boss = admin(server)
    resource = make_resource(boss)
    early, late = "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"
    for start, end, field in ((early, at(10), "startTime"), (at(10), late, "endTime")):
        window = {"email": email, "startTime": start, "endTime": end}
        refused(rmp.get("/freebusy", params=window), 400, field)
        refused(rmp.get(f"/resources/{resource}/availability", params=window), 400, field)
        conflicts = {"resources": [resource], "startTime": start, "endTime": end}
        refused(boss.post("/bookings/conflicts", json=conflicts), 400, field)
    refused(book(boss, resource, at(10), late), 400, "endTime")
    refused(book(boss, resource, early, at(10)), 400, "startTime")
    event = {"title": "Edge", "startTime": early, "endTime": at(11)}
    refused(rmp.post("/calendars/Calendar/events", json=event), 400, "startTime")
    refused(rmp.get("/bookings", params={"startDate": early}), 400, "startDate")
    usage = {"startDate": early, "endDate": at(10)}
    refused(boss.get("/analytics/usage", params=usage), 400, "startDate")
    log = _log_after(server, mark)
    assert "Traceback" not in log, log[-2000:]


def test_the_very_edges_of_time_answer_without_a_server_error(server: RunningServer) -> None:
    """The first and last representable instants are readable times: whatever the answer,
    it is not a 500 (a window or a duration computed from them must not overflow)."""
    rmp, email = person(server)
    first, last = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"
    window = {"email": email, "startTime": first, "endTime": last}
    assert rmp.get("/freebusy", params=window).status_code < 500
    assert rmp.get("/bookings", params={"startDate": first, "endDate": last}).status_code < 500
    boss = admin(server)
    resource = make_resource(boss)
    answer = book(boss, resource, "9999-12-31T22:00:00Z", last)
    assert answer.status_code < 500, answer.text
    answer = book(boss, resource, first, "0001-01-01T01:00:00Z")
    assert answer.status_code < 500, answer.text
    answer = boss.get(f"/resources/{resource}/availability", params=window)
    assert answer.status_code < 500, answer.text
    answer = boss.get("/analytics/usage", params={"startDate": first, "endDate": last})
    assert answer.status_code < 500, answer.text
    event = {"title": "Edge", "startTime": "9999-12-31T22:00:00Z", "endTime": last}
    answer = rmp.post("/calendars/Calendar/events", json=event)
    assert answer.status_code < 500, answer.text
    daily = {**event, "recurrence": "FREQ=DAILY"}
    answer = rmp.post("/calendars/Calendar/events", json=daily)
    assert answer.status_code < 500, answer.text
    listed = rmp.get("/calendars/Calendar/events", params={"startDate": first, "endDate": last})
    assert listed.status_code < 500, listed.text
