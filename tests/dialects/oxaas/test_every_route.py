"""Every OX route, read off the served OpenAPI document, at both prefixes: it exists
there, and refuses a caller without credentials, with a wrong password, or from a brand
that does not own the context, with OX's 401 (challenge and error body) — before it
looks at anything else. The routes' own tests show who is let in."""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.dialects.oxaas.test_scopes import Brands, brands  # noqa: F401  (fixture)
from tests.helpers.ox import refused

PREFIXES = ("/oxaas/v1", "/api/oxaas/v1")
METHODS = ("get", "put", "post", "delete", "head")
CONTEXT_SCOPED = re.compile(r"\{(contextid|contextId|usercontext)\}")
"""Paths that name a context. (The mail reads, `/mail/{uid}`, take no admin's
credential at all: to them an admin's password is a failed login, which the login
limits count, so tests/dialects/oxaas/test_counters.py refuses admins there.)"""


def _filled(template: str, context: int) -> str:
    """The path with each parameter given a well-formed value."""
    values = {
        "contextid": str(context),
        "contextId": str(context),
        "usercontext": f"1@{context}",
        "userid": "1",
        "id": "1",
        "domain": "example.org",
    }
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "someone@example.org"), template)


def _operations(server: RunningServer) -> list[tuple[str, str]]:
    document = requests.get(f"{server.url}{PREFIXES[0]}/openapi.json").json()
    found = [
        (method, path.removeprefix(PREFIXES[0]))
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item and item[method].get("security") != []
    ]
    assert len(found) > 40, found  # the document lists the API, not a stub
    return found


def _refused_401(answer: requests.Response, method: str) -> None:
    assert answer.status_code == 401, (method, answer.url, answer.status_code, answer.text)
    assert answer.headers.get("WWW-Authenticate") == 'Basic realm="oxaas"', answer.url
    if method != "head":
        refused(answer, 401)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_route_refuses_callers_without_a_valid_credential(
    server: RunningServer,
    brands: Brands,  # noqa: F811
    prefix: str,
) -> None:
    for method, path in _operations(server):
        url = f"{server.url}{prefix}{_filled(path, brands.context)}?contextId={brands.context}"
        _refused_401(requests.request(method, url, timeout=30), method)
        wrong = (unique("nobody"), ADMIN_PASSWORD)  # not `admin`: its failures would lock it
        _refused_401(requests.request(method, url, auth=wrong, timeout=30), method)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_no_context_route_lets_in_an_unrelated_brands_admin(
    server: RunningServer,
    brands: Brands,  # noqa: F811
    prefix: str,
) -> None:
    scoped = [
        (method, path)
        for method, path in _operations(server)
        if CONTEXT_SCOPED.search(path) or path == "/admin/sessions"
    ]
    assert scoped
    for method, path in scoped:
        url = f"{server.url}{prefix}{_filled(path, brands.context)}?contextId={brands.context}"
        answer = requests.request(method, url, auth=brands.other_admin, timeout=30)
        _refused_401(answer, method)
