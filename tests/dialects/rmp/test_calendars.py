"""RMP `/calendars`, events and `/freebusy` over HTTP against a running server."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import RunningServer
from tests.helpers.rmp import DOMAIN, person, refused

RANGE = {"startDate": "2032-05-01T00:00:00Z", "endDate": "2032-06-01T00:00:00Z"}
EVENTS = "/calendars/Calendar/events"


def _event(session: requests.Session, **fields: Any) -> dict[str, Any]:
    payload = {
        "title": "Planning",
        "startTime": "2032-05-03T10:00:00Z",
        "endTime": "2032-05-03T11:00:00Z",
        **fields,
    }
    answer = session.post(EVENTS, json=payload)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["success"] is True
    return body["event"]  # type: ignore[no-any-return]


def _listed(session: requests.Session, **params: str) -> list[dict[str, Any]]:
    answer = session.get(EVENTS, params={**RANGE, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]  # type: ignore[no-any-return]


def test_a_person_has_a_personal_calendar(server: RunningServer) -> None:
    alice, _ = person(server)
    answer = alice.get("/calendars")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "success": True,
        "calendars": [{"name": "Calendar", "type": "personal", "access": "read-write"}],
    }


def test_event_lifecycle(server: RunningServer) -> None:
    alice, email = person(server)
    created = _event(
        alice,
        startTime="2032-05-03T12:00:00+02:00",
        endTime="2032-05-03T13:00:00+02:00",
        location="Room 1",
        attendees=["bob@example.org"],
        sendInvitations=False,
    )
    assert created == {
        "id": created["id"],
        "title": "Planning",
        "startTime": "2032-05-03T10:00:00Z",
        "endTime": "2032-05-03T11:00:00Z",
        "location": "Room 1",
        "attendees": ["bob@example.org"],
        "organizer": email,
        "calendar": "Calendar",
    }
    assert isinstance(created["id"], str)
    assert _listed(alice) == [created]
    one = alice.get(f"{EVENTS}/{created['id']}")
    assert one.status_code == 200 and one.json()["event"] == created

    changed = alice.put(f"{EVENTS}/{created['id']}", json={"title": "Review", "location": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["event"]["title"] == "Review"
    assert changed.json()["event"]["location"] is None
    assert changed.json()["event"]["startTime"] == "2032-05-03T10:00:00Z"

    gone = alice.delete(f"{EVENTS}/{created['id']}", params={"sendCancellation": "false"})
    assert gone.status_code == 200, gone.text
    assert gone.json()["event"]["id"] == created["id"]
    assert _listed(alice) == []
    refused(alice.get(f"{EVENTS}/{created['id']}"), 404)
    refused(alice.delete(f"{EVENTS}/{created['id']}"), 404)


def test_recurring_events(server: RunningServer) -> None:
    alice, _ = person(server)
    series = _event(alice, recurrence="FREQ=WEEKLY;COUNT=3")
    assert series["recurrence"] == "FREQ=WEEKLY;COUNT=3" and "recurrenceId" not in series
    occurrences = _listed(alice)
    assert [(o["id"], o["startTime"], o["recurrenceId"]) for o in occurrences] == [
        (series["id"], f"2032-05-{day}T10:00:00Z", f"2032-05-{day}T10:00:00Z")
        for day in ("03", "10", "17")
    ]
    assert all(o["recurrence"] == "FREQ=WEEKLY;COUNT=3" for o in occurrences)
    assert _listed(alice, includeRecurring="false") == [series]

    one = alice.get(f"{EVENTS}/{series['id']}", params={"recurrenceId": "2032-05-10T10:00:00Z"})
    assert one.status_code == 200 and one.json()["event"] == occurrences[1]
    cancel = alice.delete(
        f"{EVENTS}/{series['id']}", params={"recurrenceId": "2032-05-10T10:00:00Z"}
    )
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["event"]["recurrenceId"] == "2032-05-10T10:00:00Z"
    assert [o["startTime"][8:10] for o in _listed(alice)] == ["03", "17"]
    refused(
        alice.delete(f"{EVENTS}/{series['id']}", params={"recurrenceId": "2032-05-10T10:00:00Z"}),
        404,
    )
    assert alice.delete(f"{EVENTS}/{series['id']}").status_code == 200
    assert _listed(alice) == []


def test_refusals_name_the_field(server: RunningServer) -> None:
    alice, _ = person(server)
    good = {"title": "x", "startTime": "2032-05-03T10:00:00Z", "endTime": "2032-05-03T11:00:00Z"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "title": " "}, 400, "title"),
        ({**good, "endTime": "2032-05-03T10:00:00Z"}, 422, "endTime"),
        ({**good, "startTime": "2032-05-03T10:00:00"}, 400, "startTime"),
        ({**good, "endTime": "soon"}, 400, "endTime"),
        ({**good, "recurrence": "FREQ=NEVER"}, 400, "recurrence"),
        ({**good, "attendees": ["nobody"]}, 400, "attendees"),
        ({**good, "attendees": "bob@example.org"}, 400, "attendees"),
        ({"startTime": good["startTime"], "endTime": good["endTime"]}, 400, "title"),
    ]
    for payload, status, field in cases:
        refused(alice.post(EVENTS, json=payload), status, field)
    assert _listed(alice) == []
    refused(alice.get(EVENTS, params={"startDate": RANGE["startDate"]}), 400, "endDate")
    refused(alice.get(EVENTS, params={**RANGE, "endDate": RANGE["startDate"]}), 422, "endDate")
    refused(alice.get(EVENTS, params={**RANGE, "includeRecurring": "maybe"}), 400)
    refused(alice.get("/calendars/Nope/events", params=RANGE), 404)
    refused(alice.post("/calendars/Nope/events", json=good), 404)
    refused(alice.get(f"{EVENTS}/not-an-id"), 404)
    created = _event(alice)
    refused(alice.put(f"{EVENTS}/{created['id']}", json={"endTime": "2032-05-03T09:00:00Z"}), 422)
    refused(requests.get(f"{alice.base}/calendars"), 401)


def test_events_are_private_to_their_calendar(server: RunningServer) -> None:
    alice, _ = person(server)
    bob, _ = person(server)
    created = _event(alice)
    refused(bob.get(f"{EVENTS}/{created['id']}"), 404)
    refused(bob.delete(f"{EVENTS}/{created['id']}"), 404)
    assert _listed(bob) == []


def test_freebusy_merges_a_persons_events(server: RunningServer) -> None:
    alice, email = person(server)
    bob, _ = person(server)
    _event(alice)
    _event(alice, startTime="2032-05-03T10:30:00Z", endTime="2032-05-03T12:00:00Z")
    _event(alice, startTime="2032-05-04T09:00:00Z", endTime="2032-05-04T10:00:00Z")
    params = {"email": email, "startTime": "2032-05-03T00:00:00Z", "endTime": "2032-05-04T09:30Z"}
    answer = bob.get("/freebusy", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "success": True,
        "periods": [
            {"from": "2032-05-03T10:00:00Z", "till": "2032-05-03T12:00:00Z", "type": "BUSY"},
            {"from": "2032-05-04T09:00:00Z", "till": "2032-05-04T09:30:00Z", "type": "BUSY"},
        ],
    }
    refused(bob.get("/freebusy", params={**params, "email": ""}), 400, "email")
    refused(bob.get("/freebusy", params={**params, "email": f"nobody-x@{DOMAIN}"}), 404)
    refused(bob.get("/freebusy", params={**params, "endTime": params["startTime"]}), 422)
    refused(bob.get("/freebusy", params={**params, "startTime": "2032-05-03"}), 400, "startTime")
