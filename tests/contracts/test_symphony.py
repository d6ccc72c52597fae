"""The Symphony Pod API against its own published document (`/pod/openapi.json`).

Every declared operation is fuzzed with an administrator bot's session token; path
parameters (and the bodies naming one user) are pointed at real things made for each
operation, since random ids would only ever meet "not found". The finos specs are
fuzzed against the same server by tests/dialects/symphony/test_contract.py; this file
checks Townhall's own document, which also covers the operations no finos spec has.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from PIL import Image

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.dialects.symphony.test_certificates import make_cert
from tests.helpers import contract
from tests.helpers.symphony import Bot, make_bot, session_token
from townhall.dialects import symphony
from townhall.domain.principal import Principal

document = contract.schema(symphony.DIALECT)

MEMBERSHIP_ACTIONS = ("add", "remove", "promoteOwner", "demoteOwner")


@dataclass
class Pod:
    """The server, an administrator bot (its session, and the bot itself to log in
    again), and things no Symphony API creates (disclaimers, barrier groups, messages),
    made with the in-process services on the server's database."""

    server: RunningServer
    bot: Bot
    token: str
    disclaimer_id: str
    group_id: str
    services: Any

    def headers(self) -> dict[str, str]:
        return {"sessionToken": self.token}

    def create_user(self) -> tuple[int, str]:
        name = unique("fuzzed")
        r = requests.post(
            f"{self.server.url}/pod/v2/admin/user/create",
            json={
                "userAttributes": {
                    "userName": name,
                    "emailAddress": f"{name}@example.org",
                    "displayName": "Fuzzed Person",
                }
            },
            headers=self.headers(),
        )
        assert r.status_code == 200, r.text
        return int(r.json()["userSystemInfo"]["id"]), name

    def create_room(self, member: int) -> str:
        r = requests.post(
            f"{self.server.url}/pod/v3/room/create",
            json={"name": unique("Fuzzed room "), "description": "d", "discoverable": True},
            headers=self.headers(),
        )
        assert r.status_code == 200, r.text
        stream_id = str(r.json()["roomSystemInfo"]["id"])
        r = requests.post(
            f"{self.server.url}/pod/v1/room/{stream_id}/membership/add",
            json={"id": member},
            headers=self.headers(),
        )
        assert r.status_code == 200, r.text
        return stream_id

    def create_cert(self) -> str:
        made = make_cert()
        attributes = {"name": made.cn, "type": {"type": "USER"}, "status": {"type": "TRUSTED"}}
        r = requests.post(
            f"{self.server.url}/pod/v2/companycert/create",
            json={"pem": made.pem, "attributes": attributes},
            headers=self.headers(),
        )
        assert r.status_code == 200, r.text
        return made.fingerprint


@pytest.fixture(scope="module")
async def pod(server: RunningServer, database_url: str) -> AsyncIterator[Pod]:
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
    try:
        await ensure_initialised(built, config, TENANT_DEFAULTS)
        bot = await make_bot(built, frozenset({"ADMINISTRATOR"}))
        actor = Principal(await built.tenants.first(), "test")
        disclaimer = await built.disclaimers.create(actor, unique("Fuzzed "), "Be nice.")
        group = await built.barriers.create_group(actor, unique("Fuzzed desk "))
        token = await asyncio.to_thread(session_token, server, bot)
        yield Pod(server, bot, token, disclaimer.id, group.id, built)
    finally:
        await built.close()


@dataclass
class Targets:
    """Fresh ids for one operation's examples, so what one operation does (disable a
    user, deactivate a room) cannot change what another one sees."""

    uid: int
    username: str
    stream_id: str
    message_id: str
    fingerprint: str


@pytest.fixture
async def targets(pod: Pod) -> Targets:
    uid, username = await asyncio.to_thread(pod.create_user)
    stream_id = await asyncio.to_thread(pod.create_room, uid)
    actor = Principal(await pod.services.tenants.first(), "test")
    message = await pod.services.messages.post(actor, stream_id, pod.bot.username, "hello")
    fingerprint = await asyncio.to_thread(pod.create_cert)
    return Targets(uid, username, stream_id, message.message_id, fingerprint)


# Path parameters pointed at real things, by name.
PATH_VALUES: dict[str, Callable[[Pod, Targets], Any]] = {
    "uid": lambda p, t: t.uid,
    "user_id": lambda p, t: str(t.uid),
    "username": lambda p, t: t.username,
    "stream_id": lambda p, t: t.stream_id,
    "message_id": lambda p, t: t.message_id,
    "did": lambda p, t: p.disclaimer_id,
    "gid": lambda p, t: p.group_id,
    "fingerPrint": lambda p, t: t.fingerprint,
}
Fill = Callable[[Pod, Targets], Any]
UID: Fill = PATH_VALUES["uid"]
NEW_NAME: Fill = lambda p, t: unique("fuzzed")  # noqa: E731


