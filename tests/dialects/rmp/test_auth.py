"""RMP login, refresh, admin check and logout against a running server."""

from __future__ import annotations

import time

import jwt
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server
from tests.helpers.rmp import DOMAIN, Rmp, admin, person, refused


def test_login_answers_the_reference_fields_and_a_jwt(server: RunningServer) -> None:
    answer = admin(server).login_answer
    assert answer["success"] is True
    assert answer["user"] == {
        "email": f"admin@{DOMAIN}",
        "realName": answer["user"]["realName"],
        "isDomainAdmin": True,  # a server admin administers every domain
        "isServerAdmin": True,
    }
    assert answer["expiresIn"] == 3600
    assert answer["sessionId"] and answer["refreshToken"]
    claims = jwt.decode(answer["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["sub"] == f"admin@{DOMAIN}"


def test_wrong_password_unknown_domain_and_bad_bodies_are_refused(server: RunningServer) -> None:
    rmp = Rmp(server)
    refused(rmp.post("/auth/login", json={"email": f"admin@{DOMAIN}", "password": "no"}), 401)
    refused(rmp.post("/auth/login", json={"email": "admin@nowhere.test", "password": "x"}), 401)
    refused(rmp.post("/auth/login", json={"email": f"admin@{DOMAIN}"}), 400, "password")
    refused(rmp.post("/auth/login", json={"email": 5, "password": "x"}), 400, "email")
    refused(
        rmp.post("/auth/login", data=b"{nope", headers={"content-type": "application/json"}), 400
    )


def test_server_names_the_tenant_when_the_address_does_not(server: RunningServer) -> None:
    answer = Rmp(server).post(
        "/auth/login",
        json={"email": "admin@elsewhere.test", "password": ADMIN_PASSWORD, "server": DOMAIN},
    )
    assert answer.status_code == 200, answer.text


def test_admin_check_for_server_admin_and_person(server: RunningServer) -> None:
    check = admin(server).get("/auth/admin").json()
    assert check["isAdmin"] is True and check["isServerAdmin"] is True
    logged_in = requests.post(
        f"{server.url}/api/v2/auth/login",
        json={"email": f"admin@{DOMAIN}", "password": ADMIN_PASSWORD},
    ).json()["user"]
    assert logged_in["isDomainAdmin"] is check["isDomainAdmin"] is True  # the two agree
    assert DOMAIN in check["adminDomains"]
    rmp, _ = person(server)
    check = rmp.get("/auth/admin").json()
    assert check == {
        "success": True,
        "isAdmin": False,
        "isDomainAdmin": False,
        "isServerAdmin": False,
        "adminDomains": [],
    }


def test_domain_admin_is_told_its_domains(server: RunningServer) -> None:
    rmp, _ = person(server, is_admin=True)
    check = rmp.get("/auth/admin").json()
    assert check["isAdmin"] is True and check["isDomainAdmin"] is True
    assert check["isServerAdmin"] is False
    assert check["adminDomains"] == [DOMAIN]


def test_missing_and_forged_tokens_are_401(server: RunningServer) -> None:
    rmp = Rmp(server)
    refused(rmp.get("/auth/admin"), 401)
    forged = jwt.encode(
        {"sub": "admin", "sid": "x", "exp": 9999999999},
        "a-guess-at-the-server-secret-key-0123",
        algorithm="HS256",
    )
    refused(rmp.get("/auth/admin", headers={"Authorization": f"Bearer {forged}"}), 401)
    refused(rmp.get("/auth/admin", headers={"Authorization": "Basic abc"}), 401)


def test_refresh_rotates_and_revokes_the_old_pair(server: RunningServer) -> None:
    rmp = admin(server)
    old_token, old_refresh = rmp.login_answer["token"], rmp.login_answer["refreshToken"]
    fresh = Rmp(server).post("/auth/refresh", headers={"Authorization": f"Bearer {old_refresh}"})
    assert fresh.status_code == 200, fresh.text
    new = fresh.json()
    assert new["token"] != old_token and new["refreshToken"] != old_refresh
    refused(rmp.get("/auth/admin"), 401)  # the old access token is gone at once
    again = Rmp(server).post("/auth/refresh", headers={"Authorization": f"Bearer {old_refresh}"})
    refused(again, 401)  # a refresh token works once
    ok = Rmp(server).get("/auth/admin", headers={"Authorization": f"Bearer {new['token']}"})
    assert ok.status_code == 200


def test_expiry_and_logout_hold_in_another_process(server: RunningServer) -> None:
    other = start_server(
        server.database_url,
        server.log.with_name("other.log"),
        TOWNHALL_ACCESS_TOKEN_TTL_SECONDS="1",
    )
    try:
        short = Rmp(server)
        short.base = f"{other.url}/api/v2"
        short.login(f"admin@{DOMAIN}", ADMIN_PASSWORD)
        assert short.login_answer["expiresIn"] == 1
        time.sleep(2.1)
        refused(short.get("/auth/admin"), 401)  # expired
        rmp = admin(server)
        elsewhere = requests.get(
            f"{other.url}/api/v2/auth/admin",
            headers={"Authorization": rmp.headers["Authorization"]},
        )
        assert elsewhere.status_code == 200, elsewhere.text
        assert rmp.post("/auth/logout").json() == {"success": True}
        refused(rmp.get("/auth/admin"), 401)
        after = requests.get(
            f"{other.url}/api/v2/auth/admin",
            headers={"Authorization": rmp.headers["Authorization"]},
        )
        assert after.status_code == 401
    finally:
        stop_server(other)


def test_a_locked_user_cannot_use_its_token(server: RunningServer, http: requests.Session) -> None:
    rmp, email = person(server)
    username = email.split("@")[0]
    locked = http.post(f"{server.api}/lockouts/{username}")
    assert locked.status_code == 201, locked.text
    refused(rmp.get("/auth/admin"), 401)
    refused(Rmp(server).post("/auth/login", json={"email": email, "password": "pw-123456"}), 401)


def test_unknown_paths_and_methods_answer_the_envelope(server: RunningServer) -> None:
    rmp = admin(server)
    error = refused(rmp.get("/no-such-area"), 404)
    assert error["code"] == "NOT_FOUND"
    error = refused(rmp.patch("/auth/login"), 405)
    assert error["code"] == "METHOD_NOT_ALLOWED"
