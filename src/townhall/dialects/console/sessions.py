"""Live sessions: every connected client of the tenant (XMPP resources, WebSockets...),
whichever node holds it, and disconnecting a person's. The presence service leaves who
may do that to its callers (Openfire's API asks for a server admin), so this page does."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency

from townhall.domain.errors import DomainError
from townhall.domain.principal import Principal
from townhall.services.presence import PresenceService

from . import web
from .forms import posted, query


async def _page(
    request: Request[Any, Any, Any],
    presence: PresenceService,
    principal: Principal,
    extra: dict[str, Any],
    status: int = 200,
) -> Response[Any]:
    username = query(request).text("username", limit=256)
    found = await presence.connections(principal, username or None)
    context = {
        "connections": found,
        "node": presence.deps.node,
        "username": username,
        **extra,
    }
    return web.render(request, "sessions.html", context, status)


@get("/sessions", name="console:sessions")
async def sessions_page(
    request: Request[Any, Any, Any],
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    notice = query(request).text("notice", limit=300)
    return await _page(request, presence, principal, {"notice": notice})


@post("/sessions/close", status_code=303)
async def close_sessions(
    request: Request[Any, Any, Any],
    presence: NamedDependency[PresenceService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)
    try:
        username = form.required("username", 256)
        await presence.close_connections(principal, username)
    except DomainError as exc:
        extra = {"error": web.message(exc)}
        return await _page(request, presence, principal, extra, web.status(exc))
    return web.go(f"{web.BASE}/sessions?notice={quote(username + ' disconnected')}")


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[sessions_page, close_sessions],
        guards=[web.server_admins_only],
    )
