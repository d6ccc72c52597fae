"""A person's OX mail routing on their page: the forwards of their address (mail to it
goes to each recipient instead) and their black and white lists of senders.

Both go through the services the OX API uses (services/forwards.py,
services/sender_lists.py), which own the rules: the alias must be in one of the
tenant's domains, at most 100 recipients, patterns with `*`, each change audited and
published. A refusal is shown on the person's page naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.dialects import kit
from townhall.domain import roles
from townhall.domain.errors import DomainError
from townhall.domain.models import Person
from townhall.domain.principal import Principal
from townhall.services.sender_lists import LISTS

from . import web
from .forms import posted


@dataclass(frozen=True, slots=True)
class Routing:
    """What the person's page shows of their mail routing."""

    address: str
    forwards: list[str] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)
    unavailable: str = ""


def address_of(person: Person, principal: Principal) -> str:
    """The address whose forwards the page shows: the person's e-mail, else their
    username at the tenant's domain."""
    return person.email or f"{person.username}@{principal.tenant.domain}"


async def routing(request: Request[Any, Any, Any], principal: Principal, person: Person) -> Routing:
    """The person's forwards and sender lists; the context admin has no mailbox (as
    the OX API says), and an address outside the tenant's domains has no forwards."""
    services = kit.services_of(request)
    address = address_of(person, principal)
    if roles.SERVER_ADMIN in person.roles:
        return Routing(address, unavailable="The server admin has no mailbox, so no mail routing.")
    lists = {
        which: await services.sender_lists.patterns(principal, person.id, which) for which in LISTS
    }
    try:
        found = await services.forwards.exists(principal, address)
        forwards = await services.forwards.recipients(principal, address) if found else []
    except DomainError as exc:
        return Routing(address, lists=lists, unavailable=web.message(exc))
    return Routing(address, forwards, lists)


async def refused_on_person_page(
    request: Request[Any, Any, Any], principal: Principal, username: str, exc: DomainError
) -> Response[Any]:
    """The person's page again, saying why a change was refused."""
    person = await kit.services_of(request).people.get(principal, username)
    mail = await routing(request, principal, person)
    context = {"person": person, "mail": mail, "error": web.message(exc)}
    return web.render(request, "person.html", context, web.status(exc))


def _at(username: str, notice: str) -> str:
    return f"{web.BASE}/people/{quote(username, safe='@')}?notice={notice}#mail-h"


async def _change(
    request: Request[Any, Any, Any], username: str, principal: Principal, notice: str, change: Any
) -> Response[Any]:
    try:
        await change()
    except DomainError as exc:
        return await refused_on_person_page(request, principal, username, exc)
    return web.go(_at(username, notice))


def _which(value: str) -> str:
    if value not in LISTS:
        raise kit.Malformed("list", f"must be one of {', '.join(LISTS)}")
    return value


@post("/people/{username:str}/forwards", status_code=303)
async def add_forward(
    request: Request[Any, Any, Any], username: FromPath[str], principal: NamedDependency[Principal]
) -> Response[Any]:
    form = await posted(request)
    services = kit.services_of(request)

    async def change() -> None:
        person = await services.people.get(principal, username)
        recipient = form.required("recipient", 320)
        await services.forwards.add(principal, address_of(person, principal), [recipient])

    return await _change(request, username, principal, "forward-added", change)


@post("/people/{username:str}/forwards/remove", status_code=303)
async def remove_forward(
    request: Request[Any, Any, Any], username: FromPath[str], principal: NamedDependency[Principal]
) -> Response[Any]:
    form = await posted(request)
    services = kit.services_of(request)

    async def change() -> None:
        person = await services.people.get(principal, username)
        recipient = form.required("recipient", 320)
        alias = address_of(person, principal)
        await services.forwards.delete_recipient(principal, alias, recipient)

    return await _change(request, username, principal, "forward-removed", change)


@post("/people/{username:str}/senders", status_code=303)
async def add_sender(
    request: Request[Any, Any, Any], username: FromPath[str], principal: NamedDependency[Principal]
) -> Response[Any]:
    form = await posted(request)
    services = kit.services_of(request)

    async def change() -> None:
        person = await services.people.get(principal, username)
        which = _which(form.required("list", 5))
        await services.sender_lists.add(principal, person.id, which, form.required("pattern", 320))

    return await _change(request, username, principal, "sender-added", change)


@post("/people/{username:str}/senders/remove", status_code=303)
async def remove_sender(
    request: Request[Any, Any, Any], username: FromPath[str], principal: NamedDependency[Principal]
) -> Response[Any]:
    form = await posted(request)
    services = kit.services_of(request)

    async def change() -> None:
        person = await services.people.get(principal, username)
        which = _which(form.required("list", 5))
        await services.sender_lists.remove(
            principal, person.id, which, form.required("pattern", 320)
        )

    return await _change(request, username, principal, "sender-removed", change)


ROUTES = [add_forward, remove_forward, add_sender, remove_sender]
