"""RMP calendars over HTTP: series in their time zone, the cut of long expansions, one
occurrence changed on its own, and calendars made and shared with people and groups."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import RunningServer, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, person, refused

EVENTS = "/calendars/Calendar/events"
SPRING = {"startDate": "2032-03-01T00:00:00Z", "endDate": "2032-05-01T00:00:00Z"}
"""Around 2032-03-28, when Europe/Berlin goes from +01:00 to +02:00."""


def _series(rmp: Rmp, calendar: str = "Calendar", **fields: Any) -> dict[str, Any]:
    payload = {
        "title": "Standup",
        "startTime": "2032-03-15T09:00:00+01:00",
        "endTime": "2032-03-15T09:30:00+01:00",
        "recurrence": "FREQ=WEEKLY;COUNT=4",
        "sendInvitations": False,
        **fields,
    }
    made = rmp.post(f"/calendars/{calendar}/events", json=payload)
    assert made.status_code == 201, made.text
    return made.json()["event"]  # type: ignore[no-any-return]


def _listed(rmp: Rmp, calendar: str = "Calendar", **params: str) -> list[dict[str, Any]]:
    answer = rmp.get(f"/calendars/{calendar}/events", params={**SPRING, **params})
    assert answer.status_code == 200, answer.text
    assert answer.json()["truncated"] is False
    return answer.json()["events"]  # type: ignore[no-any-return]


def _in_berlin(server: RunningServer) -> tuple[Rmp, str]:
    rmp, email = person(server)
    changed = admin(server).put(f"/users/{email}", json={"settings": {"timezone": "Europe/Berlin"}})
    assert changed.status_code == 200, changed.text
    return rmp, email


def test_a_series_keeps_its_local_time_across_daylight_saving(server: RunningServer) -> None:
    rmp, email = _in_berlin(server)
    _series(rmp)
    starts = [e["startTime"] for e in _listed(rmp)]
    # 09:00 Berlin: +01:00 before the change, +02:00 after it.
    assert starts == [
        "2032-03-15T08:00:00Z",
        "2032-03-22T08:00:00Z",
        "2032-03-29T07:00:00Z",
        "2032-04-05T07:00:00Z",
    ]
    busy = rmp.get(
        "/freebusy",
        params={
            "email": email,
            "startTime": "2032-03-29T00:00:00Z",
            "endTime": "2032-03-30T00:00:00Z",
        },
    )
    assert busy.status_code == 200, busy.text
    assert busy.json()["periods"] == [
        {"from": "2032-03-29T07:00:00Z", "till": "2032-03-29T07:30:00Z", "type": "BUSY"}
    ]
    # The series carries its zone: a later change of the preference does not move it.
    admin(server).put(f"/users/{email}", json={"settings": {"timezone": "UTC"}})
    assert _listed(rmp)[3]["startTime"] == "2032-04-05T07:00:00Z"
    # Without a preference (the domain's default is UTC) the series stays at 08:00Z.
    other, _ = person(server)
    _series(other)
    assert {e["startTime"][11:] for e in _listed(other)} == {"08:00:00Z"}


def test_an_unknown_time_zone_is_refused_naming_the_field(server: RunningServer) -> None:
    _, email = person(server)
    root = admin(server)
    for zone in ("Mars/Olympus", "../../etc/passwd", ""):
        asked = root.put(f"/users/{email}", json={"settings": {"timezone": zone}})
        refused(asked, 400, "timezone")
    assert root.get(f"/users/{email}").json()["user"]["settings"]["timezone"] == "UTC"
    asked = root.put(f"/domains/{DOMAIN}/settings", json={"timezone": "Mars/Olympus"})
    refused(asked, 400, "timezone")
    assert root.get(f"/domains/{DOMAIN}/settings").json()["settings"]["timezone"] == "UTC"


def test_a_read_past_the_cut_says_it_was_cut(server: RunningServer) -> None:
    rmp, _ = person(server)
    _series(rmp, recurrence="FREQ=HOURLY", startTime="2032-01-01T00:00:00Z",
            endTime="2032-01-01T00:30:00Z")  # fmt: skip
    year = {"startDate": "2032-01-01T00:00:00Z", "endDate": "2033-01-01T00:00:00Z"}
    answer = rmp.get(EVENTS, params=year)
    assert answer.status_code == 200, answer.text
    assert answer.json()["truncated"] is True
    assert len(answer.json()["events"]) == 5_000
    day = {"startDate": "2032-01-01T00:00:00Z", "endDate": "2032-01-02T00:00:00Z"}
    answer = rmp.get(EVENTS, params=day)
    assert answer.json()["truncated"] is False and len(answer.json()["events"]) == 24


def test_editing_one_occurrence_changes_it_alone(server: RunningServer) -> None:
    rmp, email = person(server)
    series = _series(rmp, startTime="2032-03-15T09:00:00Z", endTime="2032-03-15T09:30:00Z")
    url = f"{EVENTS}/{series['id']}"
    second = "2032-03-22T09:00:00Z"
    changed = rmp.put(
        url,
        params={"recurrenceId": second},
        json={"title": "Moved", "startTime": "2032-03-22T14:00:00Z", "sendInvitations": False},
    )
    assert changed.status_code == 200, changed.text
    one = changed.json()["event"]
    assert (one["id"], one["title"], one["recurrenceId"]) == (series["id"], "Moved", second)
    assert (one["startTime"], one["endTime"]) == ("2032-03-22T14:00:00Z", "2032-03-22T14:30:00Z")

    listed = _listed(rmp)
    assert [(e["title"], e["startTime"], e["recurrenceId"]) for e in listed] == [
        ("Standup", "2032-03-15T09:00:00Z", "2032-03-15T09:00:00Z"),
        ("Moved", "2032-03-22T14:00:00Z", second),
        ("Standup", "2032-03-29T09:00:00Z", "2032-03-29T09:00:00Z"),
        ("Standup", "2032-04-05T09:00:00Z", "2032-04-05T09:00:00Z"),
    ]
    assert {e["id"] for e in listed} == {series["id"]}
    assert rmp.get(url).json()["event"]["title"] == "Standup"
    assert rmp.get(url, params={"recurrenceId": second}).json()["event"] == one
    assert [e["title"] for e in _listed(rmp, includeRecurring="false")] == ["Standup"]

    # The recurrenceId in the body does the same; the override changes again.
    again = rmp.put(url, json={"recurrenceId": second, "location": "Room 9"})
    assert again.status_code == 200, again.text
    assert again.json()["event"]["title"] == "Moved"
    assert again.json()["event"]["location"] == "Room 9"

    busy = rmp.get(
        "/freebusy",
        params={
            "email": email,
            "startTime": "2032-03-22T00:00:00Z",
            "endTime": "2032-03-23T00:00:00Z",
        },
    )
    assert [p["from"] for p in busy.json()["periods"]] == ["2032-03-22T14:00:00Z"]

    # Cancelling the changed occurrence leaves the other three.
    gone = rmp.delete(url, params={"recurrenceId": second, "sendCancellation": "false"})
    assert gone.status_code == 200, gone.text
    assert [e["startTime"][:10] for e in _listed(rmp)] == [
        "2032-03-15",
        "2032-03-29",
        "2032-04-05",
    ]
    refused(rmp.put(url, params={"recurrenceId": second}, json={"title": "X"}), 404)
    refused(
        rmp.put(url, params={"recurrenceId": "2032-03-29T09:00:00Z"}, json={"recurrence": ""}),
        400,
        "recurrence",
    )
    refused(rmp.put(url, params={"recurrenceId": "2032-03-29T09:05:00Z"}, json={}), 404)
    # Deleting the series takes its overrides with it.
    rmp.put(url, params={"recurrenceId": "2032-03-29T09:00:00Z"}, json={"title": "Kept?"})
    assert rmp.delete(url, params={"sendCancellation": "false"}).status_code == 200
    assert _listed(rmp) == []


def _calendars(rmp: Rmp) -> list[dict[str, str]]:
    answer = rmp.get("/calendars")
    assert answer.status_code == 200, answer.text
    return answer.json()["calendars"]  # type: ignore[no-any-return]


def _one(rmp: Rmp, calendar: str) -> requests.Response:
    return rmp.post(
        f"/calendars/{calendar}/events",
        json={
            "title": "Offsite",
            "startTime": "2032-03-20T10:00:00Z",
            "endTime": "2032-03-20T11:00:00Z",
            "sendInvitations": False,
        },
    )


def test_a_calendar_is_made_and_shared_with_a_person(server: RunningServer) -> None:
    alice, _ = person(server)
    bob, bob_email = person(server)
    made = alice.post("/calendars", json={"name": "Team Calendar"})
    assert made.status_code == 201, made.text
    assert made.json() == {
        "success": True,
        "calendar": {"name": "Team Calendar", "type": "personal", "access": "read-write"},
    }
    refused(alice.post("/calendars", json={"name": "Team Calendar"}), 409)
    refused(alice.post("/calendars", json={"name": "  "}), 400, "name")
    assert _one(alice, "Team Calendar").status_code == 201
    refused(bob.get("/calendars/Team Calendar/events", params=SPRING), 404)

    shared = alice.post(
        "/calendars/Team Calendar/shares", json={"email": bob_email, "access": "read-only"}
    )
    assert shared.status_code == 201, shared.text
    assert shared.json()["share"] == {"email": bob_email, "access": "read-only"}
    assert {"name": "Team Calendar", "type": "shared", "access": "read-only"} in _calendars(bob)
    assert [e["title"] for e in _listed(bob, "Team Calendar")] == ["Offsite"]
    refused(_one(bob, "Team Calendar"), 403)
    event_id = _listed(bob, "Team Calendar")[0]["id"]
    refused(bob.put(f"/calendars/Team Calendar/events/{event_id}", json={"title": "Mine"}), 403)
    refused(bob.delete(f"/calendars/Team Calendar/events/{event_id}"), 403)

    alice.post("/calendars/Team Calendar/shares", json={"email": bob_email, "access": "read-write"})
    assert {"name": "Team Calendar", "type": "shared", "access": "read-write"} in _calendars(bob)
    assert _one(bob, "Team Calendar").status_code == 201
    assert len(_listed(alice, "Team Calendar")) == 2

    ended = alice.delete(f"/calendars/Team Calendar/shares/{bob_email}")
    assert ended.status_code == 200, ended.text
    assert [c["name"] for c in _calendars(bob)] == ["Calendar"]
    refused(bob.get("/calendars/Team Calendar/events", params=SPRING), 404)
    refused(alice.delete(f"/calendars/Team Calendar/shares/{bob_email}"), 404)


def test_a_calendar_is_shared_with_a_server_group(
    server: RunningServer, http: requests.Session
) -> None:
    alice, alice_email = person(server)
    carol, carol_email = person(server)
    dave, _ = person(server)
    group = unique("calgroup")
    made = http.post(
        f"{server.api}/groups",
        json={"name": group, "admins": [], "members": [carol_email.split("@")[0]]},
        headers={"Accept": "application/json"},
    )
    assert made.status_code == 201, made.text
    assert alice.post("/calendars", json={"name": "Board"}).status_code == 201
    assert _one(alice, "Board").status_code == 201

    shares = "/calendars/Board/shares"
    refused(alice.post(shares, json={"group": group, "access": "owner"}), 400, "access")
    refused(alice.post(shares, json={"access": "read-only"}), 400, "email")
    refused(alice.post(shares, json={"email": "nobody", "access": "read-only"}), 400, "email")
    refused(alice.post(shares, json={"email": alice_email}), 400, "email")
    refused(alice.post(shares, json={"group": unique("nogroup")}), 404)
    refused(alice.post("/calendars/Nope/shares", json={"group": group}), 404)
    shared = alice.post(shares, json={"group": group, "access": "read-only"})
    assert shared.status_code == 201, shared.text
    assert shared.json()["share"] == {"group": group, "access": "read-only"}

    assert {"name": "Board", "type": "shared", "access": "read-only"} in _calendars(carol)
    assert [e["title"] for e in _listed(carol, "Board")] == ["Offsite"]
    refused(_one(carol, "Board"), 403)
    assert [c["name"] for c in _calendars(dave)] == ["Calendar"]
    refused(dave.get("/calendars/Board/events", params=SPRING), 404)

    assert alice.delete(f"{shares}/{group}").status_code == 200
    refused(carol.get("/calendars/Board/events", params=SPRING), 404)


def test_changed_occurrences_follow_the_series(server: RunningServer) -> None:
    rmp, _ = person(server)
    series = _series(rmp, startTime="2032-03-15T09:00:00Z", endTime="2032-03-15T09:30:00Z")
    url = f"{EVENTS}/{series['id']}"
    for moment, title in (("2032-03-22T09:00:00Z", "Second"), ("2032-04-05T09:00:00Z", "Last")):
        done = rmp.put(url, params={"recurrenceId": moment}, json={"title": title})
        assert done.status_code == 200, done.text
    # Moving the series an hour later moves the changed occurrences' ids with it.
    moved = rmp.put(url, json={"startTime": "2032-03-15T10:00:00Z"})
    assert moved.status_code == 200, moved.text
    assert [(e["title"], e["recurrenceId"]) for e in _listed(rmp)] == [
        ("Standup", "2032-03-15T10:00:00Z"),
        ("Second", "2032-03-22T10:00:00Z"),
        ("Standup", "2032-03-29T10:00:00Z"),
        ("Last", "2032-04-05T10:00:00Z"),
    ]
    # A rule that no longer has the last occurrence drops its change.
    shorter = rmp.put(url, json={"recurrence": "FREQ=WEEKLY;COUNT=3"})
    assert shorter.status_code == 200, shorter.text
    assert [e["title"] for e in _listed(rmp)] == ["Standup", "Second", "Standup"]


def test_without_a_preference_a_series_takes_the_domains_zone(server: RunningServer) -> None:
    root = admin(server)
    rmp, _ = person(server)
    before = root.get(f"/domains/{DOMAIN}/settings").json()["settings"]["timezone"]
    changed = root.put(f"/domains/{DOMAIN}/settings", json={"timezone": "America/New_York"})
    assert changed.status_code == 200, changed.text
    try:
        # 09:00 New York: -05:00 until 2032-03-14, -04:00 from then on.
        _series(rmp, startTime="2032-03-08T09:00:00-05:00", endTime="2032-03-08T10:00:00-05:00")
    finally:
        root.put(f"/domains/{DOMAIN}/settings", json={"timezone": before})
    assert [e["startTime"] for e in _listed(rmp)][:2] == [
        "2032-03-08T14:00:00Z",
        "2032-03-15T13:00:00Z",
    ]
