"""`/chatservices` (contract §4.3)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post

from townhall.domain.models import ChatService

from .entities import CHAT_SERVICE, CHAT_SERVICES
from .http import actor, bare, read, respond, services

AnyRequest = Request[Any, Any, Any]


def service_data(service: ChatService) -> dict[str, Any]:
    return {
        "serviceName": service.name,
        "description": service.description,
        "hidden": service.hidden,
    }


@get("/chatservices")
async def list_services(request: AnyRequest) -> Response[bytes]:
    found = await services(request).rooms.list_services(actor(request))
    return respond(request, CHAT_SERVICES, [service_data(s) for s in found])


@post("/chatservices", status_code=201)
async def create_service(request: AnyRequest) -> Response[bytes]:
    body = await read(request, CHAT_SERVICE)
    await services(request).rooms.create_service(
        actor(request),
        body.get("serviceName") or "",
        body.get("description"),
        bool(body.get("hidden")),
    )
    return bare(201)


router = Router(path="/", route_handlers=[list_services, create_service])
