"""Symphony login and user administration, through the official BDK and raw HTTP."""

from __future__ import annotations

import time
from typing import Any

import jwt
import requests

from tests.conftest import RunningServer, unique
from tests.helpers.symphony import Bot, key_pair, login, make_bot, session_token
from townhall.services.container import Services


async def test_bdk_session_and_user_administration(
    bdk: Any, admin_bot: Bot, http: requests.Session, server: RunningServer
) -> None:
    from symphony.bdk.gen.pod_model.user_status import UserStatus
    from symphony.bdk.gen.pod_model.v2_user_attributes import V2UserAttributes
    from symphony.bdk.gen.pod_model.v2_user_create import V2UserCreate

    me = await bdk.sessions().get_session()
    assert (me.id, me.username, me.account_type) == (admin_bot.uid, admin_bot.username, "SYSTEM")

    name = unique("alice")
    created = await bdk.users().create(
        V2UserCreate(
            user_attributes=V2UserAttributes(
                user_name=name,
                email_address=f"{name}@example.org",
                first_name="Alice",
                last_name="Liddell",
                display_name="Alice L",
                department="Wonder",
                account_type="NORMAL",
            ),
            roles=["INDIVIDUAL"],
        )
    )
    uid = created.user_system_info.id
    assert created.user_attributes.department == "Wonder"
    assert created.user_system_info.status == "ENABLED"
    detail = await bdk.users().get_user_detail(uid)
    assert detail.user_attributes.user_name == name and detail.roles == ["INDIVIDUAL"]

    # The same person through the Openfire API.
    of = http.get(f"{server.api}/users/{name}", headers={"Accept": "application/json"}).json()
    assert (of["name"], of["email"]) == ("Alice L", f"{name}@example.org")

    updated = await bdk.users().update(uid, V2UserAttributes(title="Queen", display_name="Alice Q"))
    assert (updated.user_attributes.title, updated.user_attributes.department) == (
        "Queen",
        "Wonder",
    )

    found = await bdk.users().list_users_by_ids([uid, admin_bot.uid])
    assert sorted(u.id for u in found.users) == sorted([uid, admin_bot.uid])
    by_mail = await bdk.users().list_users_by_emails([f"{name}@example.org"])
    assert [u.display_name for u in by_mail.users] == ["Alice Q"]
    by_name = await bdk.users().list_users_by_usernames([name])
    assert [u.id for u in by_name.users] == [uid]
    assert await bdk.users().list_users_by_ids([987654321]) is None

    listed = await bdk.users().list_user_details(skip=0, limit=1000)
    assert uid in [d.user_system_info.id for d in listed]

    # DISABLED is the Openfire lockout, and back.
    await bdk.users().update_status(uid, UserStatus(status="DISABLED"))
    assert (await bdk.users().get_status(uid)).status == "DISABLED"
    r = http.delete(f"{server.api}/lockouts/{name}")
    assert r.status_code == 200
    assert (await bdk.users().get_status(uid)).status == "ENABLED"


async def test_bdk_logs_in_again_after_a_401(bdk: Any, admin_bot: Bot) -> None:
    await bdk.sessions().get_session()
    bdk.bot_session()._session_token = "stale"  # what a revoked or expired token looks like
    me = await bdk.sessions().get_session()
    assert me.id == admin_bot.uid


async def test_login_refusals(server: RunningServer, admin_bot: Bot, services: Services) -> None:
    assert login(server, admin_bot.jwt(lifetime=-10)).status_code == 401  # expired
    assert login(server, admin_bot.jwt(lifetime=3600)).status_code == 401  # too far ahead
    assert login(server, admin_bot.jwt(sub=unique("ghost"))).status_code == 401
    other_private, _ = key_pair()
    forged = jwt.encode(
        {"sub": admin_bot.username, "exp": int(time.time()) + 60}, other_private, algorithm="RS512"
    )
    r = login(server, forged)
    assert r.status_code == 401 and r.json()["code"] == 401
    assert login(server, "not-a-jwt").status_code == 401
    for bad in ({"token": 5}, {}, "[]"):
        r = requests.post(f"{server.url}/login/pubkey/authenticate", json=bad)
        assert r.status_code == 401 and r.json()["code"] == 401  # the Login API declares no 400
    assert (
        login(server, admin_bot.jwt(), "/relay/pubkey/authenticate").json()["name"]
        == "keyManagerToken"
    )


