"""Contract tests: the Symphony Pod API against Symphony's own OpenAPI documents.

Schemathesis generates requests from the finos pod specs (copied unchanged into
tests/specs/symphony/), valid ones and ones that break the spec, for every operation
Townhall serves, sends them to a real server (SQLite and PostgreSQL) with an
administrator's session token, and checks each answer: a status the operation declares,
a JSON body where one is declared, that body matching the declared schema, never a 5xx.

Current operations are checked against `pod-api-public.yaml` (what the BDK is generated
from); the 1.4x-era operations Townhall still serves, on their own paths, against
`pod-api-public-deprecated.yaml`, which keeps their old shapes.

Not covered here: disclaimers, information barriers, message suppression, company
certificates and the feature catalogue (their own contract tests come with them),
`GET /v1/presence` (in no finos spec), and the Login API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.helpers.symphony import make_bot, session_token

SPECS = Path(__file__).parents[2] / "specs" / "symphony"


def content_type_unless_no_content(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """`content_type_conformance`, except for a 204: Swagger 2.0's `produces` covers every
    response of an operation, but the look-ups' 204 ("nobody found") has no body, so it
    rightly has no Content-Type (contract §2.1 and §5.6: "send no body")."""
    if response.status_code == 204:
        return None
    return content_type_conformance(ctx, response, case)  # type: ignore[no-any-return]


CHECKS: list[Callable[..., bool | None]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_unless_no_content,
    response_schema_conformance,
]

# Operations Townhall serves whose current shape is in pod-api-public.yaml.
CURRENT = [
    # users (contract §1.12-§1.14)
    "POST /v2/admin/user/create",
    "GET /v2/admin/user/list",
    "GET /v2/admin/user/{uid}",
    "POST /v2/admin/user/{uid}/update",
    "GET /v1/admin/user/{uid}/status",
    "POST /v1/admin/user/{uid}/status/update",
    "GET /v3/users",
    "GET /v2/user",
    "GET /v2/sessioninfo",
    # avatars
    "GET /v1/admin/user/{uid}/avatar",
    "POST /v1/admin/user/{uid}/avatar/update",
    # features, delegates, applications (§1.1, §1.12)
    "GET /v1/admin/user/{uid}/features",
    "POST /v1/admin/user/{uid}/features/update",
    "GET /v1/admin/user/{uid}/delegates",
    "POST /v1/admin/user/{uid}/delegates/update",
    "GET /v1/admin/app/entitlement/list",
    "POST /v1/admin/app/entitlement/list",
    "GET /v1/admin/user/{uid}/app/entitlement/list",
    "POST /v1/admin/user/{uid}/app/entitlement/list",
    # rooms, IMs, membership (§1.7, §1.10, §1.14)
    "POST /v3/room/create",
    "GET /v3/room/{id}/info",
    "POST /v3/room/{id}/update",
    "POST /v1/room/{id}/setActive",
    "POST /v3/room/search",
    "GET /v2/room/{id}/membership/list",
    "POST /v1/room/{id}/membership/add",
    "POST /v1/room/{id}/membership/remove",
    "POST /v1/room/{id}/membership/promoteOwner",
    "POST /v1/room/{id}/membership/demoteOwner",
    "POST /v1/im/create",
    "POST /v1/admin/im/create",
    # connections and presence (§1.2, §1.6)
    "POST /v1/connection/create",
    "POST /v1/connection/accept",
    "POST /v1/connection/reject",
    "GET /v1/connection/list",
    "GET /v1/connection/user/{userId}/info",
    "GET /v3/user/{uid}/presence",
    "GET /v2/users/presence",
    "GET /v2/user/presence",
    "POST /v2/user/presence",
]

# 1.4x-era operations, served on their own paths in their old shapes.
DEPRECATED = [
    "POST /v1/admin/user/create",
    "GET /v1/admin/user/list",
    "GET /v1/admin/user/{uid}",
    "POST /v1/admin/user/{uid}/update",
    "GET /v1/user",
    "GET /v1/user/name/{userName}/get",
    "GET /v1/sessioninfo",
    "POST /v1/room/create",
    "GET /v1/room/{id}/info",
    "POST /v1/room/{id}/update",
    "GET /v1/room/{id}/membership/list",
    "POST /v2/room/create",
    "GET /v2/room/{id}/info",
    "POST /v2/room/{id}/update",
    "POST /v2/room/search",
    "GET /v1/user/{uid}/presence",
]

# Checks left out for one operation, each with the reason (spec wrong, or a deliberate
# choice written down in ../shared/contracts/symphony.md).
EXCLUDED: dict[str, list[Any]] = {}

CONFIG = schemathesis.Config.from_dict(
    {
        # Valid requests (the shape of what Townhall answers) and invalid ones (they must
        # be refused with a declared status, never a 5xx). The coverage phase (every
        # boundary value of every field) would multiply the request count.
        "generation": {"mode": "all"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


def _schema(filename: str, operations: list[str]) -> Any:
    return schemathesis.openapi.from_path(SPECS / filename, config=CONFIG).include(name=operations)


current_schema = _schema("pod-api-public.yaml", CURRENT)
deprecated_schema = _schema("pod-api-public-deprecated.yaml", DEPRECATED)

hypothesis_settings = settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Pod:
    """What the generated requests are pointed at: a base URL, an administrator's session,
    and real ids to put in paths (random ids would only ever meet "not found")."""

    base_url: str
    token: str
    admin_uid: int

    def headers(self) -> dict[str, str]:
        return {"sessionToken": self.token}

    def create_user(self) -> tuple[int, str]:
        name = unique("contract")
        r = requests.post(
            f"{self.base_url}/v2/admin/user/create",
            json={
                "userAttributes": {
                    "userName": name,
                    "emailAddress": f"{name}@example.org",
                    "displayName": "Contract Person",
                    "firstName": "Contract",
                    "lastName": "Person",
                }
            },
            headers=self.headers(),
        )
        assert r.status_code == 200, r.text
        return int(r.json()["userSystemInfo"]["id"]), name

    def create_room(self, member: int) -> str:
        r = requests.post(
            f"{self.base_url}/v3/room/create",
            json={"name": unique("Contract room "), "description": "d", "discoverable": True},
            headers=self.headers(),
        )
        assert r.status_code == 200, r.text
        stream_id = str(r.json()["roomSystemInfo"]["id"])
        r = requests.post(
            f"{self.base_url}/v1/room/{stream_id}/membership/add",
            json={"id": member},
            headers=self.headers(),
        )
        assert r.status_code == 200, r.text
        return stream_id


async def _admin_bot_token(server: RunningServer, database_url: str) -> tuple[str, int]:
    from townhall.app import TENANT_DEFAULTS
    from townhall.config import load_settings
    from townhall.services.bootstrap import ensure_initialised
    from townhall.services.container import Services
    from townhall.store.migrate import upgrade

    config = load_settings(
        {
            "TOWNHALL_DATABASE_URL": database_url,
            "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "TOWNHALL_DOMAIN": "example.org",
        }
    )
    await asyncio.to_thread(upgrade, database_url)
    built = Services.build(config)
    await ensure_initialised(built, config, TENANT_DEFAULTS)
    try:
        bot = await make_bot(built, frozenset({"ADMINISTRATOR"}))
    finally:
        await built.close()
    return await asyncio.to_thread(session_token, server, bot), bot.uid


@pytest.fixture(scope="module")
async def pod(server: RunningServer, database_url: str) -> AsyncIterator[Pod]:
    token, uid = await _admin_bot_token(server, database_url)
    yield Pod(f"{server.url}/pod", token, uid)


@dataclass
class Targets:
    """Fresh ids for one operation's examples, so what one operation does (disable a
    user, deactivate a room) cannot change what another one sees."""

    uid: int
    username: str
    stream_id: str


@pytest.fixture
def targets(pod: Pod) -> Targets:
    uid, username = pod.create_user()
    return Targets(uid, username, pod.create_room(uid))


# Request parts pointed at real things, by parameter name.
PATH_VALUES: dict[str, Callable[[Targets], Any]] = {
    "uid": lambda t: t.uid,
    "userId": lambda t: str(t.uid),
    "userName": lambda t: t.username,
    "id": lambda t: t.stream_id,
}
# Bodies naming one user: membership changes and connection requests.
USER_BODIES = {
    "/v1/room/{id}/membership/add": "id",
    "/v1/room/{id}/membership/remove": "id",
    "/v1/room/{id}/membership/promoteOwner": "id",
    "/v1/room/{id}/membership/demoteOwner": "id",
    "/v1/connection/create": "userId",
    "/v1/connection/accept": "userId",
    "/v1/connection/reject": "userId",
}


def _call(case: schemathesis.Case, pod: Pod, targets: Targets) -> None:
    for name in list(case.path_parameters or {}):
        if name in PATH_VALUES:
            case.path_parameters[name] = PATH_VALUES[name](targets)  # type: ignore[index]
    field = USER_BODIES.get(case.operation.path)
    if field is not None:
        case.body = {field: targets.uid}
    excluded = EXCLUDED.get(case.operation.label, [])
    case.call_and_validate(
        base_url=pod.base_url,
        headers=pod.headers(),
        checks=[c for c in CHECKS if c not in excluded],
    )


def test_every_listed_operation_is_in_the_specs() -> None:
    def labels(schema: Any) -> set[str]:
        return {result.ok().label for result in schema.get_all_operations()}

    assert labels(current_schema) == set(CURRENT)
    assert labels(deprecated_schema) == set(DEPRECATED)


@current_schema.parametrize()
@hypothesis_settings
def test_current_operations(case: schemathesis.Case, pod: Pod, targets: Targets) -> None:
    _call(case, pod, targets)


@deprecated_schema.parametrize()
@hypothesis_settings
def test_deprecated_operations(case: schemathesis.Case, pod: Pod, targets: Targets) -> None:
    _call(case, pod, targets)
