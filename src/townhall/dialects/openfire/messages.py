"""`/messages/users` broadcast and `/archive/messages/unread/{jid}` (contract §4.5).

The unread count comes from the plugin's reading of the Monitoring plugin's archive.
Townhall keeps no offline-message archive yet, so the honest count is 0; the answer
echoes the JID exactly as given, as the plugin does.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.principal import Principal
from townhall.services.messages import MessageService

from ..documents import wire
from .entities import ARCHIVE, MESSAGE
from .http import bare, read, respond

AnyRequest = Request[Any, Any, Any]


@post("/messages/users", status_code=201, opt=wire(MESSAGE, answers={201: None}))
async def broadcast(
    request: AnyRequest,
    messages: NamedDependency[MessageService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    body: dict[str, Any] = await read(request, MESSAGE)
    await messages.broadcast(principal, body.get("body"))
    return bare(201)


@get("/archive/messages/unread/{jid:str}", opt=wire(answers={200: ARCHIVE}))
async def unread(request: AnyRequest, jid: FromPath[str]) -> Response[bytes]:
    return respond(request, ARCHIVE, {"jid": jid, "count": 0})


router = Router(path="/", route_handlers=[broadcast, unread])
