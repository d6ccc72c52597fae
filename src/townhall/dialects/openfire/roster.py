"""`/users/{username}/roster` (contract §4.1): a person's contacts.

The contact JID is the last path segment and may carry a resource (`b@x/res` arrives
decoded), hence the `path` parameter. Errors keep the plugin's quirks: a subscription
outside -1..3 is a 409 UserAlreadyExistsException, and an unknown contact on PUT is a
404 UserNotFoundException. One deliberate difference: the owner may be named
`name@<local domain>`, as on the group and vCard routes, where the plugin answers 500.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.models import Contact
from townhall.domain.principal import Principal
from townhall.services.contacts import ContactService

from ..documents import wire
from .entities import NEW_ROSTER_ITEM, ROSTER, ROSTER_ITEM
from .http import OpenfireError, bare, read, respond, tail, worded

AnyRequest = Request[Any, Any, Any]
CREATE_FAILED = "Could not create roster item"
UPDATE_FAILED = "Could not update the roster"


def _item(contact: Contact) -> dict[str, Any]:
    return {
        "jid": contact.jid,
        "nickname": contact.nickname,
        "subscriptionType": contact.subscription,
        "groups": contact.groups,
    }


def _conflict(message: str, resource: str) -> OpenfireError:
    return OpenfireError(409, "UserAlreadyExistsException", message, resource)


@get("/users/{username:str}/roster", opt=wire(answers={200: ROSTER}))
async def get_roster(
    request: AnyRequest,
    username: FromPath[str],
    contacts: NamedDependency[ContactService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    with worded(NotFound="Could not get user roster"):
        found = await contacts.entries(principal, username)
    return respond(request, ROSTER, [_item(c) for c in found])


@post(
    "/users/{username:str}/roster", status_code=201, opt=wire(NEW_ROSTER_ITEM, answers={201: None})
)
async def add_item(
    request: AnyRequest,
    username: FromPath[str],
    contacts: NamedDependency[ContactService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    body: dict[str, Any] = await read(request, ROSTER_ITEM)
    try:
        with worded(NotFound="Could not get user roster"):
            await contacts.add(
                principal,
                username,
                body.get("jid"),
                body.get("nickname"),
                body.get("subscriptionType"),
                body.get("groups") or (),
            )
    except AlreadyExists:
        raise _conflict(CREATE_FAILED, "") from None
    except Invalid as exc:
        if exc.field != "subscription":
            raise
        raise _conflict(CREATE_FAILED, "") from None
    return bare(201)


@put("/users/{username:str}/roster/{jid:path}", opt=wire(ROSTER_ITEM, answers={200: None}))
async def update_item(
    request: AnyRequest,
    username: FromPath[str],
    jid: FromPath[str],
    contacts: NamedDependency[ContactService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    body: dict[str, Any] = await read(request, ROSTER_ITEM)
    contact = tail(jid)  # the body's jid is ignored, as by the plugin
    try:
        await contacts.update(
            principal,
            username,
            contact,
            body.get("nickname"),
            body.get("subscriptionType"),
            body.get("groups"),
        )
    except Invalid as exc:
        if exc.field != "subscription":
            raise
        raise _conflict(UPDATE_FAILED, contact) from None
    except NotFound as exc:
        if exc.kind != "contact":
            raise
        raise OpenfireError(404, "UserNotFoundException", UPDATE_FAILED, contact) from None
    return bare(200)


@delete("/users/{username:str}/roster/{jid:path}", status_code=200, opt=wire(answers={200: None}))
async def delete_item(
    username: FromPath[str],
    jid: FromPath[str],
    contacts: NamedDependency[ContactService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await contacts.remove(principal, username, tail(jid))
    return bare(200)


router = Router(path="/", route_handlers=[get_roster, add_item, update_item, delete_item])
