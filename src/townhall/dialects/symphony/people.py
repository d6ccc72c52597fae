"""Connections and presence (contract §1.2, §1.6, §1.14)."""

from __future__ import annotations

from litestar import Response, Router, get, post

from townhall.services.connections import Connection
from townhall.services.presence import Presence

from . import models as m
from .http import (
    DECLARES_404,
    AnyRequest,
    SymphonyError,
    actor,
    body,
    int_list,
    ok,
    services,
    session,
)

STATUSES = ("PENDING_INCOMING", "PENDING_OUTGOING", "ACCEPTED", "REJECTED", "ALL")
# The 1.4x era's legacy presence categories; newer ones are shown as the closest of these.
LEGACY_CATEGORIES = frozenset(
    {
        "UNDEFINED",
        "AVAILABLE",
        "BUSY",
        "DO_NOT_DISTURB",
        "ON_THE_PHONE",
        "BE_RIGHT_BACK",
        "AWAY",
        "OFFLINE",
    }
)


def _connection(found: Connection) -> m.UserConnection:
    since = int(found.since.timestamp() * 1000)
    return m.UserConnection(
        user_id=found.user_id,
        status=found.status,
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


@post("/v1/connection/create", status_code=200, opt=DECLARES_404)
async def create_connection(request: AnyRequest) -> Response[bytes]:
    svc, me = services(request), session(request).person_id
    return ok(_connection(await svc.connections.connect(actor(request), me, await _peer(request))))


@post("/v1/connection/accept", status_code=200, opt=DECLARES_404)
async def accept_connection(request: AnyRequest) -> Response[bytes]:
    svc, me = services(request), session(request).person_id
    return ok(_connection(await svc.connections.connect(actor(request), me, await _peer(request))))


@post("/v1/connection/reject", status_code=200, opt=DECLARES_404)
async def reject_connection(request: AnyRequest) -> Response[bytes]:
    svc, me = services(request), session(request).person_id
    return ok(_connection(await svc.connections.reject(actor(request), me, await _peer(request))))


@get("/v1/connection/list", opt=DECLARES_404)
async def list_connections(request: AnyRequest) -> Response[bytes]:
    status = request.query_params.get("status")
    if status is not None and status.upper() not in STATUSES:
        raise SymphonyError(400, f"status: must be one of {', '.join(STATUSES)}")
    ids = int_list(request.query_params.get("userIds"), "userIds")
    found = await services(request).connections.list(
        actor(request), status.upper() if status else None, ids
    )
    return ok([_connection(c) for c in found])


@get("/v1/connection/user/{user_id:str}/info", opt=DECLARES_404)
async def connection_info(request: AnyRequest, user_id: str) -> Response[bytes]:
    if not user_id.isdigit():
        raise SymphonyError(400, "userId: must be a user id")
    svc, me = services(request), session(request).person_id
    return ok(_connection(await svc.connections.with_user(actor(request), me, int(user_id))))


@get("/v3/user/{uid:int}/presence", opt=DECLARES_404)
async def user_presence(request: AnyRequest, uid: int) -> Response[bytes]:
    return ok(_presence(await services(request).presence.of(actor(request), uid)))


@get("/v1/user/{uid:int}/presence", opt=DECLARES_404)
async def user_presence_v1(request: AnyRequest, uid: int) -> Response[bytes]:
    found = await services(request).presence.of(actor(request), uid)
    return ok({"category": _legacy(found.category)})


@get("/v2/users/presence")
async def all_presence(request: AnyRequest) -> Response[bytes]:
    ids = int_list(request.query_params.get("lastUserId") or "0", "lastUserId")
    limits = int_list(request.query_params.get("limit") or "1000", "limit")
    found = await services(request).presence.page(actor(request), ids[0], limits[0])
    return ok([_presence(p) for p in found])


@get("/v1/presence")
async def all_presence_v1(request: AnyRequest) -> Response[bytes]:
    found = await services(request).presence.page(actor(request), 0, 5000)
    return ok([m.UserPresence(uid=p.user_id, category=_legacy(p.category)) for p in found])


@get("/v2/user/presence")
async def my_presence(request: AnyRequest) -> Response[bytes]:
    me = session(request).person_id
    return ok(_presence(await services(request).presence.of(actor(request), me)))


@post("/v2/user/presence", status_code=200)
async def set_my_presence(request: AnyRequest) -> Response[bytes]:
    wanted = await body(request, m.PresenceStatus)
    me = session(request).person_id
    return ok(
        _presence(await services(request).presence.choose(actor(request), me, wanted.category))
    )


router = Router(
    path="/",
    route_handlers=[
        create_connection,
        accept_connection,
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
