"""System properties (Openfire's; the same key/value settings every API reads): list,
set and delete. Secret values stay masked, as through the API. Like the group service,
the property service leaves who may change them to its callers: server admins only."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency

from townhall.domain.errors import DomainError
from townhall.domain.principal import Principal
from townhall.services.properties import PropertyService

from . import web
from .forms import posted, query


async def _page(
    request: Request[Any, Any, Any],
    properties: PropertyService,
    principal: Principal,
    extra: dict[str, Any],
    status: int = 200,
) -> Response[Any]:
    found = await properties.list(principal)
    context = {"properties": sorted(found.items()), "form": {}, **extra}
    return web.render(request, "settings.html", context, status)


@get("/settings", name="console:settings")
async def settings_page(
    request: Request[Any, Any, Any],
    properties: NamedDependency[PropertyService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    notice = query(request).text("notice", limit=300)
    return await _page(request, properties, principal, {"notice": notice})


@post("/settings", status_code=303)
async def set_property(
    request: Request[Any, Any, Any],
    properties: NamedDependency[PropertyService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)
    try:
        key = form.required("key", 255)
        await properties.set(principal, key, form.text("value", limit=4000))
    except DomainError as exc:
        extra = {"form": form.values, "error": web.message(exc)}
        return await _page(request, properties, principal, extra, web.status(exc))
    return web.go(f"{web.BASE}/settings?notice={quote(key + ' saved')}")


@post("/settings/delete", status_code=303)
async def delete_property(
    request: Request[Any, Any, Any],
    properties: NamedDependency[PropertyService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)
    try:
        key = form.required("key", 255)
        await properties.delete(principal, key)
    except DomainError as exc:
        extra = {"error": web.message(exc)}
        return await _page(request, properties, principal, extra, web.status(exc))
    return web.go(f"{web.BASE}/settings?notice={quote(key + ' deleted')}")


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[settings_page, set_property, delete_property],
        guards=[web.server_admins_only],
    )
