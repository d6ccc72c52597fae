"""`/users/{username}/roster` (contract §4.1).

The contact JID is the last path segment and may carry a resource (`b@x/res` arrives
decoded), hence the `path` parameter.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, post, put

from townhall.domain.errors import Invalid, NotFound
from townhall.domain.models import RosterItem

from .entities import ROSTER, ROSTER_ITEM
from .http import OpenfireError, actor, bare, read, respond, services, worded

AnyRequest = Request[Any, Any, Any]


def _item(item: RosterItem) -> dict[str, Any]:
    return {
        "jid": item.jid,
        "nickname": item.nickname,
        "subscriptionType": item.subscription,
        "groups": item.groups,
    }


def _out_of_range(exc: Invalid, message: str) -> OpenfireError | None:
    """The plugin reports a bad subscription as a 409 UserAlreadyExistsException."""
    if exc.field == "subscriptionType":
        return OpenfireError(409, "UserAlreadyExistsException", message, "")
    return None


@get("/users/{username:str}/roster")
async def get_roster(request: AnyRequest, username: str) -> Response[bytes]:
    with worded(NotFound="Could not get user roster"):
        found = await services(request).roster.list(actor(request), username)
    return respond(request, ROSTER, [_item(i) for i in found])


@post("/users/{username:str}/roster", status_code=201)
async def add_item(request: AnyRequest, username: str) -> Response[bytes]:
    body: dict[str, Any] = await read(request, ROSTER_ITEM)
    if not body.get("jid"):
        raise OpenfireError(400, "IllegalArgumentException", "JID is null", "JID")
    try:
        await services(request).roster.add(
            actor(request),
            username,
            body["jid"],
            body.get("nickname"),
            body.get("subscriptionType"),
            body.get("groups"),
        )
    except Invalid as exc:
        raise _out_of_range(exc, "Could not create roster item") or exc from None
    return bare(201)


@put("/users/{username:str}/roster/{jid:path}")
async def update_item(request: AnyRequest, username: str, jid: str) -> Response[bytes]:
    body: dict[str, Any] = await read(request, ROSTER_ITEM)
    contact = jid.lstrip("/")
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
        raise _out_of_range(exc, "Could not update the roster") or exc from None
    except NotFound as exc:
        if exc.kind != "roster_item":
            raise
        raise OpenfireError(
            404, "UserNotFoundException", "Could not update the roster", contact
        ) from None
    return bare(200)


@delete("/users/{username:str}/roster/{jid:path}", status_code=200)
async def delete_item(request: AnyRequest, username: str, jid: str) -> Response[bytes]:
    await services(request).roster.delete(actor(request), username, jid.lstrip("/"))
    return bare(200)


router = Router(path="/", route_handlers=[get_roster, add_item, update_item, delete_item])
