"""`/sessions` (contract §4.5): the live-connection registry as Openfire shows it, where
each live connection is a session."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.models import LiveConnection
from townhall.domain.principal import Principal
from townhall.services.presence import PresenceService

from ..documents import wire
from .entities import SESSIONS
from .http import bare, respond

AnyRequest = Request[Any, Any, Any]
PRESENCE_WORDS = {
    None: "Online",
    "away": "Away",
    "chat": "Available to Chat",
    "dnd": "Do Not Disturb",
    "xa": "Extended Away",
}
STATUS_WORDS = {"closed": "Closed", "connected": "Connected", "authenticated": "Authenticated"}


def session_data(who: Principal, found: LiveConnection, this_node: str) -> dict[str, Any]:
    username = found.username or "Anonymous"
    return {
        "sessionId": f"{username}@{who.tenant.domain}/{found.resource}",
        "username": username,
        "resource": found.resource,
        "node": "Local" if found.node == this_node else "Remote",
        "sessionStatus": STATUS_WORDS.get(found.status, "Unknown"),
        "presenceStatus": PRESENCE_WORDS.get(found.presence_show, "Unknown/Not Recognized"),
        "presenceMessage": found.presence_message,
        "priority": found.priority,
        "hostAddress": found.host_address,
        "hostName": found.host_name,
        "creationDate": found.created_at,
        "lastActionDate": found.last_active_at,
        "secure": found.secure,
    }


async def _respond(
    request: AnyRequest, presence: PresenceService, principal: Principal, username: str | None
) -> Response[bytes]:
    found = await presence.connections(principal, username)
    node = presence.deps.node
    return respond(request, SESSIONS, [session_data(principal, c, node) for c in found])


@get("/sessions", opt=wire(answers={200: SESSIONS}))
async def all_sessions(
    request: AnyRequest,
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return await _respond(request, presence, principal, None)


@get("/sessions/{username:str}", opt=wire(answers={200: SESSIONS}))
async def user_sessions(
    request: AnyRequest,
    username: FromPath[str],
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return await _respond(request, presence, principal, username)


@delete("/sessions/{username:str}", status_code=200, opt=wire(answers={200: None}))
async def close_sessions(
    username: FromPath[str],
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await presence.close_connections(principal, username)
    return bare(200)


router = Router(path="/", route_handlers=[all_sessions, user_sessions, close_sessions])
