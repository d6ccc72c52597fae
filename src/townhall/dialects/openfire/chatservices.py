"""`/chatservices` (contract §4.3)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency

from townhall.domain.models import ChatService
from townhall.domain.principal import Principal
from townhall.services.rooms import RoomService

from ..documents import wire
from .entities import CHAT_SERVICE, CHAT_SERVICES, NEW_CHAT_SERVICE
from .http import bare, read, respond

AnyRequest = Request[Any, Any, Any]


def service_data(service: ChatService) -> dict[str, Any]:
    return {
        "serviceName": service.name,
        "description": service.description,
        "hidden": service.hidden,
    }


@get("/chatservices", opt=wire(answers={200: CHAT_SERVICES}))
async def list_services(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    found = await rooms.list_services(principal)
    return respond(request, CHAT_SERVICES, [service_data(s) for s in found])


@post("/chatservices", status_code=201, opt=wire(NEW_CHAT_SERVICE, answers={201: None}))
async def create_service(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    body = await read(request, CHAT_SERVICE)
    await rooms.create_service(
        principal, body.get("serviceName") or "", body.get("description"), bool(body.get("hidden"))
    )
    return bare(201)


router = Router(path="/", route_handlers=[list_services, create_service])
