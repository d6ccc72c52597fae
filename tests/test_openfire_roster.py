"""Openfire `/users/{u}/roster`."""

from __future__ import annotations

import pytest
import requests
from openfire_restapi import exceptions as ofx

from tests.conftest import RunningServer, unique

JSON = {"Accept": "application/json"}


def test_roster_with_official_client(client) -> None:  # type: ignore[no-untyped-def]
    user = unique("rost")
    client.users.add_user(user, "pw")
    assert client.users.get_user_roster(user) == []
    assert (
        client.users.add_user_roster_item(user, "john@example.org", nickname="John", subscription=3)
        is True
    )
    assert client.users.get_user_roster(user) == [
        {"jid": "john@example.org", "nickname": "John", "subscriptionType": 3, "groups": []}
    ]
    with pytest.raises(ofx.UserAlreadyExistsException):
        client.users.add_user_roster_item(user, "john@example.org")
    # PUT resets the subscription when it is left out, keeps the nickname.
    assert (
        client.users.update_user_roster_item(user, "john@example.org", groups=["Friends"]) is True
    )
    assert client.users.get_user_roster(user) == [
        {
            "jid": "john@example.org",
            "nickname": "John",
            "subscriptionType": 0,
            "groups": ["Friends"],
        }
    ]
    assert client.users.delete_user_roster_item(user, "john@example.org/phone") is True
    assert client.users.get_user_roster(user) == []
    with pytest.raises(ofx.UserNotFoundException):
        client.users.get_user_roster(unique("nouser"))


def test_roster_wire_and_errors(server: RunningServer, http: requests.Session) -> None:
    user = unique("rosx")
    http.post(f"{server.api}/users", json={"username": user, "password": "p"}, headers=JSON)
    r = http.post(
        f"{server.api}/users/{user}/roster",
        data="<rosterItem><jid>john@example.org</jid><nickname>John</nickname><subscriptionType>3</subscriptionType></rosterItem>",
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 201
    r = http.get(f"{server.api}/users/{user}/roster")
    assert r.text == (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><roster><rosterItem>'
        "<jid>john@example.org</jid><nickname>John</nickname><subscriptionType>3</subscriptionType>"
        "<groups/></rosterItem></roster>"
    )
    assert http.get(f"{server.api}/users/{user}/roster", headers=JSON).text == (
        '{"rosterItem":[{"jid":"john@example.org","nickname":"John","subscriptionType":3,"groups":[]}]}'
    )
    r = http.post(f"{server.api}/users/{user}/roster", json={"nickname": "x"}, headers=JSON)
    assert r.status_code == 400 and r.json()["message"] == "JID is null"
    r = http.post(
        f"{server.api}/users/{user}/roster",
        json={"jid": "a@b.org", "subscriptionType": 7},
        headers=JSON,
    )
    assert r.status_code == 409 and r.json()["exception"] == "UserAlreadyExistsException"
    r = http.put(
        f"{server.api}/users/{user}/roster/nobody%40b.org", json={"jid": "x"}, headers=JSON
    )
    assert r.status_code == 404 and r.json()["message"] == "Could not update the roster"
    r = http.delete(f"{server.api}/users/{user}/roster/nobody%40b.org", headers=JSON)
    assert r.status_code == 404 and r.json()["exception"] == "RosterItemNotFound"
    assert (
        len(http.get(f"{server.api}/users/{user}/roster", headers=JSON).json()["rosterItem"]) == 1
    )
