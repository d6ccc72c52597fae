"""People: search, page, create, edit, lock, reset a password, delete.

Everyone of the tenant is listed, whichever API made them: the console reads and
changes people through the one people service, so each change is audited and
published exactly as the APIs' are, and the same rules (who may change whom, the last
admin stays) hold.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.errors import DomainError
from townhall.domain.principal import Principal
from townhall.domain.queries import PersonFilter
from townhall.services.people import NewPerson, PeopleService, PersonChanges

from . import web
from .forms import posted, query
from .mail import refused_on_person_page, routing

PAGE = 25


def _at(username: str) -> str:
    return f"{web.BASE}/people/{quote(username, safe='@')}"


@get("/people", name="console:people")
async def people_page(
    request: Request[Any, Any, Any],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    """The list, searched by username, name or e-mail; an htmx search asks for the
    table only."""
    asked = query(request)
    text = asked.text("q", limit=256)
    page = asked.page()
    found, total = await people.search(
        principal, PersonFilter(text=text or None), (page - 1) * PAGE, PAGE
    )
    context = {
        "people": found,
        "q": text,
        "page": page,
        "pages": max(1, -(-total // PAGE)),
        "total": total,
        "notice": asked.text("notice", limit=200),
    }
    partial = request.headers.get("hx-target") == "people-table"
    return web.render(request, "people_table.html" if partial else "people.html", context)


@get("/people/new")
async def new_person_page(request: Request[Any, Any, Any]) -> Response[Any]:
    return web.render(request, "person_new.html", {"form": {}})


@post("/people", status_code=303)
async def create_person(
    request: Request[Any, Any, Any],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)
    try:
        made = await people.create(
            principal,
            NewPerson(
                username=form.required("username", 256),
                password=form.text("password", limit=1024) or None,
                name=form.text("name", limit=1024),
                email=form.text("email", limit=320) or None,
            ),
        )
    except DomainError as exc:
        context = {"form": form.values, "error": web.message(exc)}
        return web.render(request, "person_new.html", context, web.status(exc))
    return web.go(_at(made.username) + "?notice=created")


@get("/people/{username:str}")
async def person_page(
    request: Request[Any, Any, Any],
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    person = await people.get(principal, username)
    done = query(request).text("notice", limit=40)
    mail = await routing(request, principal, person)
    return web.render(request, "person.html", {"person": person, "done": done, "mail": mail})


async def _change(
    request: Request[Any, Any, Any],
    people: PeopleService,
    principal: Principal,
    username: str,
    notice: str,
    change: Any,
) -> Response[Any]:
    """Run one change; on a refusal show the person again with the reason."""
    try:
        await change()
    except DomainError as exc:
        return await refused_on_person_page(request, principal, username, exc)
    return web.go(_at(username) + f"?notice={notice}")


@post("/people/{username:str}", status_code=303)
async def edit_person(
    request: Request[Any, Any, Any],
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)

    async def change() -> None:
        changes = PersonChanges(
            name=form.text("name", limit=1024), email=form.text("email", limit=320)
        )
        await people.update(principal, username, changes)

    return await _change(request, people, principal, username, "saved", change)


@post("/people/{username:str}/lock", status_code=303)
async def lock_person(
    request: Request[Any, Any, Any],
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)
    locked = form.text("locked", limit=5) == "true"

    async def change() -> None:
        await people.set_locked(principal, username, locked)

    notice = "locked" if locked else "unlocked"
    return await _change(request, people, principal, username, notice, change)


@post("/people/{username:str}/password", status_code=303)
async def reset_password(
    request: Request[Any, Any, Any],
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)

    async def change() -> None:
        changes = PersonChanges(
            password=form.required("password", 1024),
            require_password_change=form.flag("must_change"),
        )
        await people.update(principal, username, changes)

    return await _change(request, people, principal, username, "password", change)


@post("/people/{username:str}/delete", status_code=303)
async def delete_person(
    request: Request[Any, Any, Any],
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    try:
        gone = await people.delete(principal, username)
    except DomainError as exc:
        return await refused_on_person_page(request, principal, username, exc)
    return web.go(f"{web.BASE}/people?notice={quote(gone.username + ' deleted')}")


ROUTES = [
    people_page,
    new_person_page,
    create_person,
    person_page,
    edit_person,
    lock_person,
    reset_password,
    delete_person,
]
