"""The legacy `/userservice` query API: secret parameter, XML one-liners."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.conftest import RunningServer, unique

SECRET = "userservice-secret"


@pytest.fixture
def call(server: RunningServer, http: requests.Session) -> Iterator[object]:
    r = http.post(
        f"{server.api}/system/properties",
        json={"key": "plugin.restapi.secret", "value": SECRET},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 201

    def call(
        secret: str = SECRET, method: str = "GET", path: str = "/v1/userservice", **params: str
    ) -> requests.Response:
        url = f"{server.url}/plugins/restapi{path}"
        if method == "POST":
            return requests.post(url, data={"secret": secret, **params})
        return requests.get(url, params={"secret": secret, **params})

    yield call


def test_user_lifecycle(call, client) -> None:  # type: ignore[no-untyped-def]
    name = unique("kafka")
    r = call(
        type="add",
        username=name,
        password="drowssap",
        name="franz",
        email="franz@kafka.com",
        groups=f"{name}support,{name}finance",
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert r.text == "<result>ok</result>\n"
    assert client.users.get_user(name)["email"] == "franz@kafka.com"
    assert sorted(client.users.get_user_groups(name)) == [f"{name}finance", f"{name}support"]
    assert call(type="add", username=name, password="password-x").text == (
        "<error>UserAlreadyExistsException</error>\n"
    )
    assert (
        call(type="update", username=name, email="beetle@kafka.com", groups=f"{name}finance").text
        == "<result>ok</result>\n"
    )
    assert client.users.get_user(name)["email"] == "beetle@kafka.com"
    assert client.users.get_user_groups(name) == [f"{name}finance"]
    r = call(type="usergrouplist", username=name)
    assert r.text == f"<result><groupname>{name}finance</groupname></result>\n"
    assert f"<groupname>{name}support</groupname>" in call(type="grouplist").text
    assert call(type="disable", username=name).text == "<result>ok</result>\n"
    assert call(type="enable", username=name, method="POST").text == "<result>ok</result>\n"
    assert call(type="delete", username=name).text == "<result>ok</result>\n"
    assert call(type="delete", username=name).text == "<error>UserNotFoundException</error>\n"


def test_roster_types(call, client) -> None:  # type: ignore[no-untyped-def]
    name = unique("ros")
    call(type="add", username=name, password="password-1")
    r = call(
        type="add_roster",
        username=name,
        item_jid="franz@example.com",
        name="franz",
        subscription="3",
        groups="family,friends",
    )
    assert r.text == "<result>ok</result>\n"
    [item] = client.users.get_user_roster(name)
    assert item == {
        "jid": "franz@example.com",
        "nickname": "franz",
        "subscriptionType": 3,
        "groups": ["family", "friends"],
    }
    assert (
        call(
            type="update_roster", username=name, item_jid="franz@example.com", subscription="1"
        ).text
        == "<result>ok</result>\n"
    )
    assert client.users.get_user_roster(name)[0]["subscriptionType"] == 1
    assert (
        call(type="add_roster", username=name, item_jid="x@example.com", subscription="9").text
        == "<error>IllegalArgumentException</error>\n"
    )
    assert call(type="add_roster", username=name).text == (
        "<error>IllegalArgumentException</error>\n"
    )
    assert call(type="delete_roster", username=name, item_jid="franz@example.com").text == (
        "<result>ok</result>\n"
    )
    assert call(type="delete_roster", username=name, item_jid="franz@example.com").text == (
        "<result>ok</result>\n"
    )
    assert client.users.get_user_roster(name) == []


def test_secret_and_bad_input(call, client) -> None:  # type: ignore[no-untyped-def]
    name = unique("sec")
    assert call(secret="wrong", type="add", username=name, password="password-1").text == (
        "<error>RequestNotAuthorised</error>\n"
    )
    assert name not in client.users.get_users(query=name)
    assert call(type="add", username=name).text == "<error>IllegalArgumentException</error>\n"
    assert (
        call(type="add", password="password-1").text == "<error>IllegalArgumentException</error>\n"
    )
    r = call(type="nonsense", username=name)
    assert r.status_code == 200 and r.content == b""
    # The README's address serves the same API; spaces and @ are JID-escaped.
    r = call(path="/userservice", type="add", username="John Doe", password="password-1")
    assert r.text == "<result>ok</result>\n"
    assert client.users.get_user("john\\20doe")["username"] == "john\\20doe"
    call(type="delete", username="John Doe")


def test_a_short_password_is_refused(call, client) -> None:  # type: ignore[no-untyped-def]
    name = unique("shortpw")
    answer = call(type="add", username=name, password="seven77")
    assert answer.text == "<error>IllegalArgumentException</error>\n"
    assert call(type="add", username=name, password="eight888").text == "<result>ok</result>\n"
    answer = call(type="update", username=name, password="seven77")
    assert answer.text == "<error>IllegalArgumentException</error>\n"
