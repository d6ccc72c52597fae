"""Openfire `/users`, `/lockouts` and vCard, through the official client and raw HTTP."""

from __future__ import annotations

import threading

import pytest
import requests
from openfire_restapi import exceptions as ofx

from tests.conftest import RunningServer, unique

JSON = {"Accept": "application/json"}


def test_create_get_update_delete_with_official_client(client) -> None:  # type: ignore[no-untyped-def]
    name = unique("Jane")
    assert (
        client.users.add_user(
            name, "password-1", name="Jane D", email="jane@example.org", props={"team": "blue"}
        )
        is True
    )
    got = client.users.get_user(name)
    assert got == {
        "username": name.lower(),
        "name": "Jane D",
        "email": "jane@example.org",
        "properties": {"team": "blue"},
    }
    assert name.lower() in client.users.get_users()
    assert client.users.update_user(name, name="Jane E") is True
    got = client.users.get_user(name)
    assert got["name"] == "Jane E"
    assert got["properties"] == {}  # the plugin replaces properties wholesale
    assert client.users.delete_user(name) is True
    with pytest.raises(ofx.UserNotFoundException, match="Could not get user"):
        client.users.get_user(name)


def test_duplicate_and_missing_password(
    client, server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    name = unique("dup")
    client.users.add_user(name, "password-1")
    with pytest.raises(ofx.UserAlreadyExistsException):
        client.users.add_user(name, "password-1")
    r = http.post(f"{server.api}/users", json={"username": unique("nopw")}, headers=JSON)
    assert r.status_code == 400
    assert r.json()["exception"] == "PasswordIsNull"


def test_rename_keeps_password_and_identity(client, server: RunningServer) -> None:  # type: ignore[no-untyped-def]
    old, new = unique("old"), unique("new")
    client.users.add_user(old, "password-1", props={"k": "v"})
    client.users.update_user(old, newusername=new, props={"k": "v"})
    assert client.users.get_user(new)["properties"] == {"k": "v"}
    with pytest.raises(ofx.UserNotFoundException):
        client.users.get_user(old)
    taken = unique("taken")
    client.users.add_user(taken, "password-1")
    with pytest.raises(ofx.UserAlreadyExistsException):
        client.users.update_user(new, newusername=taken)


def test_xml_is_the_default(server: RunningServer, http: requests.Session) -> None:
    name = unique("xml")
    body = (
        f"<user><username>{name}</username><password>password-1</password>"
        "<properties><property key='a' value='1'/></properties><unknown/></user>"
    )
    r = http.post(f"{server.api}/users", data=body, headers={"Content-Type": "application/xml"})
    assert r.status_code == 201 and r.content == b"" and "content-type" not in r.headers
    r = http.get(f"{server.api}/users/{name}")
    assert r.headers["content-type"] == "application/xml"
    assert r.text == (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"<user><username>{name}</username><name></name>"
        '<properties><property key="a" value="1"/></properties></user>'
    )


def test_bad_input_names_the_problem_and_stores_nothing(
    server: RunningServer, http: requests.Session
) -> None:
    name = unique("bad")
    r = http.post(
        f"{server.api}/users",
        data=b'{"username": "x",',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    r = http.post(
        f"{server.api}/users",
        json={"username": name, "password": "password-1", "groups": []},
        headers=JSON,
    )
    assert r.status_code == 400 and "groups" in r.json()["message"]
    r = http.post(
        f"{server.api}/users", json={"username": "a@b", "password": "password-1"}, headers=JSON
    )
    assert r.status_code == 400 and r.json()["resource"] == "username"
    r = http.post(f"{server.api}/users", data="x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert http.get(f"{server.api}/users/{name}", headers=JSON).status_code == 404


def test_auth_is_required(server: RunningServer) -> None:
    r = requests.get(f"{server.api}/users")
    assert r.status_code == 401 and r.content == b"" and "www-authenticate" not in r.headers
    r = requests.get(f"{server.api}/users", auth=("admin", "wrong"))
    assert r.status_code == 401


def test_search_and_paging(client, server: RunningServer, http: requests.Session) -> None:  # type: ignore[no-untyped-def]
    tag = unique("pg")
    for i in range(5):
        client.users.add_user(
            f"{tag}u{i}", "password-1", name=f"Person {tag} {i}", email=f"{tag}{i}@ex.org"
        )
    found = client.users.get_users(query=tag)
    assert sorted(found) == [f"{tag}u{i}" for i in range(5)]
    r = http.get(
        f"{server.api}/users", params={"search": tag, "start": 1, "limit": 2}, headers=JSON
    )
    assert [u["username"] for u in r.json()["users"]] == [f"{tag}u1", f"{tag}u2"]
    assert r.headers["X-Total-Count"] == "5"
    r = http.get(f"{server.api}/users", params={"email": f"{tag}3@EX.org"}, headers=JSON)
    assert [u["username"] for u in r.json()["users"]] == [f"{tag}u3"]


def test_concurrent_creates_give_one_201(server: RunningServer) -> None:
    name = unique("race")
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        r = requests.post(
            f"{server.api}/users",
            json={"username": name, "password": "password-1"},
            auth=("admin", "admin-test-password"),
            headers=JSON,
        )
        statuses.append(r.status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] + [409] * 7


def test_lockout_locks_login_and_last_admin_is_protected(
    client, server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    r = http.post(f"{server.api}/lockouts/admin", headers=JSON)
    assert r.status_code == 409 and r.json()["exception"] == "NotAllowedException"
    name = unique("lock")
    client.users.add_user(name, "password-1")
    assert client.users.lock_user(name) is True
    assert client.users.unlock_user(name) is True
    with pytest.raises(ofx.UserNotFoundException):
        client.users.lock_user(unique("ghost"))


def test_vcard_round_trip(client, server: RunningServer) -> None:  # type: ignore[no-untyped-def]
    name = unique("vc")
    client.users.add_user(name, "password-1")
    assert client.users.get_user_vcard(name) is None
    card = '<vCard xmlns="vcard-temp"><FN>Jane</FN></vCard>'
    assert client.users.update_user_vcard(name, card) is True
    assert client.users.get_user_vcard(name) == card
    assert client.users.delete_user_vcard(name) is True
    assert client.users.get_user_vcard(name) is None


def test_head_and_auth_before_routing(server: RunningServer, http: requests.Session) -> None:
    r = http.head(f"{server.api}/users/admin")
    assert r.status_code == 200 and r.content == b""
    assert http.head(f"{server.api}/users/{unique('nobody')}").status_code == 404
    assert requests.get(f"{server.api}/no/such/path", auth=("admin", "bad")).status_code == 401
    assert http.get(f"{server.api}/no/such/path").status_code == 404


def test_content_negotiation(server: RunningServer, http: requests.Session) -> None:
    r = http.get(f"{server.api}/users/admin", headers={"Accept": "text/plain"})
    assert r.status_code == 406
    r = http.get(f"{server.api}/users/admin", headers={"Accept": "*/*"})
    assert r.headers["content-type"] == "application/xml"
    r = http.get(
        f"{server.api}/users/admin",
        headers={"Accept": "application/json;q=0.9, application/xml;q=0.5"},
    )
    assert r.headers["content-type"] == "application/json"
    # Errors: one concrete Accept wins; else the request's Content-Type; else XML.
    ghost = unique("ghost")
    r = http.get(f"{server.api}/users/{ghost}", headers={"Accept": "application/json, text/plain"})
    assert r.headers["content-type"] == "application/xml"
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><error>')
    r = http.put(f"{server.api}/users/{ghost}", json={"name": "x"}, headers={"Accept": "*/*"})
    assert r.status_code == 404 and r.json()["message"] == "Could not find user"


def test_oversized_body_is_refused_and_nothing_stored(
    server: RunningServer, http: requests.Session
) -> None:
    name = unique("big")
    body = {"username": name, "password": "password-1", "name": "x" * (1024 * 1024 + 10)}
    r = http.post(f"{server.api}/users", json=body, headers=JSON)
    assert r.status_code == 413
    assert r.json()["exception"] == "IllegalArgumentException" and r.json()["resource"] == "body"
    assert http.get(f"{server.api}/users/{name}", headers=JSON).status_code == 404


def test_nul_characters_are_refused_by_name(server: RunningServer, http: requests.Session) -> None:
    name = unique("nul")
    body = {"username": name, "password": "password-1", "name": "a\u0000b"}
    r = http.post(f"{server.api}/users", json=body, headers=JSON)
    assert r.status_code == 400 and r.json()["resource"] == "name", r.text
    r = http.get(f"{server.api}/users", params={"search": "a\u0000"}, headers=JSON)
    assert r.status_code == 400 and r.json()["resource"] == "search", r.text
    room = {"roomName": unique("r"), "naturalName": "x\u0000", "description": "d"}
    r = http.post(f"{server.api}/chatrooms", json=room, headers=JSON)
    assert r.status_code == 400 and r.json()["resource"] == "naturalName", r.text
    r = http.get(f"{server.api}/groups/a%00b", headers=JSON)
    assert r.status_code == 400 and r.json()["resource"] == "path", r.text
    assert http.get(f"{server.api}/users/{name}", headers=JSON).status_code == 404
