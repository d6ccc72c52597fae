"""`/groups` and `/users/{username}/groups` (contract §4.1, §4.2)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, post, put

from townhall.domain.models import Group

from .entities import GROUP, GROUPS, USER_GROUPS
from .http import OpenfireError, actor, bare, read, respond, services, worded

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


async def _group_body(request: AnyRequest, action: str) -> dict[str, Any]:
    body: dict[str, Any] = await read(request, GROUP)
    if not body.get("name"):
        raise OpenfireError(
            400, "IllegalArgumentException", f"Could not {action} new group", "groups"
        )
    for field in ("admins", "members"):
        if body.get(field) is None:  # the plugin fails with a 500 here; name the field instead
            raise OpenfireError(
                400, "IllegalArgumentException", f"The group needs a list of {field}", field
            )
    return body


@get("/groups")
async def list_groups(request: AnyRequest) -> Response[bytes]:
    found = await services(request).groups.list_groups(actor(request))
    return respond(request, GROUPS, [_summary(g) for g in found])


@post("/groups", status_code=201)
async def create_group(request: AnyRequest) -> Response[bytes]:
    body = await _group_body(request, "create")
    with worded(AlreadyExists="Could not create a group"):
        await services(request).groups.create(
            actor(request),
            body["name"],
            body.get("description"),
            bool(body.get("shared")),
            body["admins"],
            body["members"],
        )
    return bare(201)


@get("/groups/{name:str}")
async def get_group(request: AnyRequest, name: str) -> Response[bytes]:
    group = await services(request).groups.get(actor(request), name)
    return respond(request, GROUP, _detail(group))


@put("/groups/{name:str}")
async def update_group(request: AnyRequest, name: str) -> Response[bytes]:
    body = await _group_body(request, "update")
    if body["name"] != name:
        raise OpenfireError(
            400,
            "IllegalArgumentException",
            "Could not update the group. The group name is different to the payload group name.",
            f"{name} != {body['name']}",
        )
    await services(request).groups.update(
        actor(request),
        name,
        body.get("description"),
        bool(body.get("shared")),
        body["admins"],
        body["members"],
    )
    return bare(200)


@delete("/groups/{name:str}", status_code=200)
async def delete_group(request: AnyRequest, name: str) -> Response[bytes]:
    await services(request).groups.delete(actor(request), name)
    return bare(200)


@get("/users/{username:str}/groups")
async def user_groups(request: AnyRequest, username: str) -> Response[bytes]:
    found = await services(request).groups.user_groups(actor(request), username)
    return respond(request, USER_GROUPS, found)


@post("/users/{username:str}/groups", status_code=201)
async def join_groups(request: AnyRequest, username: str) -> Response[bytes]:
    wanted: list[str] = await read(request, USER_GROUPS)
    await services(request).groups.add_user_to_groups(actor(request), username, wanted)
    return bare(201)


@post("/users/{username:str}/groups/{group:str}", status_code=201)
async def join_group(request: AnyRequest, username: str, group: str) -> Response[bytes]:
    await services(request).groups.add_user_to_groups(actor(request), username, [group])
    return bare(201)


@delete("/users/{username:str}/groups", status_code=200)
async def leave_groups(request: AnyRequest, username: str) -> Response[bytes]:
    wanted: list[str] = await read(request, USER_GROUPS)
    await services(request).groups.remove_user_from_groups(actor(request), username, wanted)
    return bare(200)


@delete("/users/{username:str}/groups/{group:str}", status_code=200)
async def leave_group(request: AnyRequest, username: str, group: str) -> Response[bytes]:
    await services(request).groups.remove_user_from_groups(actor(request), username, [group])
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
        join_groups,
        join_group,
        leave_groups,
        leave_group,
    ],
)
