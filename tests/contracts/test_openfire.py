"""The Openfire REST API against its own published document (`/plugins/restapi/v1/openapi.yaml`).

Every operation is fuzzed as the administrator (HTTP Basic, the plugin's default), asking
for JSON. Path parameters name things that exist (made afresh for each operation, since
an earlier one may have deleted them): random names would only ever meet a 404.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests
import schemathesis
import yaml
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.helpers import contract
from townhall.dialects import openfire
from townhall.dialects.openfire.entities import AFFILIATION_LISTS

document = contract.schema(openfire.DIALECT)
ADMIN = ("admin", ADMIN_PASSWORD)
JSON = {"Accept": "application/json"}
XML_ONLY = {f"{m} {openfire.PREFIX}/users/{{username}}/vcard" for m in ("GET", "PUT")}
"""The vCard is XML only: a JSON Accept is a 406."""
PROBES = {
    f"GET {openfire.PREFIX}/system/{path}"
    for path in (
        "liveness",
        "liveness/deadlock",
        "liveness/properties",
        "readiness",
        "readiness/server",
        "readiness/cluster",
        "readiness/plugins",
        "readiness/connections",
    )
}
"""Liveness and readiness probes: their 503 is the answer asked for ("not ready", e.g.
for the XMPP socket types Townhall does not serve), not a server failure; the status
check still holds them to their declared 200 and 503."""
USERSERVICE = {f"{m} {openfire.PREFIX}/userservice" for m in ("GET", "POST")}


@dataclass(frozen=True)
class Targets:
    username: str
    group: str
    key: str
    room: str
    contact: str
    node: str
    secret: str


@pytest.fixture(scope="module")
def names(server: RunningServer) -> Targets:
    with requests.Session() as http:
        http.auth = ADMIN
        secret = http.get(
            f"{server.api}/system/properties/plugin.restapi.secret", headers=JSON
        ).json()["value"]
        node = http.get(f"{server.api}/clustering/nodes", headers=JSON).json()["clusterNodes"]
    return Targets(
        username=unique("fuzz"),
        group=unique("fuzz-group"),
        key=unique("fuzz.property"),
        room=unique("fuzz-room"),
        contact="friend@example.org",
        node=node[0]["nodeID"] if node else "no-such-node",  # clustering is off: a 404
        secret=secret,
    )


@pytest.fixture
def targets(server: RunningServer, names: Targets) -> Iterator[Targets]:
    """The named things, made again if an earlier operation deleted them."""
    made = {
        "/users": {"username": names.username, "password": "fuzz-password", "name": "Fuzz"},
        "/groups": {"name": names.group, "admins": [], "members": [names.username]},
        "/system/properties": {"key": names.key, "value": "fuzzed"},
        "/chatrooms": {
            "roomName": names.room,
            "naturalName": "Fuzz",
            "description": "fuzzed",
            "owners": [f"{names.username}@example.org"],
        },
        f"/users/{names.username}/roster": {"jid": names.contact},
    }
    with requests.Session() as http:
        http.auth = ADMIN
        for path, body in made.items():
            answer = http.post(server.api + path, json=body, headers=JSON)
            assert answer.status_code in (201, 409), (path, answer.status_code, answer.text)
    yield names


_affiliations = itertools.cycle(AFFILIATION_LISTS)
PATH_VALUES: dict[str, Callable[[Targets, str], str]] = {
    "username": lambda t, _: t.username,
    "segment": lambda t, _: t.group,
    "key": lambda t, _: t.key,
    "room": lambda t, _: t.room,
    "jid": lambda t, path: t.contact if "/roster/" in path else "guest@example.org",
    "who": lambda t, _: "guest@example.org",
    "node_id": lambda t, _: t.node,
    # One of the four lists (any other segment is a bare 404, see the generated-paths test).
    "affiliation": lambda t, _: next(_affiliations),
}

BODY_NAMES: dict[str, tuple[str, Callable[[Targets], str]]] = {
    f"PUT {openfire.PREFIX}/users/{{username}}": ("username", lambda t: t.username),
    f"PUT {openfire.PREFIX}/groups/{{segment}}": ("name", lambda t: t.group),
    f"PUT {openfire.PREFIX}/system/properties/{{key}}": ("key", lambda t: t.key),
    f"PUT {openfire.PREFIX}/chatrooms/{{room}}": ("roomName", lambda t: t.room),
}
"""Updates whose body must name what the path names (else a 400 before anything else is
read), or would rename it."""


def content_type_unless_bare(ctx: object, response: object, case: schemathesis.Case) -> bool | None:
    """`content_type_conformance`, except for the userservice, which answers an unknown
    `type` with a bare 200 (no Content-Type), the status of its `text/xml` results."""
    if case.operation.label in USERSERVICE:
        return None
    return content_type_conformance(ctx, response, case)  # type: ignore[no-any-return]


def test_the_document_is_published(server: RunningServer) -> None:
    answer = requests.get(server.url + openfire.CONTRACT.url, timeout=10)
    assert answer.status_code == 200, answer.text
    assert yaml.safe_load(answer.text) == contract.built(openfire.DIALECT)
    assert "&id0" not in answer.text  # every schema written out, no YAML anchors
    served = requests.get(f"{server.api}/openapi.json", auth=ADMIN, timeout=10)
    assert served.json() == contract.built(openfire.DIALECT)


@document.parametrize()
@contract.EXAMPLES
def test_every_operation(case: schemathesis.Case, server: RunningServer, targets: Targets) -> None:
    for name in list(case.path_parameters or {}):
        case.path_parameters[name] = PATH_VALUES[name](targets, case.operation.path)  # type: ignore[index]
    named = BODY_NAMES.get(case.operation.label)
    if named is not None and isinstance(case.body, dict):
        case.body[named[0]] = named[1](targets)
    _call(case, server, targets)


@document.parametrize()
@contract.EXAMPLES
def test_every_operation_on_generated_paths(
    case: schemathesis.Case, server: RunningServer, targets: Targets
) -> None:
    """The same with the generated path values: names of nothing, odd characters, an
    `{affiliation}` that does not route. Mostly 404s, never a 5xx or an undeclared answer."""
    _call(case, server, targets)


def _call(case: schemathesis.Case, server: RunningServer, targets: Targets) -> None:
    label = case.operation.label
    if label in USERSERVICE and isinstance(case.query, dict):
        case.query["secret"] = targets.secret
    headers = {
        "Authorization": requests.auth._basic_auth_str(*ADMIN),
        "Accept": "application/xml" if label in XML_ONLY else "application/json",
    }
    checks = [
        content_type_unless_bare if c is content_type_conformance else c for c in contract.CHECKS
    ]
    excluded = [not_a_server_error] if label in PROBES else []
    case.call_and_validate(
        base_url=server.url, headers=headers, checks=checks, excluded_checks=excluded
    )
