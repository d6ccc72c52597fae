"""`/groups` and `/users/{username}/groups` (contract §4.1, §4.2).

Deliberate differences from the plugin, which answers these with a bare 500: a group
body without `admins` or `members` is a 400 naming the list, and adding someone to a
missing group creates it (the plugin's documented behaviour). Removing a user from a
group also takes away their admin seat, so the group leaves their list.
A group name may hold a `/` (sent as `%2F`), so it is taken as the path's tail.
Townhall adds optional `start`/`limit` paging to GET /groups, with the total in
`X-Total-Count`.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, post, put, route
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.params import FromPath

from townhall.domain.errors import Invalid
from townhall.domain.models import Group
from townhall.domain.principal import Principal
from townhall.services.groups import GroupService, GroupSpec

from ..documents import wire
from .entities import GROUP, GROUP_BODY, GROUPS, USER_GROUPS
from .http import PAGE_PARAMS, OpenfireError, bare, paging, read, respond, tail

AnyRequest = Request[Any, Any, Any]


def _summary(group: Group) -> dict[str, Any]:
    # The plugin's list never computes the flag: it always says false.
    return {"name": group.name, "description": group.description, "shared": False}


def _detail(group: Group) -> dict[str, Any]:
    return {
        "name": group.name,
        "description": group.description,
        "admins": group.admins,
        "members": group.members,
        "shared": group.shared,
    }


async def _group_body(request: AnyRequest, action: str, path_name: str | None) -> dict[str, Any]:
    """The body, checked in the plugin's order: a name, the path's name, then the lists."""
    body: dict[str, Any] = await read(request, GROUP)
    name = body.get("name")
    if not name:
        raise OpenfireError(
            400, "IllegalArgumentException", f"Could not {action} new group", "groups"
        )
    if path_name is not None and name != path_name:
        raise OpenfireError(
            400,
            "IllegalArgumentException",
            "Could not update the group. The group name is different to the payload group name.",
            f"{path_name} != {name}",
        )
    for field in ("admins", "members"):
        if body.get(field) is None:
            raise OpenfireError(
                400, "IllegalArgumentException", f"The group needs a list of {field}", field
            )
    return body


def _spec(name: str, body: dict[str, Any]) -> GroupSpec:
    return GroupSpec(
        name, body.get("description"), bool(body.get("shared")), body["admins"], body["members"]
    )


@get("/groups", opt=wire(params=PAGE_PARAMS, answers={200: GROUPS}))
async def list_groups(
    request: AnyRequest,
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    offset, limit = paging(request)
    found, total = await groups.list_groups(principal, offset, limit)
    return respond(request, GROUPS, [_summary(g) for g in found], {"X-Total-Count": str(total)})


@post("/groups", status_code=201, opt=wire(GROUP_BODY, answers={201: None}))
async def create_group(
    request: AnyRequest,
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    body = await _group_body(request, "create", None)
    try:
        await groups.create(principal, _spec(body["name"], body))
    except Invalid as exc:
        if exc.field != "group_name":
            raise
        # The plugin reports a name its store refuses as a duplicate.
        raise OpenfireError(
            409, "GroupAlreadyExistsException", "Could not create a group", body["name"]
        ) from None
    return bare(201)


@get("/groups/{segment:path}", opt=wire(answers={200: GROUP}))
async def get_group(
    request: AnyRequest,
    segment: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return respond(request, GROUP, _detail(await groups.get(principal, tail(segment))))


@put("/groups/{segment:path}", opt=wire(GROUP_BODY, answers={200: None}))
async def update_group(
    request: AnyRequest,
    segment: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    name = tail(segment)
    body = await _group_body(request, "update", name)
    await groups.update(principal, _spec(name, body))
    return bare(200)


@delete("/groups/{segment:path}", status_code=200, opt=wire(answers={200: None}))
async def delete_group(
    segment: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await groups.delete(principal, tail(segment))
    return bare(200)


@get("/users/{username:str}/groups", opt=wire(answers={200: USER_GROUPS}))
async def user_groups(
    request: AnyRequest,
    username: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return respond(request, USER_GROUPS, await groups.user_groups(principal, username))


JOIN_OR_LEAVE = {201: None, 200: None}
"""POST joins (201), DELETE leaves (200)."""


@route(
    "/users/{username:str}/groups",
    http_method=[HttpMethod.POST, HttpMethod.DELETE],
    opt=wire(USER_GROUPS, answers=JOIN_OR_LEAVE),
)
async def membership(
    request: AnyRequest,
    username: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """POST joins the groups the body names (201), DELETE leaves them (200)."""
    named: list[str] = await read(request, USER_GROUPS)
    return await _join_or_leave(request, groups, principal, username, named)


@route(
    "/users/{username:str}/groups/{segment:path}",
    http_method=[HttpMethod.POST, HttpMethod.DELETE],
    opt=wire(answers=JOIN_OR_LEAVE),
)
async def membership_of_one(
    request: AnyRequest,
    username: FromPath[str],
    segment: FromPath[str],
    groups: NamedDependency[GroupService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """POST joins the group the path names (201), DELETE leaves it (200)."""
    return await _join_or_leave(request, groups, principal, username, [tail(segment)])


async def _join_or_leave(
    request: AnyRequest,
    groups: GroupService,
    principal: Principal,
    username: str,
    named: list[str],
) -> Response[bytes]:
    if request.method == HttpMethod.POST:
        await groups.add_user_to_groups(principal, username, named)
        return bare(201)
    await groups.remove_user_from_groups(principal, username, named)
    return bare(200)


router = Router(
    path="/",
    route_handlers=[
        list_groups,
        create_group,
        get_group,
        update_group,
        delete_group,
        user_groups,
        membership,
        membership_of_one,
    ],
)
