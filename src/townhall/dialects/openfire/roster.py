"""`/users/{username}/roster` (contract §4.1).

The contact JID is the last path segment and may carry a resource (`b@x/res` arrives
decoded), hence the `path` parameter. Errors keep the plugin's quirks: a subscription
outside -1..3 is a 409 UserAlreadyExistsException, and an unknown contact on PUT is a
404 UserNotFoundException. One deliberate difference: the owner may be named
`name@<local domain>`, as on the group and vCard routes, where the plugin answers 500.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, post, put

from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.models import RosterItem

from .entities import ROSTER, ROSTER_ITEM
from .http import OpenfireError, actor, bare, read, respond, services, tail, worded

AnyRequest = Request[Any, Any, Any]
CREATE_FAILED = "Could not create roster item"
UPDATE_FAILED = "Could not update the roster"


def _item(item: RosterItem) -> dict[str, Any]:
    return {
        "jid": item.jid,
        "nickname": item.nickname,
        "subscriptionType": item.subscription,
        "groups": item.groups,
    }


def _conflict(message: str, resource: str) -> OpenfireError:
    return OpenfireError(409, "UserAlreadyExistsException", message, resource)


@get("/users/{username:str}/roster")
async def get_roster(request: AnyRequest, username: str) -> Response[bytes]:
    with worded(NotFound="Could not get user roster"):
        found = await services(request).roster.list(actor(request), username)
    return respond(request, ROSTER, [_item(i) for i in found])


@post("/users/{username:str}/roster", status_code=201)
async def add_item(request: AnyRequest, username: str) -> Response[bytes]:
    body: dict[str, Any] = await read(request, ROSTER_ITEM)
    if body.get("jid") is None:
        raise OpenfireError(400, "IllegalArgumentException", "JID is null", "JID")
    try:
        with worded(NotFound="Could not get user roster"):
            await services(request).roster.add(
                actor(request),
                username,
                body["jid"],
                body.get("nickname"),
                body.get("subscriptionType"),
                body.get("groups"),
            )
    except AlreadyExists:
        raise _conflict(CREATE_FAILED, "") from None
    except Invalid as exc:
        if exc.field != "subscriptionType":
            raise
        raise _conflict(CREATE_FAILED, "") from None
    return bare(201)


@put("/users/{username:str}/roster/{jid:path}")
async def update_item(request: AnyRequest, username: str, jid: str) -> Response[bytes]:
    body: dict[str, Any] = await read(request, ROSTER_ITEM)
    contact = tail(jid)  # the body's jid is ignored, as by the plugin
    try:
        await services(request).roster.update(
            actor(request),
            username,
            contact,
            body.get("nickname"),
            body.get("subscriptionType"),
            body.get("groups"),
        )
    except Invalid as exc:
        if exc.field != "subscriptionType":
            raise
        raise _conflict(UPDATE_FAILED, contact) from None
    except NotFound as exc:
        if exc.kind != "roster_item":
            raise
        raise OpenfireError(404, "UserNotFoundException", UPDATE_FAILED, contact) from None
    return bare(200)


@delete("/users/{username:str}/roster/{jid:path}", status_code=200)
async def delete_item(request: AnyRequest, username: str, jid: str) -> Response[bytes]:
    await services(request).roster.delete(actor(request), username, tail(jid))
    return bare(200)


router = Router(path="/", route_handlers=[get_roster, add_item, update_item, delete_item])
