"""Symphony bot login and session tokens: keys, revocation, every process agreeing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from tests.conftest import RunningServer, start_server, stop_server, unique
from tests.helpers.symphony import Bot, key_pair, login, make_bot, session_token
from townhall.domain.principal import Principal
from townhall.services.container import Services


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    """What PyJWT refuses to build: an HMAC JWT keyed with a PEM public key."""
    part = [jwt.utils.base64url_encode(json.dumps(x).encode()) for x in ({"alg": "HS256"}, claims)]
    signing = b".".join(part)
    mac = hmac.new(secret, signing, hashlib.sha256).digest()
    return (signing + b"." + jwt.utils.base64url_encode(mac)).decode()


async def test_a_token_revoked_on_the_server_makes_the_bdk_log_in_again(
    bdk: Any, admin_bot: Bot, server: RunningServer
) -> None:
    await bdk.sessions().get_session()
    stale = await bdk.bot_session().session_token
    r = requests.post(f"{server.url}/login/logout", headers={"sessionToken": stale})
    assert r.status_code == 200
    detail = await bdk.users().get_user_detail(admin_bot.uid)  # 401, login, relay, retry
    assert detail.user_attributes.user_name == admin_bot.username
    assert await bdk.bot_session().session_token != stale


def test_expired_jwt_and_signatures_from_other_algorithms_are_refused(
    server: RunningServer, admin_bot: Bot
) -> None:
    claims = {"sub": admin_bot.username, "exp": int(time.time()) + 60}
    # The public key used as an HMAC secret must not pass for an RSA signature.
    forged = _hs256(claims, admin_bot.public_pem.encode())
    assert login(server, forged).status_code == 401
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert login(server, unsigned).status_code == 401
    no_exp = jwt.encode({"sub": admin_bot.username}, admin_bot.private_pem, algorithm="RS512")
    assert login(server, no_exp).status_code == 401
    ok = login(server, admin_bot.jwt(lifetime=290))  # within five minutes (and the BDK's 240 s)
    assert ok.status_code == 200
    assert set(ok.json()) >= {"name", "token"} and ok.json()["name"] == "sessionToken"


def test_logout_paths(server: RunningServer, admin_bot: Bot) -> None:
    info = f"{server.url}/pod/v1/sessioninfo"
    for path in ("/login/logout", "/sessionauth/v1/logout"):
        token = session_token(server, admin_bot)
        r = requests.post(f"{server.url}{path}", headers={"sessionToken": token})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert requests.get(info, headers={"sessionToken": token}).status_code == 401
        again = requests.post(f"{server.url}{path}", headers={"sessionToken": token})
        assert again.status_code == 401
    assert requests.post(f"{server.url}/login/logout").json()["code"] == 401


async def test_previous_key_works_until_it_expires(
    server: RunningServer, admin_bot: Bot, services: Services
) -> None:
    target = await make_bot(services, frozenset({"INDIVIDUAL"}))
    new_private, new_public = key_pair()
    headers = {"sessionToken": session_token(server, admin_bot)}
    update = f"{server.url}/pod/v2/admin/user/{target.uid}/update"
    later = int((datetime.now(UTC) + timedelta(hours=1)).timestamp() * 1000)
    r = requests.post(
        update,
        json={
            "currentKey": {"key": new_public, "action": "SAVE"},
            "previousKey": {"key": target.public_pem, "expirationDate": later, "action": "SAVE"},
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    rotated = Bot(target.username, target.uid, new_private, new_public)
    assert login(server, rotated.jwt()).status_code == 200
    assert login(server, target.jwt()).status_code == 200  # the previous key, still valid
    earlier = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp() * 1000)
    r = requests.post(
        update,
        json={"previousKey": {"key": target.public_pem, "expirationDate": earlier}},
        headers=headers,
    )
    assert r.status_code == 200
    assert login(server, target.jwt()).status_code == 401  # expired
    r = requests.post(update, json={"currentKey": {"action": "REVOKE"}}, headers=headers)
    assert r.status_code == 200
    assert login(server, rotated.jwt()).status_code == 401  # revoked


async def test_a_disabled_user_loses_its_tokens_and_cannot_log_in(
    server: RunningServer, admin_bot: Bot, services: Services, http: requests.Session
) -> None:
    target = await make_bot(services, frozenset({"INDIVIDUAL"}))
    theirs = {"sessionToken": session_token(server, target)}
    info = f"{server.url}/pod/v2/sessioninfo"
    assert requests.get(info, headers=theirs).status_code == 200
    headers = {"sessionToken": session_token(server, admin_bot)}
    r = requests.post(
        f"{server.url}/pod/v1/admin/user/{target.uid}/status/update",
        json={"status": "DISABLED"},
        headers=headers,
    )
    assert r.json() == {"format": "TEXT", "message": "OK"}
    assert requests.get(info, headers=theirs).json()["code"] == 401
    assert login(server, target.jwt()).status_code == 401
    # The Openfire unlock is the Symphony ENABLED; an Openfire lockout is DISABLED.
    assert http.delete(f"{server.api}/lockouts/{target.username}").status_code == 200
    assert login(server, target.jwt()).status_code == 200
    assert http.post(f"{server.api}/lockouts/{target.username}").status_code == 201
    r = requests.get(f"{server.url}/pod/v1/admin/user/{target.uid}/status", headers=headers)
    assert r.json() == {"status": "DISABLED", "suspended": False}
    assert login(server, target.jwt()).status_code == 401


def test_admin_public_key_at_start_and_tokens_valid_in_every_process(
    server: RunningServer, tmp_path: Path
) -> None:
    """A second server process on the same database: `TOWNHALL_ADMIN_PUBLIC_KEY` lets a
    bot log in as `admin`, and a token one process issues or revokes counts in the other."""
    private, public = key_pair()
    (tmp_path / "admin.pub").write_text(public)
    other = start_server(
        server.database_url,
        tmp_path / "other.log",
        TOWNHALL_ADMIN_PUBLIC_KEY=str(tmp_path / "admin.pub"),
    )
    try:
        admin = Bot("admin", 0, private, public)
        token = session_token(other, admin)
        headers = {"sessionToken": token}
        me = requests.get(f"{server.url}/pod/v2/sessioninfo", headers=headers).json()
        assert me["username"] == "admin"
        assert {"SUPER_ADMINISTRATOR", "ADMINISTRATOR"} <= set(me["roles"])
        r = requests.get(f"{server.url}/pod/v2/admin/user/{me['id']}", headers=headers)
        assert r.status_code == 200  # the bootstrap admin passes the admin role checks
        assert requests.post(f"{server.url}/login/logout", headers=headers).status_code == 200
        assert requests.get(f"{other.url}/pod/v1/sessioninfo", headers=headers).status_code == 401
    finally:
        stop_server(other)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/pod/v2/admin/user/create"),
        ("POST", "/pod/v1/admin/user/create"),
        ("GET", "/pod/v2/admin/user/list"),
        ("GET", "/pod/v1/admin/user/list"),
        ("GET", "/pod/v2/admin/user/{uid}"),
        ("GET", "/pod/v1/admin/user/{uid}"),
        ("POST", "/pod/v2/admin/user/{uid}/update"),
        ("POST", "/pod/v1/admin/user/{uid}/update"),
        ("GET", "/pod/v1/admin/user/{uid}/status"),
        ("POST", "/pod/v1/admin/user/{uid}/status/update"),
    ],
)
async def test_admin_routes_refuse_other_roles(
    server: RunningServer, services: Services, method: str, path: str
) -> None:
    plain = await make_bot(services, frozenset({"INDIVIDUAL", "L1_SUPPORT"}))
    headers = {"sessionToken": session_token(server, plain)}
    name = unique("nope")
    payload = {"userAttributes": {"userName": name, "emailAddress": f"{name}@x.org"}}
    r = requests.request(
        method,
        f"{server.url}{path.format(uid=plain.uid)}",
        json=payload if method == "POST" else None,
        headers=headers,
    )
    assert r.status_code == 403 and r.json()["code"] == 403
    assert not await services.people.find(
        Principal(await services.tenants.first()), usernames=[name]
    )
    missing = requests.request(method, f"{server.url}{path.format(uid=plain.uid)}")
    assert missing.status_code == 401 and missing.json()["code"] == 401


async def test_an_expired_session_token_is_refused(
    server: RunningServer, admin_bot: Bot, services: Services
) -> None:
    from townhall.services.auth import digest
    from townhall.store import tokens as token_store

    token = unique("expired")
    now = datetime.now(UTC)
    async with services.deps.db.write() as tx:
        await token_store.insert_token(
            tx, digest(token), admin_bot.uid, "session", now - timedelta(hours=2), now
        )
    r = requests.get(f"{server.url}/pod/v2/sessioninfo", headers={"sessionToken": token})
    assert r.status_code == 401 and r.json()["code"] == 401


def test_unknown_paths_answer_the_error_body(server: RunningServer) -> None:
    for path in ("/pod/v9/nothing", "/login/nothing", "/relay/nothing"):
        answer = requests.get(f"{server.url}{path}")
        assert answer.status_code == 404, path
        assert answer.json() == {"code": 404, "message": "Not Found"}, path
    elsewhere = requests.get(f"{server.url}/nowhere")
    assert elsewhere.status_code == 404 and elsewhere.json()["status_code"] == 404
