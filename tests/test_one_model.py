"""The promise itself: one person, seen and changed the same way through every API."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import RunningServer, unique
from tests.helpers.symphony import Bot, session_token

JSON = {"Accept": "application/json"}
SECRET = "one-model-secret"
ADDRESSES = [
    ("ann@example.org", True),
    ("first.last+tag@mail.example.org", True),
    ("not an e-mail", False),
    ("ann@", False),
    ("@example.org", False),
    ("ann@localhost", True),
    ("ann@exa mple.org", False),
    ("a" * 250 + "@x.org", False),
]


def _through_openfire(server: RunningServer, http: requests.Session, address: str) -> bool:
    name = unique("mailof")
    r = http.post(
        f"{server.api}/users",
        json={"username": name, "password": "password-1", "email": address},
        headers=JSON,
    )
    assert r.status_code in (201, 400), r.text
    if r.status_code == 400:
        assert r.json()["resource"] == "email"
        assert http.get(f"{server.api}/users/{name}", headers=JSON).status_code == 404
    return r.status_code == 201


def _through_userservice(server: RunningServer, address: str) -> bool:
    name = unique("mailus")
    r = requests.get(
        f"{server.url}/plugins/restapi/userservice",
        params={
            "secret": SECRET,
            "type": "add",
            "username": name,
            "password": "password-1",
            "email": address,
        },
    )
    assert r.text in ("<result>ok</result>\n", "<error>IllegalArgumentException</error>\n")
    return r.text == "<result>ok</result>\n"


def _through_symphony(server: RunningServer, token: str, address: str) -> bool:
    r = requests.post(
        f"{server.url}/pod/v2/admin/user/create",
        json={"userAttributes": {"userName": unique("mailsy"), "emailAddress": address}},
        headers={"sessionToken": token},
    )
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert r.json()["message"].startswith("emailAddress")
    return r.status_code == 200


@pytest.fixture
def secret(server: RunningServer, http: requests.Session) -> None:
    r = http.post(
        f"{server.api}/system/properties",
        json={"key": "plugin.restapi.secret", "value": SECRET},
        headers=JSON,
    )
    assert r.status_code == 201


@pytest.mark.parametrize(("address", "valid"), ADDRESSES)
def test_an_address_is_accepted_or_refused_alike_everywhere(
    server: RunningServer,
    http: requests.Session,
    admin_bot: Bot,
    secret: None,
    address: str,
    valid: bool,
) -> None:
    token = session_token(server, admin_bot)
    seen = {
        "openfire": _through_openfire(server, http, address),
        "userservice": _through_userservice(server, address),
        "symphony": _through_symphony(server, token, address),
    }
    assert seen == dict.fromkeys(seen, valid)


def test_a_refused_userservice_add_leaves_no_account(
    server: RunningServer, http: requests.Session, secret: None
) -> None:
    name, group = unique("halfadd"), unique("halfgroup")
    r = requests.get(
        f"{server.url}/plugins/restapi/userservice",
        params={
            "secret": SECRET,
            "type": "add",
            "username": name,
            "password": "password-1",
            "groups": f"{group},{'g' * 201}",
        },
    )
    assert r.text == "<error>IllegalArgumentException</error>\n"
    assert http.get(f"{server.api}/users/{name}", headers=JSON).status_code == 404
    assert http.get(f"{server.api}/groups/{group}", headers=JSON).status_code == 404
