"""OX Cloud-Plugins test helpers: Basic sessions against the running server."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique

PREFIX = "/oxaas/v1"


class Ox(requests.Session):
    """A session whose relative paths are under one of OX's prefixes, with Basic auth."""

    def __init__(self, server: RunningServer, auth: tuple[str, str], prefix: str = PREFIX) -> None:
        super().__init__()
        self.base = server.url + prefix
        self.auth = auth

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kw: Any) -> Any:
        path = url.decode() if isinstance(url, bytes) else url
        return super().request(
            method, path if path.startswith("http") else self.base + path, *args, **kw
        )


def context_admin(server: RunningServer, prefix: str = PREFIX) -> Ox:
    """The first tenant's bootstrap admin: context 1's admin."""
    return Ox(server, ("admin", ADMIN_PASSWORD), prefix)


def new_person(server: RunningServer) -> tuple[int, str]:
    """A person of the first tenant (made through Openfire), with their id."""
    name = unique("oxuser")
    auth = ("admin", ADMIN_PASSWORD)
    made = requests.post(
        f"{server.api}/users",
        json={"username": name, "password": "pw-1234567", "email": f"{name}@example.org"},
        auth=auth,
    )
    assert made.status_code == 201, made.text
    listed = requests.get(
        f"{server.url}{PREFIX}/admin/contexts/1/users", params={"uids": name}, auth=auth
    )
    assert listed.status_code == 200, listed.text
    return int(listed.json()[name]["user-id"]), name


def refused(answer: requests.Response, status: int, *words: str) -> str:
    assert answer.status_code == status, (answer.status_code, answer.text)
    message = answer.json()["error"]
    assert isinstance(message, str) and message
    for word in words:
        assert word in message, message
    return message
