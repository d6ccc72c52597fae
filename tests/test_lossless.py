"""Nothing silently changed by the database: instants keep their moment and ids are never
handed out twice, on SQLite as on PostgreSQL, whichever API writes them."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from symphony.bdk.gen.exceptions import ApiException

from tests.conftest import RunningServer, unique
from tests.helpers.rmp import admin, at

JSON = {"Accept": "application/json"}


def _room(name: str, created: str) -> dict[str, Any]:
    return {
        "roomName": name,
        "naturalName": "Lobby",
        "description": "Instants",
        "creationDate": created,
        "modificationDate": created,
        "maxUsers": 30,
        "persistent": True,
        "broadcastPresenceRoles": ["moderator"],
        "owners": ["admin@example.org"],
    }


def test_a_time_with_an_offset_keeps_its_instant(
    server: RunningServer, http: requests.Session
) -> None:
    name = unique("instant")
    made = http.post(
        f"{server.api}/chatrooms", json=_room(name, "2022-02-07T16:09:51.517+01:00"), headers=JSON
    )
    assert made.status_code == 201, made.text
    room = http.get(f"{server.api}/chatrooms/{name}", headers=JSON).json()
    # 16:09:51.517 at +01:00 is 15:09:51.517 UTC.
    assert room["creationDate"] == 1644246591517
    assert room["modificationDate"] == 1644246591517


def test_rmp_event_times_with_offsets_keep_their_instant(server: RunningServer) -> None:
    rmp = admin(server)
    tomorrow = at(10)[:10]
    made = rmp.post(
        "/calendars/Calendar/events",
        json={
            "title": "Offset",
            "startTime": f"{tomorrow}T12:00:00+02:00",
            "endTime": f"{tomorrow}T13:00:00+02:00",
        },
    )
    assert made.status_code == 201, made.text
    event = made.json()["event"]
    shown = rmp.get(f"/calendars/Calendar/events/{event['id']}").json()["event"]
    assert (shown["startTime"], shown["endTime"]) == (
        f"{tomorrow}T10:00:00Z",
        f"{tomorrow}T11:00:00Z",
    )


def _openfire_user(server: RunningServer, http: requests.Session, name: str) -> None:
    made = http.post(
        f"{server.api}/users",
        json={"username": name, "password": "pw-123456", "email": f"{name}@example.org"},
        headers=JSON,
    )
    assert made.status_code == 201, made.text


async def test_a_deleted_persons_uid_is_never_given_to_the_next(
    bdk: Any, server: RunningServer, http: requests.Session
) -> None:
    """A bot that holds a uid must never reach someone else through it."""
    first = unique("gone")
    _openfire_user(server, http, first)
    [held] = (await bdk.users().list_users_by_usernames([first])).users
    assert http.delete(f"{server.api}/users/{first}").status_code == 200

    second = unique("next")
    _openfire_user(server, http, second)
    [newcomer] = (await bdk.users().list_users_by_usernames([second])).users
    assert newcomer.id > held.id
    with pytest.raises(ApiException) as gone:
        await bdk.users().get_user_detail(held.id)
    assert gone.value.status in (400, 404)  # the pod answers 400 for an unknown uid


def test_a_deleted_event_id_is_never_given_to_the_next(server: RunningServer) -> None:
    rmp = admin(server)
    times = {"startTime": at(14), "endTime": at(15)}
    first = rmp.post("/calendars/Calendar/events", json={"title": "First", **times})
    assert first.status_code == 201, first.text
    first_id = first.json()["event"]["id"]
    assert rmp.delete(f"/calendars/Calendar/events/{first_id}").status_code == 200
    second = rmp.post("/calendars/Calendar/events", json={"title": "Second", **times})
    assert second.status_code == 201, second.text
    assert second.json()["event"]["id"] > first_id
    assert rmp.get(f"/calendars/Calendar/events/{first_id}").status_code == 404
