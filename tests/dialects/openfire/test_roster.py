"""Openfire `/users/{u}/roster`, through the official client and raw HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from openfire_restapi import exceptions as ofx

from tests.conftest import RunningServer, unique

JSON = {"Accept": "application/json"}
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def _user(server: RunningServer, http: requests.Session, prefix: str) -> str:
    name = unique(prefix)
    r = http.post(
        f"{server.api}/users", json={"username": name, "password": "password-1"}, headers=JSON
    )
    assert r.status_code == 201
    return name


def _roster(server: RunningServer, http: requests.Session, user: str) -> Any:
    return http.get(f"{server.api}/users/{user}/roster", headers=JSON).json()["rosterItem"]


def test_roster_with_official_client(client: Any) -> None:
    user = unique("rost")
    client.users.add_user(user, "password-1")
    assert client.users.get_user_roster(user) == []
    assert (
        client.users.add_user_roster_item(user, "john@example.org", nickname="John", subscription=3)
        is True
    )
    assert client.users.add_user_roster_item(user, "Jane@Other.ORG/laptop") is True
    assert client.users.get_user_roster(user) == [
        {"jid": "john@example.org", "nickname": "John", "subscriptionType": 3, "groups": []},
        {"jid": "jane@other.org", "subscriptionType": 0, "groups": []},
    ]
    with pytest.raises(ofx.UserAlreadyExistsException):
        client.users.add_user_roster_item(user, "john@example.org")
    # PUT resets the subscription when it is left out and keeps the nickname.
    assert (
        client.users.update_user_roster_item(user, "john@example.org", groups=["Friends"]) is True
    )
    assert client.users.get_user_roster(user)[0] == {
        "jid": "john@example.org",
        "nickname": "John",
        "subscriptionType": 0,
        "groups": ["Friends"],
    }
    # The JID in the path may carry a resource (sent as %2F).
    assert (
        client.users.update_user_roster_item(
            user, "john@example.org/phone", nickname="Johnny", subscription=2, groups=[]
        )
        is True
    )
    assert client.users.get_user_roster(user)[0] == {
        "jid": "john@example.org",
        "nickname": "Johnny",
        "subscriptionType": 2,
        "groups": [],
    }
    assert client.users.delete_user_roster_item(user, "john@example.org/phone") is True
    assert client.users.delete_user_roster_item(user, "jane@other.org") is True
    assert client.users.get_user_roster(user) == []
    with pytest.raises(ofx.InvalidResponseException, match="RosterItemNotFound"):
        client.users.delete_user_roster_item(user, "jane@other.org")
    with pytest.raises(ofx.UserNotFoundException):
        client.users.update_user_roster_item(user, "jane@other.org")
    with pytest.raises(ofx.UserNotFoundException):
        client.users.get_user_roster(unique("nouser"))
    with pytest.raises(ofx.UserNotFoundException):
        client.users.add_user_roster_item(unique("nouser"), "a@b.org")


def test_roster_recorded_wire_shapes(server: RunningServer, http: requests.Session) -> None:
    user = _user(server, http, "rosx")
    r = http.post(
        f"{server.api}/users/{user}/roster",
        data=(
            "<rosterItem><jid>john@example.org</jid><nickname>John</nickname>"
            "<subscriptionType>3</subscriptionType></rosterItem>"
        ),
        headers={"Content-Type": "application/xml"},
    )
    assert (r.status_code, r.content, "content-type" in r.headers) == (201, b"", False)
    r = http.get(f"{server.api}/users/{user}/roster")
    assert r.headers["content-type"] == "application/xml"
    assert r.text == (
        f"{XML_HEAD}<roster><rosterItem><jid>john@example.org</jid><nickname>John</nickname>"
        "<subscriptionType>3</subscriptionType><groups/></rosterItem></roster>"
    )
    r = http.get(f"{server.api}/users/{user}/roster", headers=JSON)
    assert r.headers["content-type"] == "application/json"
    assert r.text == (
        '{"rosterItem":[{"jid":"john@example.org","nickname":"John",'
        '"subscriptionType":3,"groups":[]}]}'
    )
    r = http.put(
        f"{server.api}/users/{user}/roster/john%40example.org",
        data=(
            "<rosterItem><subscriptionType>-1</subscriptionType>"
            "<groups><group>A</group><group>B</group></groups></rosterItem>"
        ),
        headers={"Content-Type": "application/xml"},
    )
    assert (r.status_code, r.content) == (200, b"")
    assert http.get(f"{server.api}/users/{user}/roster").text.endswith(
        "<subscriptionType>-1</subscriptionType><groups><group>A</group><group>B</group>"
        "</groups></rosterItem></roster>"
    )
    r = http.post(
        f"{server.api}/users/{user}/roster",
        json={"jid": "k@x.org", "subscriptionType": "1", "groups": None, "nickname": None},
        headers=JSON,
    )
    assert r.status_code == 201
    assert _roster(server, http, user)[1] == {"jid": "k@x.org", "subscriptionType": 1, "groups": []}
    assert http.get(f"{server.api}/users/{_user(server, http, 'empty')}/roster").text == (
        f"{XML_HEAD}<roster/>"
    )


def test_roster_errors_store_nothing(server: RunningServer, http: requests.Session) -> None:
    user = _user(server, http, "rose")
    base = f"{server.api}/users/{user}/roster"
    r = http.post(
        base, json={"jid": "a@b.org", "nickname": "A", "subscriptionType": 3}, headers=JSON
    )
    assert r.status_code == 201
    r = http.post(base, json={"nickname": "x"}, headers=JSON)
    assert r.status_code == 400
    assert r.json() == {
        "resource": "JID",
        "message": "JID is null",
        "exception": "IllegalArgumentException",
    }
    for bad in ("not a jid@x.org", "x@", ""):
        r = http.post(base, json={"jid": bad}, headers=JSON)
        assert (r.status_code, r.json()["exception"]) == (400, "IllegalArgumentException")
        assert r.json()["message"] == (f"Cannot parse {bad!r} as a JID" if bad else "JID is null")
    # A subscription outside -1..3 is a 409, as in the plugin.
    r = http.post(base, json={"jid": "c@b.org", "subscriptionType": 7}, headers=JSON)
    assert r.status_code == 409
    assert r.json() == {
        "resource": "",
        "message": "Could not create roster item",
        "exception": "UserAlreadyExistsException",
    }
    r = http.post(base, json={"jid": "A@B.org/x"}, headers=JSON)
    assert r.status_code == 409
    assert r.json() == {
        "resource": "",
        "message": "Could not create roster item",
        "exception": "UserAlreadyExistsException",
    }
    r = http.put(f"{base}/a%40b.org", json={"subscriptionType": -2, "nickname": "Z"}, headers=JSON)
    assert r.status_code == 409
    assert r.json() == {
        "resource": "a@b.org",
        "message": "Could not update the roster",
        "exception": "UserAlreadyExistsException",
    }
    r = http.put(f"{base}/nobody%40b.org", json={"jid": "x"}, headers=JSON)
    assert r.status_code == 404
    assert r.json() == {
        "resource": "nobody@b.org",
        "message": "Could not update the roster",
        "exception": "UserNotFoundException",
    }
    r = http.delete(f"{base}/nobody%40b.org/res", headers=JSON)
    assert r.status_code == 404
    assert r.json() == {
        "resource": "nobody@b.org",
        "message": "Roster Item could not deleted",
        "exception": "RosterItemNotFound",
    }
    r = http.put(f"{base}/a%40b.org", json={"nickname": "A", "bogus": 1}, headers=JSON)
    assert r.status_code == 400
    r = http.post(base, json={"jid": "long@b.org", "nickname": "n" * 1024}, headers=JSON)
    assert (r.status_code, r.json()["resource"]) == (400, "nickname")
    assert _roster(server, http, user) == [
        {"jid": "a@b.org", "nickname": "A", "subscriptionType": 3, "groups": []}
    ]
    # An unknown user: the plugin's wording per endpoint.
    ghost = unique("ghost")
    gone = f"{server.api}/users/{ghost}/roster"
    expected = {
        ("GET", gone): "Could not get user roster",
        ("POST", gone): "Could not get user roster",
        ("PUT", f"{gone}/a%40b.org"): "Could not get user",
        ("DELETE", f"{gone}/a%40b.org"): "Could not get user",
    }
    for (method, url), message in expected.items():
        r = http.request(method, url, json={"jid": "a@b.org"}, headers=JSON)
        assert r.status_code == 404, (method, url)
        assert r.json() == {
            "resource": ghost,
            "message": message,
            "exception": "UserNotFoundException",
        }


def test_roster_owner_as_local_jid(server: RunningServer, http: requests.Session) -> None:
    """`user@<local domain>` names the owner, as on the group routes; another domain does
    not."""
    user = _user(server, http, "rosjid")
    base = f"{server.api}/users/{user}%40example.org/roster"
    r = http.post(base, json={"jid": "a@b.org", "groups": ["G", "G"]}, headers=JSON)
    assert r.status_code == 201
    r = http.put(f"{base}/a%40b.org", json={"nickname": "A", "subscriptionType": 1}, headers=JSON)
    assert r.status_code == 200
    assert _roster(server, http, user) == [
        {"jid": "a@b.org", "nickname": "A", "subscriptionType": 1, "groups": ["G"]}
    ]
    r = http.get(f"{server.api}/users/{user}%40other.org/roster", headers=JSON)
    assert (r.status_code, r.json()["exception"]) == (404, "UserNotFoundException")
    assert http.delete(f"{base}/a%40b.org").status_code == 200
    assert _roster(server, http, user) == []


def test_roster_follows_a_renamed_user(client: Any) -> None:
    user = unique("rosren")
    client.users.add_user(user, "password-1")
    client.users.add_user_roster_item(user, "pal@example.org", nickname="Pal", groups=["G"])
    renamed = unique("rosnew")
    client.users.update_user(user, newusername=renamed)
    assert client.users.get_user_roster(renamed) == [
        {"jid": "pal@example.org", "nickname": "Pal", "subscriptionType": 0, "groups": ["G"]}
    ]
