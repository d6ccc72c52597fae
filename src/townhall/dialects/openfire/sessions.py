"""`/sessions` (contract §4.5): the live-session registry as Openfire shows it."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get

from townhall.domain.models import LiveSession
from townhall.domain.principal import Principal

from .entities import SESSIONS
from .http import actor, bare, respond, services

AnyRequest = Request[Any, Any, Any]
PRESENCE_WORDS = {
    None: "Online",
    "away": "Away",
    "chat": "Available to Chat",
    "dnd": "Do Not Disturb",
    "xa": "Extended Away",
}
STATUS_WORDS = {"closed": "Closed", "connected": "Connected", "authenticated": "Authenticated"}


def session_data(who: Principal, session: LiveSession, this_node: str) -> dict[str, Any]:
    username = session.username or "Anonymous"
    return {
        "sessionId": f"{username}@{who.tenant.domain}/{session.resource}",
        "username": username,
        "resource": session.resource,
        "node": "Local" if session.node == this_node else "Remote",
        "sessionStatus": STATUS_WORDS.get(session.status, "Unknown"),
        "presenceStatus": PRESENCE_WORDS.get(session.presence_show, "Unknown/Not Recognized"),
        "presenceMessage": session.presence_message,
        "priority": session.priority,
        "hostAddress": session.host_address,
        "hostName": session.host_name,
        "creationDate": session.created_at,
        "lastActionDate": session.last_active_at,
        "secure": session.secure,
    }


async def _respond(request: AnyRequest, username: str | None) -> Response[bytes]:
    svc, who = services(request), actor(request)
    found = await svc.sessions.list(who, username)
    node = svc.deps.node
    return respond(request, SESSIONS, [session_data(who, s, node) for s in found])


@get("/sessions")
async def all_sessions(request: AnyRequest) -> Response[bytes]:
    return await _respond(request, None)


@get("/sessions/{username:str}")
async def user_sessions(request: AnyRequest, username: str) -> Response[bytes]:
    return await _respond(request, username)


@delete("/sessions/{username:str}", status_code=200)
async def close_sessions(request: AnyRequest, username: str) -> Response[bytes]:
    await services(request).sessions.close_user_sessions(actor(request), username)
    return bare(200)


router = Router(path="/", route_handlers=[all_sessions, user_sessions, close_sessions])
