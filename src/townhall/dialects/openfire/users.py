"""`/users`, `/lockouts` and `/users/{u}/vcard` (contract §4.1)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.models import Person
from townhall.domain.principal import Principal
from townhall.domain.queries import PersonFilter
from townhall.services.people import NewPerson, PeopleService, PersonChanges

from ..documents import Param, wire
from .entities import NEW_USER, USER, USERS
from .http import (
    PAGE_PARAMS,
    OpenfireError,
    bare,
    paging,
    read,
    respond,
    respond_rows,
    worded,
)
from .wire import xml_parser

AnyRequest = Request[Any, Any, Any]


def user_data(user: Person) -> dict[str, Any]:
    return {
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "properties": user.properties,
    }


LISTED = ("username", "name", "email", "properties")
"""The fields of a listed person's row (`PeopleService.listing`), in its order."""
LIST_PARAMS = (
    Param("search", description="usernames containing this"),
    Param("propertyKey", description="users with this property (then `search` is ignored)"),
    Param("propertyValue", description="...holding this value"),
    Param("email"),
    Param("name", description="names containing this"),
    *PAGE_PARAMS,
)
VCARD = {"description": 'a vcard-temp `<vCard xmlns="vcard-temp">` element'}
XML_ONLY = ("application/xml",)


@get("/users", opt=wire(params=LIST_PARAMS, answers={200: USERS}))
async def list_users(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    q = request.query_params
    key = q.get("propertyKey")
    where = PersonFilter(
        username_contains=None if key is not None else q.get("search"),
        property_key=key,
        property_value=q.get("propertyValue") if key is not None else None,
        email=q.get("email"),
        name_contains=q.get("name"),
    )
    offset, limit = paging(request)
    found, total = await people.listing(principal, where, offset, limit)
    return respond_rows(request, USERS, LISTED, found, {"X-Total-Count": str(total)})


@post("/users", status_code=201, opt=wire(NEW_USER, answers={201: None}))
async def create_user(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    body = await _user_body(request)
    if not body.get("username"):
        raise OpenfireError(400, "IllegalArgumentException", "Could not create new user", "users")
    if body.get("password") is None:
        raise OpenfireError(
            400,
            "PasswordIsNull",
            "Could not create new user, because password is null",
            body["username"],
        )
    with worded(AlreadyExists="Could not create new user"):
        new = NewPerson(
            username=body["username"],
            password=body["password"],
            name=body.get("name") or "",
            email=body.get("email"),
            properties=dict(body.get("properties") or []),
        )
        await people.create(principal, new)
    return bare(201)


async def _user_body(request: AnyRequest) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        raise OpenfireError(400, "IllegalArgumentException", "Could not create new user", "users")
    parsed: dict[str, Any] = await read(request, USER)
    return parsed


@get("/users/{username:str}", opt=wire(answers={200: USER}))
async def get_user(
    request: AnyRequest,
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    with worded(NotFound="Could not get user"):
        user = await people.card(principal, username)
    return respond(request, USER, user._asdict())


@put("/users/{username:str}", opt=wire(USER, answers={200: None}))
async def update_user(
    request: AnyRequest,
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    body = await _user_body(request)
    changes = PersonChanges(
        username=body.get("username") or None,
        password=body.get("password") or None,
        name=body.get("name"),
        email=body.get("email"),
        # The plugin replaces properties wholesale: no list means no properties.
        properties=dict(body.get("properties") or []),
    )
    with worded(NotFound="Could not find user", AlreadyExists="Could not create new user"):
        await people.update(principal, username, changes)
    return bare(200)


@delete("/users/{username:str}", status_code=200, opt=wire(answers={200: None}))
async def delete_user(
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    with worded(NotFound="Could not get user"):
        await people.delete(principal, username)
    return bare(200)


@post("/lockouts/{username:str}", status_code=201, opt=wire(answers={201: None}))
async def lock_user(
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await people.set_locked(principal, username, True)
    return bare(201)


@delete("/lockouts/{username:str}", status_code=200, opt=wire(answers={200: None}))
async def unlock_user(
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await people.set_locked(principal, username, False)
    return bare(200)


@get(
    "/users/{username:str}/vcard",
    opt=wire(answers={200: VCARD, 204: None}, media=XML_ONLY),
)
async def get_vcard(
    request: AnyRequest,
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    accept = (request.headers.get("accept") or "").lower()
    if accept and not any(t in accept for t in ("application/xml", "*/*", "application/*")):
        return bare(406)
    vcard = await people.get_vcard(principal, username)
    if vcard is None:
        return bare(204)
    return Response(vcard.encode(), status_code=200, media_type="application/xml")


@put("/users/{username:str}/vcard", opt=wire(VCARD, answers={200: None}, media=XML_ONLY))
async def put_vcard(
    request: AnyRequest,
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media != "application/xml":
        return bare(415)
    from lxml import etree  # on first use, as every XML body

    try:
        element = etree.fromstring(await request.body(), xml_parser())
    except etree.XMLSyntaxError:
        raise OpenfireError(
            400,
            "IllegalArgumentException",
            "Could not parse the provided data as a vCard",
            username,
        ) from None
    if next(element.iter(etree.Entity), None) is not None:
        # Never expanded (no XXE), but stored as `&name;` it would be served back as
        # malformed XML, its declaration being lost: refused, so what is stored parses.
        raise OpenfireError(
            400, "IllegalArgumentException", "The vCard must not use XML entities", "vcard"
        )
    text = etree.tostring(element, encoding="unicode")
    await people.set_vcard(principal, username, text)
    return bare(200)


@delete("/users/{username:str}/vcard", status_code=200, opt=wire(answers={200: None}))
async def delete_vcard(
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await people.set_vcard(principal, username, None)
    return bare(200)


router = Router(
    path="/",
    route_handlers=[
        list_users,
        create_user,
        get_user,
        update_user,
        delete_user,
        lock_user,
        unlock_user,
        get_vcard,
        put_vcard,
        delete_vcard,
    ],
)
