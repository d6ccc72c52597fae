"""Connections and presence (contract §1.2, §1.6, §1.14).

A connection is Symphony's view of two people's contact entries; within one tenant
people are always connected, so every connection shown is ACCEPTED.
"""

from __future__ import annotations

from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.errors import NotFound
from townhall.domain.principal import Principal
from townhall.services.contacts import Connection, ContactService
from townhall.services.presence import CATEGORIES, MAX_PAGE, Presence, PresenceService

from .. import kit, unstorable
from ..documents import Param, wire
from . import models as m
from .http import DECLARES_404, IDS, AnyRequest, SymphonyError, body, int_list, ok

STATUSES = ("PENDING_INCOMING", "PENDING_OUTGOING", "ACCEPTED", "REJECTED", "ALL")
SHOWN = ("ACCEPTED", "ALL")
"""The status filters that show accepted connections (there are no others)."""
# The 1.4x era's legacy presence categories; newer ones are shown as the closest of these.
LEGACY_CATEGORIES = frozenset(CATEGORIES) - {"IN_A_MEETING", "OUT_OF_OFFICE", "OFF_WORK"}


def _connection(found: Connection) -> m.UserConnection:
    since = int(found.since.timestamp() * 1000)
    return m.UserConnection(
        user_id=found.user_id,
        status="ACCEPTED",
        first_requested_at=since,
        updated_at=since,
        request_counter=1,
    )


def _presence(found: Presence) -> m.Presence:
    stamp = int(found.since.timestamp() * 1000) if found.since else None
    return m.Presence(category=found.category, user_id=found.user_id, timestamp=stamp)


def _legacy(category: str) -> str:
    return category if category in LEGACY_CATEGORIES else "BUSY"


async def _peer(request: AnyRequest) -> int:
    return (await body(request, m.UserConnectionRequest)).user_id


CONNECTION = wire(m.UserConnectionRequest, answers={200: m.UserConnection})


@post(
    ["/v1/connection/create", "/v1/connection/accept"],
    status_code=200,
    opt={**DECLARES_404, **CONNECTION},
)
async def connect(
    request: AnyRequest,
    contacts: NamedDependency[ContactService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Creating and accepting are one: the connection stands at once."""
    return ok(_connection(await contacts.connect(principal, await _peer(request))))


@post("/v1/connection/reject", status_code=200, opt={**DECLARES_404, **CONNECTION})
async def reject_connection(
    request: AnyRequest,
    contacts: NamedDependency[ContactService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(_connection(await contacts.reject(principal, await _peer(request))))


@get(
    "/v1/connection/list",
    opt={
        **DECLARES_404,
        **wire(
            params=(
                Param("status", {"type": "string", "enum": list(STATUSES)}),
                Param("userIds", IDS, description="user ids, comma-separated"),
            ),
            answers={200: list[m.UserConnection]},
        ),
    },
)
async def list_connections(
    request: AnyRequest,
    contacts: NamedDependency[ContactService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Only pending requests unless asked for ACCEPTED (or ALL), and there are none."""
    status = request.query_params.get("status")
    if status is not None and status.upper() not in STATUSES:
        raise SymphonyError(400, f"status: must be one of {', '.join(STATUSES)}")
    ids = int_list(request.query_params.get("userIds"), "userIds")
    if status is None or status.upper() not in SHOWN:
        return ok([])
    return ok([_connection(c) for c in await contacts.connections(principal, ids)])


@get(
    "/v1/connection/user/{user_id:str}/info",
    opt={**DECLARES_404, **wire(answers={200: m.UserConnection})},
)
async def connection_info(
    user_id: FromPath[str],
    contacts: NamedDependency[ContactService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    if not (user_id.isascii() and user_id.isdigit()):
        raise SymphonyError(400, "userId: must be a user id")
    if int(user_id) > unstorable.INT64_MAX:  # no such user, as any unknown id
        raise NotFound("user", user_id)
    return ok(_connection(await contacts.connection(principal, int(user_id))))


@get("/v3/user/{uid:int}/presence", opt={**DECLARES_404, **wire(answers={200: m.Presence})})
async def user_presence(
    uid: FromPath[int],
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(_presence(await presence.of(principal, uid)))


@get(
    "/v1/user/{uid:int}/presence",
    opt={**DECLARES_404, **wire(answers={200: m.PresenceStatus})},
)
async def user_presence_v1(
    uid: FromPath[int],
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    found = await presence.of(principal, uid)
    return ok(m.PresenceStatus(category=_legacy(found.category)))


@get(
    "/v2/users/presence",
    opt=wire(
        params=(
            Param("lastUserId", int, description="the page starts after this user id"),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
        ),
        answers={200: list[m.Presence]},
    ),
)
async def all_presence(
    request: AnyRequest,
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    q, low, high = request.query_params, unstorable.INT64_MIN, unstorable.INT64_MAX
    after = kit.integer(q.get("lastUserId"), "lastUserId", 0, low, high)
    limit = kit.integer(q.get("limit"), "limit", 1000, low, high)  # the service checks the range
    found = await presence.page(principal, after, limit)
    return ok([_presence(p) for p in found])


@get("/v1/presence", opt=wire(answers={200: list[m.UserPresence]}))
async def all_presence_v1(
    presence: NamedDependency[PresenceService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    found = await presence.page(principal, 0, 5000)
    return ok([m.UserPresence(uid=p.user_id, category=_legacy(p.category)) for p in found])


@get("/v2/user/presence", opt=wire(answers={200: m.Presence}))
async def my_presence(
    presence: NamedDependency[PresenceService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    return ok(_presence(await presence.of(principal, principal.person_id)))


@post(
    "/v2/user/presence",
    status_code=200,
    opt=wire(m.PresenceStatus, answers={200: m.Presence}),
)
async def set_my_presence(
    request: AnyRequest,
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    wanted = await body(request, m.PresenceStatus)
    return ok(_presence(await presence.choose(principal, wanted.category)))


router = Router(
    path="/",
    route_handlers=[
        connect,
        reject_connection,
        list_connections,
        connection_info,
        user_presence,
        user_presence_v1,
        all_presence,
        all_presence_v1,
        my_presence,
        set_my_presence,
    ],
)
