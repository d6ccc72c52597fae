"""Console test helpers: a `requests` session signed in to /admin, as a browser would be."""

from __future__ import annotations

import re

import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer

TOKEN = re.compile(r'name="_csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, html
    return found.group(1)


class Console(requests.Session):
    """Paths are under /admin; `token` is the CSRF token of the last page read."""

    def __init__(self, server: RunningServer, host: str | None = None) -> None:
        """`host`: the Host header to send, which picks the tenant (as for Openfire)."""
        super().__init__()
        self.base = f"{server.url}/admin"
        self.token = ""
        if host:
            self.headers["Host"] = host

    def page(self, path: str, **params: str) -> requests.Response:
        answer = self.get(self.base + path, params=params, allow_redirects=False, timeout=30)
        if TOKEN.search(answer.text):
            self.token = csrf_of(answer.text)
        return answer

    def submit(self, path: str, form: dict[str, str], token: bool = True) -> requests.Response:
        data = {**form, "_csrf_token": self.token} if token else form
        return self.post(self.base + path, data=data, allow_redirects=False, timeout=30)

    def sign_in(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> requests.Response:
        assert self.page("/login").status_code == 200
        answer = self.submit("/login", {"username": username, "password": password})
        if answer.status_code == 303:
            self.page("/people")
        return answer
