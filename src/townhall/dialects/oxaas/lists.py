"""`.../users/{userid}/blacklist` and `/whitelist`: the senders a person refuses or always
accepts, over the sender-list service (which owns the pattern rules: `*` wildcards, a
bare domain meaning `*@domain`). Answers are `{"blacklist": [patterns]}` (or
`whitelist`), sorted, after the change.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.principal import Principal
from townhall.services.people import PeopleService
from townhall.services.sender_lists import SenderListService

from ..documents import wire
from .http import AnyRequest, context_admin, ok
from .users import USER, mailbox_holder

LISTS = {"blacklist": "black", "whitelist": "white"}


def _routes(name: str) -> list[Any]:
    which = LISTS[name]
    shape: dict[str, Any] = {
        "type": "object",
        "properties": {name: {"type": "array", "items": {"type": "string"}}},
        "required": [name],
    }

    async def listed(
        request: AnyRequest,
        people: NamedDependency[PeopleService],
        sender_lists: NamedDependency[SenderListService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        person = await mailbox_holder(request, people, principal)
        return ok({name: await sender_lists.patterns(principal, person.id, which)})

    async def clear(
        request: AnyRequest,
        people: NamedDependency[PeopleService],
        sender_lists: NamedDependency[SenderListService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        person = await mailbox_holder(request, people, principal)
        await sender_lists.clear(principal, person.id, which)
        return ok({name: []})

    async def filtered(
        request: AnyRequest,
        entry: FromPath[str],
        people: NamedDependency[PeopleService],
        sender_lists: NamedDependency[SenderListService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        person = await mailbox_holder(request, people, principal)
        return ok({name: await sender_lists.matching(principal, person.id, which, entry)})

    async def add(
        request: AnyRequest,
        entry: FromPath[str],
        people: NamedDependency[PeopleService],
        sender_lists: NamedDependency[SenderListService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        person = await mailbox_holder(request, people, principal)
        await sender_lists.add(principal, person.id, which, entry)
        return ok({name: await sender_lists.patterns(principal, person.id, which)})

    async def remove(
        request: AnyRequest,
        entry: FromPath[str],
        people: NamedDependency[PeopleService],
        sender_lists: NamedDependency[SenderListService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        person = await mailbox_holder(request, people, principal)
        await sender_lists.remove(principal, person.id, which, entry)
        return ok({name: await sender_lists.patterns(principal, person.id, which)})

    whole, one = f"{USER}/{name}", f"{USER}/{name}/{{entry:str}}"
    answers = wire(answers={200: shape})
    return [
        get(whole, opt=answers, name=f"get_{name}")(listed),
        delete(whole, status_code=200, opt=answers, name=f"clear_{name}")(clear),
        get(one, opt=answers, name=f"filter_{name}")(filtered),
        put(one, opt=answers, name=f"add_{name}")(add),
        delete(one, status_code=200, opt=answers, name=f"remove_{name}")(remove),
    ]


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[*_routes("blacklist"), *_routes("whitelist")],
        guards=[context_admin],
    )
