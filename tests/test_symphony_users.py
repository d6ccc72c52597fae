"""Symphony login and user administration, through the official BDK and raw HTTP."""

from __future__ import annotations

import time
from typing import Any

import jwt
import requests

from tests.conftest import RunningServer, unique
from tests.symphony import Bot, key_pair, login, make_bot, session_token


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


async def test_login_refusals(server: RunningServer, admin_bot: Bot, services: Any) -> None:
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
    r = requests.post(f"{server.url}/login/pubkey/authenticate", json={"token": 5})
    assert r.status_code == 400
    assert (
        login(server, admin_bot.jwt(), "/relay/pubkey/authenticate").json()["name"]
        == "keyManagerToken"
    )


async def test_tokens_are_checked_on_every_call(
    server: RunningServer, admin_bot: Bot, services: Any
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


async def test_roles_and_bad_input(server: RunningServer, admin_bot: Bot, services: Any) -> None:
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
    assert r.status_code == 404


async def test_keys_are_settable_through_the_api(
    server: RunningServer, admin_bot: Bot, services: Any
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
