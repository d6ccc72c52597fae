"""`/domains`: person domains and resource sub-domains, and their settings (admins)."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, get, post, put

from townhall.domain.models import Domain

from .http import (
    AnyRequest,
    RmpError,
    body,
    iso,
    ok,
    require_admin,
    require_admin_of,
    require_server_admin,
    services,
    session,
)
from .models import CreateDomain

_WIRE_TYPE = {"primary": "primary", "alias": "primary", "resource-subdomain": "resource-subdomain"}


def _render(domain: Domain) -> dict[str, Any]:
    rendered: dict[str, Any] = {"name": domain.name, "type": _WIRE_TYPE[domain.kind]}
    if domain.parent:
        rendered["parent"] = domain.parent
    else:
        rendered["users"] = domain.users
    rendered["resources"] = domain.resources
    if domain.created_at:
        rendered["created"] = iso(domain.created_at)
    return rendered


@get("/domains")
async def list_domains(request: AnyRequest) -> Response[bytes]:
    caller = require_admin(request)
    found = await services(request).domains.list(caller)
    visible = [d for d in found if session(request).administers(d.name)]
    return ok(domains=[_render(d) for d in visible], total=len(visible))


@post("/domains", status_code=201)
async def create_domain(request: AnyRequest) -> Response[bytes]:
    asked = await body(request, CreateDomain)
    if asked.type == "resource-subdomain":
        caller = require_admin_of(request, asked.domain.partition(".resources.")[2] or "-")
    else:
        caller = require_server_admin(request)
    created = await services(request).domains.create(
        caller, asked.domain, asked.type, asked.admin_email
    )
    return ok(201, domain=_render(created))


@get("/domains/{domain:str}/settings")
async def domain_settings(request: AnyRequest, domain: str) -> Response[bytes]:
    caller = require_admin_of(request, domain)
    settings = await services(request).domains.settings(caller, domain)
    return ok(domain=domain.lower(), settings=settings)


@put("/domains/{domain:str}/settings")
async def update_domain_settings(request: AnyRequest, domain: str) -> Response[bytes]:
    caller = require_admin_of(request, domain)
    changes: dict[str, Any] = await body(request, dict)
    changes = changes.get("settings", changes)
    if not isinstance(changes, dict):
        raise RmpError(400, "INVALID_INPUT", "settings must be an object", {"field": "settings"})
    svc = services(request)
    await svc.domains.update_settings(caller, domain, changes)
    return ok(domain=domain.lower(), settings=await svc.domains.settings(caller, domain))


router = Router(
    path="/",
    route_handlers=[list_domains, create_domain, domain_settings, update_domain_settings],
)
