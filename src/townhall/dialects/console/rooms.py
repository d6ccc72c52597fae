"""Chat rooms and who holds which affiliation in them, across every chat service of the
tenant, whichever API made them (an Openfire MUC room and a Symphony room are the same
rooms). Granting and revoking go through the room service, whose own rule (an owner of
the room, or an administrator) decides."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.dialects import kit
from townhall.domain.errors import AlreadyExists, DomainError
from townhall.domain.models import AFFILIATIONS, Affiliations, RoomSettings
from townhall.domain.principal import Principal
from townhall.domain.queries import RoomFilter
from townhall.services.rooms import DEFAULT_SERVICE, RoomService, RoomSpec

from . import web
from .forms import Form, posted, query

PAGE = 50


def _at(service: str, name: str) -> str:
    return f"{web.BASE}/rooms/{quote(service, safe='')}/{quote(name, safe='')}"


@get("/rooms", name="console:rooms")
async def rooms_page(
    request: Request[Any, Any, Any],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    return await _list(request, rooms, principal, {})


async def _list(
    request: Request[Any, Any, Any],
    rooms: RoomService,
    principal: Principal,
    extra: dict[str, Any],
    status: int = 200,
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
        "notice": asked.text("notice", limit=300),
        "form": {},
        **extra,
    }
    return web.render(request, "rooms.html", context, status)


@post("/rooms", status_code=303)
async def create_room(
    request: Request[Any, Any, Any],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    """A persistent room of the default chat service (Openfire's `conference`), made as
    Openfire's bulk create makes one: a room that exists already is refused, not
    overwritten."""
    form = await posted(request)
    try:
        name = form.required("name", 1024)
        settings = RoomSettings(
            natural_name=form.text("natural_name", limit=1024) or name,
            description=form.text("description", limit=4096),
            persistent=True,
            public_room=not form.flag("hidden"),
            members_only=form.flag("members_only"),
        )
        spec = RoomSpec(name, settings, Affiliations())
        [outcome] = await rooms.create_many(principal, DEFAULT_SERVICE, [spec])
        if outcome.error is not None:
            raise outcome.error
        if not outcome.created:
            raise AlreadyExists("room", name, f"a room {name} exists already")
        made = await rooms.get(principal, DEFAULT_SERVICE, name)
    except DomainError as exc:
        extra = {"error": web.message(exc), "form": form.values}
        return await _list(request, rooms, principal, extra, web.status(exc))
    return web.go(_at(made.service, made.name) + "?notice=created")


@post("/rooms/{service:str}/{name:str}/delete", status_code=303)
async def delete_room(
    request: Request[Any, Any, Any],
    service: FromPath[str],
    name: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    try:
        await rooms.delete(principal, service, name)
    except DomainError as exc:
        room = await rooms.get(principal, service, name)
        context = _context(room, error=web.message(exc))
        return web.render(request, "room.html", context, web.status(exc))
    return web.go(f"{web.BASE}/rooms?notice={quote(name + ' deleted')}")


@get("/rooms/{service:str}/{name:str}")
async def room_page(
    request: Request[Any, Any, Any],
    service: FromPath[str],
    name: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
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
    service: FromPath[str],
    name: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    return await _affiliate(request, service, name, rooms, principal, True)


@post("/rooms/{service:str}/{name:str}/members/remove", status_code=303)
async def revoke(
    request: Request[Any, Any, Any],
    service: FromPath[str],
    name: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    return await _affiliate(request, service, name, rooms, principal, False)


ROUTES = [rooms_page, create_room, room_page, grant, revoke, delete_room]