def _picture() -> str:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


PICTURE = _picture()
NEW_CERT: dict[str, Fill] = {
    "pem": lambda p, t: make_cert().pem,
    "attributes.name": NEW_NAME,
    "attributes.type.type": lambda p, t: "USER",
    "attributes.status.type": lambda p, t: "TRUSTED",
}
NEW_USER: dict[str, Fill] = {
    "userAttributes.userName": NEW_NAME,
    "userAttributes.emailAddress": lambda p, t: f"{unique('fuzzed')}@example.org",
    "userAttributes.accountType": lambda p, t: "NORMAL",
    "roles": lambda p, t: ["INDIVIDUAL"],
}
# Body fields a valid request needs beyond its type (so valid examples get past the
# handler's own checks, and their answers are checked too), or that name one thing:
# the user of membership changes and connection requests, the disclaimer assigned, the
# certificate deleted. A dotted name is a field of an object the body holds.
BODY_VALUES: dict[str, dict[str, Fill]] = {
    "/pod/v2/admin/user/create": NEW_USER,
    "/pod/v1/admin/user/create": NEW_USER,
    "/pod/v1/admin/user/{uid}/status/update": {"status": lambda p, t: "DISABLED"},
    "/pod/v1/admin/user/{uid}/delegates/update": {
        "userId": lambda p, t: p.bot.uid,
        "action": lambda p, t: "ADD",
    },
    "/pod/v1/admin/user/{uid}/disclaimer/update": {"id": lambda p, t: p.disclaimer_id},
    "/pod/v3/room/create": {"name": NEW_NAME},
    "/pod/v2/room/create": {"name": NEW_NAME},
    "/pod/v1/room/create": {"roomAttributes.name": NEW_NAME},
    "/pod/v1/room/{stream_id}/membership/{action}": {"id": UID},
    "/pod/v1/connection/create": {"userId": UID},
    "/pod/v1/connection/accept": {"userId": UID},
    "/pod/v1/connection/reject": {"userId": UID},
    "/pod/v2/user/presence": {"category": lambda p, t: "BUSY"},
    "/pod/v1/admin/user/{uid}/avatar/update": {"image": lambda p, t: PICTURE},
    "/pod/v1/companycert/create": NEW_CERT,
    "/pod/v2/companycert/create": NEW_CERT,
    "/pod/v1/companycert/delete": {"id": PATH_VALUES["fingerPrint"]},
    # A signed JWT, as the bot signs it.
    "/login/pubkey/authenticate": {"token": lambda p, t: p.bot.jwt()},
    "/relay/pubkey/authenticate": {"token": lambda p, t: p.bot.jwt()},
}
# Bodies that are a bare array of user ids: IMs and barrier group membership.
USER_LISTS = {
    "/pod/v1/im/create",
    "/pod/v1/admin/im/create",
    "/pod/v1/admin/group/{gid}/membership/add",
    "/pod/v1/admin/group/{gid}/membership/remove",
}


def _put(body: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a (dotted) field of a body, unless an object on the way is not one (a
    body that breaks its type stays broken)."""
    *parents, name = dotted.split(".")
    for parent in parents:
        body = body.setdefault(parent, {})
        if not isinstance(body, dict):
            return
    body[name] = value


LOGOUT = "/login/logout"


def test_the_document_is_published(server: RunningServer) -> None:
    assert contract.served(server.url, symphony.DIALECT) == contract.built(symphony.DIALECT)


@document.parametrize()
@contract.EXAMPLES
def test_every_operation(case: schemathesis.Case, pod: Pod, targets: Targets) -> None:
    aim(case, pod, targets)


def aim(case: schemathesis.Case, pod: Pod, targets: Targets) -> None:
    """Point the case at real things, then call and check it."""
    path = case.operation.path
    parameters = case.path_parameters or {}
    for name in list(parameters):
        if name in PATH_VALUES:
            parameters[name] = PATH_VALUES[name](pod, targets)
    if "action" in parameters and parameters["action"] not in MEMBERSHIP_ACTIONS:
        parameters["action"] = MEMBERSHIP_ACTIONS[len(str(parameters["action"])) % 4]
    if path in BODY_VALUES and isinstance(case.body, dict):
        for field, value in BODY_VALUES[path].items():
            _put(case.body, field, value(pod, targets))
    if path in USER_LISTS and isinstance(case.body, list):
        case.body = [pod.bot.uid, targets.uid]
    # A logout ends the session it names: never the one the other operations use.
    token = session_token(pod.server, pod.bot) if path == LOGOUT else pod.token
    contract.call(case, pod.server.url, {"sessionToken": token})