async def test_tokens_are_checked_on_every_call(
    server: RunningServer, admin_bot: Bot, services: Services
) -> None:
    info = f"{server.url}/pod/v1/sessioninfo"
    assert requests.get(info).status_code == 401
    assert requests.get(info, headers={"sessionToken": "nope"}).json()["code"] == 401
    token = session_token(server, admin_bot)
    r = requests.get(info, headers={"sessionToken": token})
    assert r.json() == {"userId": admin_bot.uid}
    km = login(server, admin_bot.jwt(), "/relay/pubkey/authenticate").json()["token"]
    assert requests.get(info, headers={"sessionToken": km}).status_code == 401  # wrong kind
    assert (
        requests.post(f"{server.url}/login/logout", headers={"sessionToken": token}).status_code
        == 200
    )
    assert requests.get(info, headers={"sessionToken": token}).status_code == 401


async def test_roles_and_bad_input(
    server: RunningServer, admin_bot: Bot, services: Services
) -> None:
    plain = await make_bot(services, frozenset({"INDIVIDUAL"}))
    weak = session_token(server, plain)
    r = requests.get(f"{server.url}/pod/v2/admin/user/{plain.uid}", headers={"sessionToken": weak})
    assert r.status_code == 403 and r.json()["code"] == 403
    token = session_token(server, admin_bot)
    name = unique("bad")
    headers = {"sessionToken": token}
    create = f"{server.url}/pod/v2/admin/user/create"
    r = requests.post(
        create, json={"userAttributes": {"userName": name, "emailAddress": 5}}, headers=headers
    )
    assert r.status_code == 400 and "emailAddress" in r.json()["message"]
    r = requests.post(
        create,
        json={
            "userAttributes": {"userName": name, "emailAddress": "a@b.c", "accountType": "ROBOT"}
        },
        headers=headers,
    )
    assert r.status_code == 400 and "accountType" in r.json()["message"]
    r = requests.post(
        create,
        json={
            "userAttributes": {
                "userName": name,
                "emailAddress": "a@b.c",
                "currentKey": {"key": "junk"},
            }
        },
        headers=headers,
    )
    assert r.status_code == 400 and "currentKey" in r.json()["message"]
    assert (
        requests.get(f"{server.url}/pod/v3/users?username={name}", headers=headers).status_code
        == 204
    )
    r = requests.get(f"{server.url}/pod/v2/admin/user/987654321", headers=headers)
    assert r.json() == {"code": 400, "message": "user 987654321 not found"}  # no 404 declared


async def test_keys_are_settable_through_the_api(
    server: RunningServer, admin_bot: Bot, services: Services
) -> None:
    target = await make_bot(services, frozenset({"INDIVIDUAL"}))
    private, public = key_pair()
    headers = {"sessionToken": session_token(server, admin_bot)}
    r = requests.post(
        f"{server.url}/pod/v2/admin/user/{target.uid}/update",
        json={"currentKey": {"key": public, "action": "SAVE"}},
        headers=headers,
    )
    assert r.status_code == 200
    rotated = Bot(target.username, target.uid, private, public)
    assert login(server, rotated.jwt()).status_code == 200
    assert login(server, target.jwt()).status_code == 401


async def test_v1_shapes(server: RunningServer, admin_bot: Bot) -> None:
    headers = {"sessionToken": session_token(server, admin_bot)}
    ids = requests.get(f"{server.url}/pod/v1/admin/user/list", headers=headers).json()
    assert admin_bot.uid in ids and all(isinstance(i, int) for i in ids)
    r = requests.get(f"{server.url}/pod/v1/user/name/{admin_bot.username}/get", headers=headers)
    assert r.json()["id"] == admin_bot.uid and "roles" not in r.json()
    r = requests.get(
        f"{server.url}/pod/v1/user",
        params={"email": f"{admin_bot.username}@example.org"},
        headers=headers,
    )
    assert r.json()["username"] == admin_bot.username
    assert (
        requests.get(
            f"{server.url}/pod/v1/user", params={"email": "none@x.org"}, headers=headers
        ).status_code
        == 204
    )
    r = requests.get(f"{server.url}/pod/v2/user", params={"uid": admin_bot.uid}, headers=headers)
    assert r.json()["id"] == admin_bot.uid


