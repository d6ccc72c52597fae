"""Groups and their members (Openfire's groups, RMP's server groups: the same groups).

The group service leaves who may change groups to its callers (every API that changes
groups asks for a server admin), so these pages do too (`web.server_admins_only`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.errors import DomainError
from townhall.domain.principal import Principal
from townhall.services.groups import GroupService, GroupSpec

from . import web
from .forms import posted, query

PAGE = 50


def _at(name: str) -> str:
    return f"{web.BASE}/groups/{quote(name, safe='')}"


@get("/groups", name="console:groups")
async def groups_page(
    request: Request[Any, Any, Any],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    asked = query(request)
    page = asked.page()
    found, total = await groups.list_groups(principal, (page - 1) * PAGE, PAGE)
    context = {
        "groups": found,
        "page": page,
        "pages": max(1, -(-total // PAGE)),
        "total": total,
        "notice": asked.text("notice", limit=300),
        "form": {},
    }
    return web.render(request, "groups.html", context)


@post("/groups", status_code=303)
async def create_group(
    request: Request[Any, Any, Any],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)
    try:
        name = form.required("name", 200)
        spec = GroupSpec(name=name, description=form.text("description", limit=1024) or None)
        await groups.create(principal, spec)
    except DomainError as exc:
        found, total = await groups.list_groups(principal, 0, PAGE)
        context = {
            "groups": found,
            "page": 1,
            "pages": max(1, -(-total // PAGE)),
            "total": total,
            "form": form.values,
            "error": web.message(exc),
        }
        return web.render(request, "groups.html", context, web.status(exc))
    return web.go(_at(name) + "?notice=created")


@get("/groups/{name:str}")
async def group_page(
    request: Request[Any, Any, Any],
    name: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    group = await groups.get(principal, name)
    done = query(request).text("notice", limit=40)
    return web.render(request, "group.html", {"group": group, "done": done})


async def _member_change(
    request: Request[Any, Any, Any],
    name: str,
    groups: GroupService,
    principal: Principal,
    joining: bool,
) -> Response[Any]:
    form = await posted(request)
    try:
        member = form.required("member", 3071)
        if joining:
            await groups.add_user_to_groups(principal, member, [name])
        else:
            await groups.remove_user_from_groups(principal, member, [name])
    except DomainError as exc:
        group = await groups.get(principal, name)
        context = {"group": group, "error": web.message(exc)}
        return web.render(request, "group.html", context, web.status(exc))
    return web.go(_at(name) + ("?notice=added" if joining else "?notice=removed"))


@post("/groups/{name:str}/members", status_code=303)
async def add_member(
    request: Request[Any, Any, Any],
    name: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    await groups.get(principal, name)  # an unknown group is not created by joining it
    return await _member_change(request, name, groups, principal, True)


@post("/groups/{name:str}/members/remove", status_code=303)
async def remove_member(
    request: Request[Any, Any, Any],
    name: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    return await _member_change(request, name, groups, principal, False)


@post("/groups/{name:str}/delete", status_code=303)
async def delete_group(
    request: Request[Any, Any, Any],
    name: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    try:
        await groups.delete(principal, name)
    except DomainError as exc:
        group = await groups.get(principal, name)
        context = {"group": group, "error": web.message(exc)}
        return web.render(request, "group.html", context, web.status(exc))
    return web.go(f"{web.BASE}/groups?notice={quote(name + ' deleted')}")


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            groups_page,
            create_group,
            group_page,
            add_member,
            remove_member,
            delete_group,
        ],
        guards=[web.server_admins_only],
    )
