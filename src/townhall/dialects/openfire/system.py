"""`/system`: properties, session statistics, liveness and readiness (contract §4.4).

Liveness and readiness need no credentials (the auth wrapper lets them through, even
with the API disabled) and answer a bodiless 200 or 503. Townhall accepts no XMPP
connections yet, so readiness for a client or server socket type is honestly 503; the
admin web API itself (`WEBADMIN`) is ready whenever the database answers.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.principal import Principal
from townhall.services.cluster import ClusterService
from townhall.services.presence import PresenceService
from townhall.services.properties import PropertyService

from ..documents import Param, wire
from .entities import PROPERTY_BODY, SESSIONS_COUNT, SYSTEM_PROPERTIES, SYSTEM_PROPERTY
from .http import OpenfireError, bare, read, respond, worded

AnyRequest = Request[Any, Any, Any]
CONNECTION_TYPES = (
    "SOCKET_S2S",
    "SOCKET_C2S",
    "BOSH_C2S",
    "WEBADMIN",
    "COMPONENT",
    "CONNECTION_MANAGER",
)
SERVED_CONNECTION_TYPES = ("WEBADMIN",)
REGISTERED = (
    "plugin.restapi.allowedIPs",
    "plugin.restapi.enabled",
    "plugin.restapi.httpAuth",
    "plugin.restapi.secret",
)
"""The properties this dialect reads. Like Openfire's registered definitions they are
listed even while unset (then without a value), though a single GET of an unset one is
still a NotFound: only stored properties exist one by one."""


PROBE = {200: None, 503: None}
"""Liveness and readiness: a bare 200 or 503, no credentials."""


@get("/system/properties", opt=wire(answers={200: SYSTEM_PROPERTIES}))
async def list_properties(
    request: AnyRequest,
    properties: NamedDependency[PropertyService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    found = {key: None for key in REGISTERED} | await properties.list(principal)
    listed = [{"key": k, "value": v} for k, v in sorted(found.items())]  # code-point order
    return respond(request, SYSTEM_PROPERTIES, listed)


@get("/system/properties/{key:str}", opt=wire(answers={200: SYSTEM_PROPERTY}))
async def get_property(
    request: AnyRequest,
    key: FromPath[str],
    properties: NamedDependency[PropertyService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    value = await properties.get(principal, key)
    return respond(request, SYSTEM_PROPERTY, {"key": key, "value": value})


@post("/system/properties", status_code=201, opt=wire(PROPERTY_BODY, answers={201: None}))
async def create_property(
    request: AnyRequest,
    properties: NamedDependency[PropertyService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    body: dict[str, Any] = await read(request, SYSTEM_PROPERTY)
    await properties.set(principal, body.get("key") or "", body.get("value"))
    return bare(201)


@put("/system/properties/{key:str}", opt=wire(PROPERTY_BODY, answers={200: None}))
async def update_property(
    request: AnyRequest,
    key: FromPath[str],
    properties: NamedDependency[PropertyService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    body: dict[str, Any] = await read(request, SYSTEM_PROPERTY)
    named = body.get("key")
    if named != key:
        # The plugin's order: a missing property is a 404 (naming the body's key, if
        # any) before a body whose key differs from the path (or has none) is a 400.
        # Either way nothing is written, so the look-up needs no lock.
        if not await properties.exists(principal, key):
            raise OpenfireError(
                404, "PropertyNotFoundException", "Could not find property for update", named
            )
        raise OpenfireError(
            400,
            "IllegalArgumentException",
            "Path property name and entity property name doesn't match",
            key,
        )
    with worded(NotFound="Could not find property for update"):
        await properties.update(principal, key, body.get("value"))
    return bare(200)


@delete("/system/properties/{key:str}", status_code=200, opt=wire(answers={200: None}))
async def delete_property(
    key: FromPath[str],
    properties: NamedDependency[PropertyService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await properties.delete(principal, key)
    return bare(200)


@get("/system/statistics/sessions", opt=wire(answers={200: SESSIONS_COUNT}))
async def session_counts(
    request: AnyRequest,
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Openfire's sessions are Townhall's live connections."""
    local, everywhere = await presence.counts(principal)
    return respond(request, SESSIONS_COUNT, {"localSessions": local, "clusterSessions": everywhere})


async def _ready(cluster: ClusterService) -> Response[bytes]:
    return bare(200 if await cluster.ready() else 503)


@get(["/system/liveness", "/system/liveness/deadlock"], opt=wire(answers=PROBE, public=True))
async def liveness() -> Response[bytes]:
    # The process answers, so it is alive and its event loop is not deadlocked.
    return bare(200)


@get(
    [
        "/system/liveness/properties",
        "/system/readiness",
        "/system/readiness/server",
        "/system/readiness/cluster",
        "/system/readiness/plugins",
    ],
    opt=wire(answers=PROBE, public=True),
)
async def readiness(cluster: NamedDependency[ClusterService]) -> Response[bytes]:
    return await _ready(cluster)


@get(
    "/system/readiness/connections",
    opt=wire(
        params=(
            Param("connectionType", {"enum": list(CONNECTION_TYPES)}),
            Param("encrypted", bool, description="required with `connectionType`"),
        ),
        # 400: a bare one for a bad connectionType or a missing `encrypted`.
        answers={**PROBE, 400: None},
        public=True,
    ),
)
async def connections_readiness(
    request: AnyRequest, cluster: NamedDependency[ClusterService]
) -> Response[bytes]:
    kind = request.query_params.get("connectionType")
    if kind is None:
        return await _ready(cluster)
    if kind not in CONNECTION_TYPES or request.query_params.get("encrypted") is None:
        return bare(400)
    if kind not in SERVED_CONNECTION_TYPES:
        return bare(503)
    return await _ready(cluster)


router = Router(
    path="/",
    route_handlers=[
        list_properties,
        get_property,
        create_property,
        update_property,
        delete_property,
        session_counts,
        liveness,
        readiness,
        connections_readiness,
    ],
)
