"""Chat rooms and who holds which affiliation in them, across every chat service of the
tenant, whichever API made them (an Openfire MUC room and a Symphony room are the same
rooms). Granting and revoking go through the room service, whose own rule (an owner of
the room, or an administrator) decides."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post

from townhall.dialects import kit
from townhall.domain.errors import DomainError
from townhall.domain.models import AFFILIATIONS
from townhall.domain.principal import Principal
from townhall.domain.queries import RoomFilter
from townhall.services.rooms import RoomService

from . import web
from .forms import Form, posted, query

PAGE = 50


def _at(service: str, name: str) -> str:
    return f"{web.BASE}/rooms/{quote(service, safe='')}/{quote(name, safe='')}"


@get("/rooms", name="console:rooms")
async def rooms_page(
    request: Request[Any, Any, Any], rooms: RoomService, principal: Principal
) -> Response[Any]:
    asked = query(request)
    text = asked.text("q", limit=256)
    page = asked.page()
    found = await rooms.search(
        principal, RoomFilter(name_contains=text or None), (page - 1) * PAGE, PAGE
    )
    context = {
        "rooms": found.rooms,
        "q": text,
        "page": page,
        "pages": max(1, -(-found.total // PAGE)),
        "total": found.total,
    }
    return web.render(request, "rooms.html", context)


@get("/rooms/{service:str}/{name:str}")
async def room_page(
    request: Request[Any, Any, Any],
    service: str,
    name: str,
    rooms: RoomService,
    principal: Principal,
) -> Response[Any]:
    room = await rooms.get(principal, service, name)
    done = query(request).text("notice", limit=40)
    return web.render(request, "room.html", _context(room, done=done))


def _context(room: Any, **extra: Any) -> dict[str, Any]:
    return {"room": room, "affiliations": AFFILIATIONS, **extra}


def _affiliation(form: Form) -> str:
    chosen = form.required("affiliation", 10)
    if chosen not in AFFILIATIONS:
        raise kit.Malformed("affiliation", f"must be one of {', '.join(AFFILIATIONS)}")
    return chosen


async def _affiliate(
    request: Request[Any, Any, Any],
    service: str,
    name: str,
    rooms: RoomService,
    principal: Principal,
    granting: bool,
) -> Response[Any]:
    form = await posted(request)
    try:
        affiliation, who = _affiliation(form), form.required("who", 3071)
        if granting:
            await rooms.grant(principal, service, name, affiliation, who)
        else:
            await rooms.revoke(principal, service, name, affiliation, who)
    except DomainError as exc:
        room = await rooms.get(principal, service, name)
        context = _context(room, error=web.message(exc))
        return web.render(request, "room.html", context, web.status(exc))
    return web.go(_at(service, name) + ("?notice=granted" if granting else "?notice=revoked"))


@post("/rooms/{service:str}/{name:str}/members", status_code=303)
async def grant(
    request: Request[Any, Any, Any],
    service: str,
    name: str,
    rooms: RoomService,
    principal: Principal,
) -> Response[Any]:
    return await _affiliate(request, service, name, rooms, principal, True)


@post("/rooms/{service:str}/{name:str}/members/remove", status_code=303)
async def revoke(
    request: Request[Any, Any, Any],
    service: str,
    name: str,
    rooms: RoomService,
    principal: Principal,
) -> Response[Any]:
    return await _affiliate(request, service, name, rooms, principal, False)


ROUTES = [rooms_page, room_page, grant, revoke]