async def test_openfire_users_are_symphony_users(
    server: RunningServer, admin_bot: Bot, http: requests.Session
) -> None:
    name = unique("carol")
    r = http.post(
        f"{server.api}/users",
        json={
            "username": name,
            "password": "password-1",
            "name": "Carol C",
            "email": f"{name}@x.org",
        },
    )
    assert r.status_code == 201
    headers = {"sessionToken": session_token(server, admin_bot)}
    found = requests.get(
        f"{server.url}/pod/v3/users", params={"username": name}, headers=headers
    ).json()["users"]
    assert len(found) == 1 and isinstance(found[0]["id"], int)
    uid = found[0]["id"]
    assert (found[0]["username"], found[0]["emailAddress"], found[0]["displayName"]) == (
        name,
        f"{name}@x.org",
        "Carol C",
    )
    r = requests.post(
        f"{server.url}/pod/v2/admin/user/{uid}/update",
        json={"displayName": "Carol D", "emailAddress": f"{name}@y.org", "location": "Paris"},
        headers=headers,
    )
    assert r.json()["userAttributes"]["location"] == "Paris"
    of = http.get(f"{server.api}/users/{name}", headers={"Accept": "application/json"}).json()
    assert (of["name"], of["email"]) == ("Carol D", f"{name}@y.org")
    # Deleted through Openfire, gone from Symphony.
    assert http.delete(f"{server.api}/users/{name}").status_code == 200
    r = requests.get(f"{server.url}/pod/v3/users", params={"uid": uid}, headers=headers)
    assert r.status_code == 204 and r.content == b""


