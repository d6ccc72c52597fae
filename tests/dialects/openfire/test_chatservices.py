"""Openfire `/chatservices`, through the official client and raw HTTP."""

from __future__ import annotations

import pytest
import requests
from openfire_restapi import exceptions as ofx

from tests.conftest import RunningServer, unique

JSON = {"Accept": "application/json"}
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def _services(server: RunningServer, http: requests.Session) -> dict[str, dict[str, object]]:
    r = http.get(f"{server.api}/chatservices", headers=JSON)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    return {s["serviceName"]: s for s in r.json()["chatService"]}


def test_every_tenant_starts_with_conference(client) -> None:  # type: ignore[no-untyped-def]
    found = {s["serviceName"]: s for s in client.rooms.get_chat_services()}
    assert found["conference"] == {
        "serviceName": "conference",
        "description": "Public Chatrooms",
        "hidden": False,
    }


def test_add_and_list_with_official_client(client, server: RunningServer, http) -> None:  # type: ignore[no-untyped-def]
    name = unique("svc")
    assert client.rooms.add_chat_service(name, "Team rooms", hidden=True) is True
    assert _services(server, http)[name] == {
        "serviceName": name,
        "description": "Team rooms",
        "hidden": True,
    }
    with pytest.raises(ofx.AlreadyExistsException, match="Could not create the chat service"):
        client.rooms.add_chat_service(name, "again")
    with pytest.raises(ofx.AlreadyExistsException):  # names are case-insensitive
        client.rooms.add_chat_service(name.upper(), "again")


def test_exact_xml_and_json(server: RunningServer, http: requests.Session) -> None:
    name = unique("shape")
    r = http.post(
        f"{server.api}/chatservices",
        data=f"<chatService><serviceName>{name}</serviceName><hidden>false</hidden></chatService>",
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 201 and r.content == b"" and "content-type" not in r.headers
    r = http.get(f"{server.api}/chatservices")
    assert r.headers["content-type"] == "application/xml"
    assert r.text.startswith(f"{XML_HEAD}<chatServices><chatService>")
    # No description: the element is left out, `hidden` is always there.
    assert (
        f"<chatService><serviceName>{name}</serviceName><hidden>false</hidden></chatService>"
        in (r.text)
    )
    assert _services(server, http)[name] == {"serviceName": name, "hidden": False}


def test_duplicate_answers_the_plugin_error(server: RunningServer, http: requests.Session) -> None:
    r = http.post(
        f"{server.api}/chatservices",
        json={"serviceName": "Conference", "description": "x", "hidden": False},
        headers=JSON,
    )
    assert r.status_code == 409
    assert r.json() == {
        "exception": "AlreadyExistsException",
        "message": "Could not create the chat service",
        "resource": "Conference",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "no name"}, "serviceName"),
        ({"serviceName": "  "}, "serviceName"),
        ({"serviceName": "a b"}, "serviceName"),
        ({"serviceName": "a@b"}, "serviceName"),
        ({"serviceName": "ok", "hidden": "maybe"}, "hidden"),
        ({"serviceName": "ok", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    server: RunningServer, http: requests.Session, body: dict[str, object], field: str
) -> None:
    before = _services(server, http)
    r = http.post(f"{server.api}/chatservices", json=body, headers=JSON)
    assert r.status_code == 400
    error = r.json()
    assert error["exception"] == "IllegalArgumentException"
    assert error["resource"] == field or field in error["message"]
    assert _services(server, http) == before


def test_room_writes_create_a_missing_service(client, server: RunningServer, http) -> None:  # type: ignore[no-untyped-def]
    service, room = unique("auto"), unique("room")
    with pytest.raises(ofx.InvalidResponseException, match="MUCServiceNotFoundException"):
        client.rooms.get_rooms(servicename=service)
    assert client.rooms.add_room(room, "Room", "", servicename=service) is True
    assert _services(server, http)[service] == {
        "serviceName": service,
        "description": service,
        "hidden": False,
    }
    # Later lookups ignore case.
    assert room in client.rooms.get_rooms(servicename=service.upper())
    assert client.rooms.get_room(room, servicename=service.upper())["roomName"] == room


def test_unknown_service_is_a_404_everywhere_but_room_writes(
    server: RunningServer, http: requests.Session
) -> None:
    missing = unique("nosvc")
    for method, path in [
        ("GET", "/chatrooms"),
        ("GET", "/chatrooms/any"),
        ("DELETE", "/chatrooms/any"),
        ("GET", "/chatrooms/any/participants"),
        ("GET", "/chatrooms/any/occupants"),
        ("GET", "/chatrooms/any/chathistory"),
        ("GET", "/chatrooms/any/members"),
        ("POST", "/chatrooms/any/members/jane"),
        ("DELETE", "/chatrooms/any/members/jane"),
    ]:
        r = http.request(
            method, f"{server.api}{path}", params={"servicename": missing}, headers=JSON
        )
        assert r.status_code == 404, (method, path)
        assert r.json() == {
            "exception": "MUCServiceNotFoundException",
            "message": "Chat service does not exist or is not accessible.",
            "resource": missing,
        }
    assert missing not in _services(server, http)
