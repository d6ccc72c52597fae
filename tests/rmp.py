"""RMP test helpers: an authenticated `requests` session against the running server."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique

DOMAIN = "example.org"


class Rmp(requests.Session):
    """A session whose relative paths are under `/api/v2` and that carries a Bearer token."""

    def __init__(self, server: RunningServer) -> None:
        super().__init__()
        self.base = f"{server.url}/api/v2"
        self.login_answer: dict[str, Any] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kw: Any) -> Any:
        path = url.decode() if isinstance(url, bytes) else url
        full = path if path.startswith("http") else self.base + path
        return super().request(method, full, *args, **kw)

    def login(self, email: str, password: str) -> Rmp:
        answer = self.post("/auth/login", json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        self.login_answer = answer.json()
        self.headers["Authorization"] = f"Bearer {self.login_answer['token']}"
        return self


def admin(server: RunningServer) -> Rmp:
    return Rmp(server).login(f"admin@{DOMAIN}", ADMIN_PASSWORD)


def person(server: RunningServer, is_admin: bool = False) -> tuple[Rmp, str]:
    """A new person (created by the admin) logged in; returns the session and the address."""
    email = f"{unique('rmp')}@{DOMAIN}"
    created = admin(server).post(
        "/users",
        json={
            "email": email,
            "password": "pw-123456",
            "realName": "Test Person",
            "isAdmin": is_admin,
        },
    )
    assert created.status_code == 201, created.text
    return Rmp(server).login(email, "pw-123456"), email


def refused(answer: requests.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """The error envelope of a refused request, checked."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False
    assert body["error"]["code"].isupper() and body["error"]["message"]
    if field is not None:
        assert body["error"]["details"]["field"] == field, body
    return body["error"]  # type: ignore[no-any-return]