def test_v1_admin_shapes(server: RunningServer, admin_bot: Bot) -> None:
    headers = {"sessionToken": session_token(server, admin_bot)}
    name = unique("dave")
    r = requests.post(
        f"{server.url}/pod/v1/admin/user/create",
        json={
            "userAttributes": {
                "userName": name,
                "emailAddress": f"{name}@x.org",
                "firstName": "Dave",
                "accountType": "SYSTEM",
            },
            "password": {"hSalt": "c2FsdA==", "hPassword": "aGFzaA=="},
            "roles": ["INDIVIDUAL", "USER_PROVISIONING"],
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    created = r.json()
    info = created["userSystemInfo"]
    uid = info["id"]
    assert isinstance(uid, int) and info["status"] == "ENABLED"
    assert isinstance(info["createdDate"], int) and info["createdDate"] > 1_600_000_000_000
    assert created["userAttributes"] == {
        "emailAddress": f"{name}@x.org",
        "firstName": "Dave",
        "userName": name,
        "displayName": name,
        "accountType": "SYSTEM",
    }
    assert created["roles"] == ["INDIVIDUAL", "USER_PROVISIONING"]
    r = requests.post(
        f"{server.url}/pod/v1/admin/user/{uid}/update",
        json={"lastName": "Jones", "smsNumber": "+331234"},
        headers=headers,
    )
    got = requests.get(f"{server.url}/pod/v1/admin/user/{uid}", headers=headers).json()
    assert got["userAttributes"]["lastName"] == "Jones"
    assert got["userAttributes"]["smsNumber"] == "+331234"
    assert got["userAttributes"]["firstName"] == "Dave"  # absent fields are left alone
    r = requests.get(f"{server.url}/pod/v1/admin/user/{uid}/status", headers=headers)
    assert r.json() == {"status": "ENABLED", "suspended": False}
    r = requests.get(f"{server.url}/pod/v1/sessioninfo", headers=headers)
    assert r.json() == {"userId": admin_bot.uid}
    r = requests.get(f"{server.url}/pod/v1/user/name/{name}/get", headers=headers)
    assert r.json() == {
        "id": uid,
        "emailAddress": f"{name}@x.org",
        "firstName": "Dave",
        "lastName": "Jones",
        "displayName": name,
        "username": name,
        "avatars": [],
    }
    r = requests.get(f"{server.url}/pod/v1/user/name/{unique('ghost')}/get", headers=headers)
    assert r.status_code == 204 and r.content == b""


async def test_bad_input_changes_nothing(
    server: RunningServer, admin_bot: Bot, services: Services
) -> None:
    headers = {"sessionToken": session_token(server, admin_bot)}
    create = f"{server.url}/pod/v2/admin/user/create"
    name = unique("erin")
    for raw in (b"{nope", b"", b"[]", b'{"userAttributes": {"userName": 7}}'):
        r = requests.post(create, data=raw, headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["code"] == 400, raw
    r = requests.post(
        create,
        json={"userAttributes": {"userName": name, "emailAddress": "e@x.org"}, "roles": ["KING"]},
        headers=headers,
    )
    assert r.status_code == 400 and "roles" in r.json()["message"]
    lookup = f"{server.url}/pod/v3/users"
    assert requests.get(lookup, params={"username": name}, headers=headers).status_code == 204

    r = requests.post(
        create,
        json={"userAttributes": {"userName": name, "emailAddress": "e@x.org"}},
        headers=headers,
    )
    uid = r.json()["userSystemInfo"]["id"]
    r = requests.post(
        create,
        json={"userAttributes": {"userName": name, "emailAddress": "f@x.org"}},
        headers=headers,
    )
    assert r.json() == {"code": 400, "message": f"user {name} already exists"}
    # One bad field refuses the whole update.
    update = f"{server.url}/pod/v2/admin/user/{uid}/update"
    for bad in (
        {"title": "Boss", "currentKey": {"key": "junk"}},
        {"title": "Boss", "accountType": "ROBOT"},
        {"title": "Boss", "userName": "no spaces allowed"},
        {"title": "Boss", "firstName": 5},
        {"title": "Boss", "userName": admin_bot.username},
    ):
        r = requests.post(update, json=bad, headers=headers)
        assert r.status_code == 400 and r.json()["code"] == 400, bad
    got = requests.get(f"{server.url}/pod/v2/admin/user/{uid}", headers=headers).json()
    assert "title" not in got["userAttributes"] and got["userAttributes"]["userName"] == name
    r = requests.post(
        f"{server.url}/pod/v1/admin/user/{uid}/status/update",
        json={"status": "SLEEPING"},
        headers=headers,
    )
    assert r.status_code == 400 and "status" in r.json()["message"]
    r = requests.get(f"{server.url}/pod/v1/admin/user/{uid}/status", headers=headers)
    assert r.json()["status"] == "ENABLED"
    for query in ({"uid": "x"}, {"uid": ",".join(str(i) for i in range(101))}, {}):
        r = requests.get(lookup, params=query, headers=headers)
        assert r.status_code == 400 and r.json()["code"] == 400, query
    for query in ({"limit": 1001}, {"skip": -1}, {"limit": "x"}):
        r = requests.get(f"{server.url}/pod/v2/admin/user/list", params=query, headers=headers)
        assert r.status_code == 400 and r.json()["code"] == 400, query


def test_values_no_column_can_hold_are_refused(server: RunningServer, admin_bot: Bot) -> None:
    """Found by the contract tests: each of these was a 500 (mostly on PostgreSQL)."""
    headers = {"sessionToken": session_token(server, admin_bot)}
    pod = f"{server.url}/pod"
    too_big = 2**63
    cases = [
        ("post", f"/v2/admin/user/{admin_bot.uid}/update", {"department": "a\x00b"}, "department"),
        ("post", "/v1/im/create", [too_big], "[0]"),
        ("post", f"/v1/admin/user/{admin_bot.uid}/delegates/update",
         {"userId": too_big, "action": "ADD"}, "userId"),
        ("get", f"/v2/user?uid={too_big}", None, "uid"),
        ("get", f"/v2/users/presence?lastUserId={too_big}", None, "lastUserId"),
        ("get", f"/v2/admin/user/{too_big}", None, f"user {too_big} not found"),
        ("get", "/v1/user?email=a%00b@example.org", None, "email"),
        ("post", f"/v2/admin/user/{admin_bot.uid}/update",
         {"currentKey": {"key": "k", "expirationDate": -(10**15)}}, "currentKey"),
        ("post", f"/v2/admin/user/{admin_bot.uid}/update", {"emailAddress": "not mail"},
         "emailAddress"),
        # Each metadata key holds an object; a string there breaks every client listing.
        ("post", f"/v2/admin/user/{admin_bot.uid}/update", {"userMetadata": {"k": "text"}},
         "userMetadata"),
        ("post", f"/v1/admin/user/{admin_bot.uid}/app/entitlement/list",
         [{"appId": "a", "listed": True, "install": True,
           "products": [{"name": "p", "type": "t", "subscribed": True, "sku": "0" * 101}]}],
         "sku"),
    ]  # fmt: skip
    for method, path, payload, field in cases:
        r = requests.request(method, f"{pod}{path}", json=payload, headers=headers)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert r.json()["code"] == 400 and field in r.json()["message"], (path, r.text)
    r = requests.post(
        f"{pod}/v2/admin/user/create",
        json={"userAttributes": {"userName": unique("mail"), "emailAddress": "@example.org"}},
        headers=headers,
    )
    assert r.status_code == 400 and "emailAddress" in r.json()["message"]
