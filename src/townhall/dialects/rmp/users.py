"""`/users`: the tenant's people (and, on request, its resource accounts).

A person's address is `username@<a person domain of the tenant>`; the same account is
an Openfire user and a Symphony user. Preferences live in the user's properties under
`rmp.` keys, so every dialect sees the same values.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, delete, get, post, put

from townhall.domain.models import Resource, User
from townhall.domain.queries import ResourceQuery, UserFilter
from townhall.services.base import Actor
from townhall.services.users import UserChanges

from .http import (
    AnyRequest,
    RmpError,
    actor,
    body,
    flag,
    number,
    ok,
    require_admin_of,
    services,
    session,
)
from .models import CreateUser, ResetPassword, UpdateUser

PREFERENCES = ("timezone", "language", "dateFormat")
QUOTAS = ("mailbox", "fileStorage")
PROPERTY = "rmp.{}"
CHANGE_REQUIRED = "rmp.passwordChangeRequired"


def _render(user: User, domain: str, admins: set[int]) -> dict[str, Any]:
    return {
        "email": f"{user.username}@{domain}",
        "realName": user.name,
        "type": "user",
        "hasCalendar": True,
        "isAdmin": user.id in admins,
    }


async def _administered(request: AnyRequest, email: str) -> tuple[Actor, str, str]:
    """(caller, username, domain) if the caller may administer the person at `email`.

    People belong to the whole tenant, so a domain admin could otherwise reach a server
    admin through any domain it administers: server admins are left to server admins."""
    username, domain = await _person(request, email)
    caller = require_admin_of(request, domain)
    svc = services(request)
    if not session(request).is_server_admin and await svc.domains.is_server_admin(caller, username):
        raise RmpError(403, "FORBIDDEN", "Only a server administrator may change another")
    return caller, username, domain


async def _person(request: AnyRequest, email: str) -> tuple[str, str]:
    """(username, domain) of an address in one of the caller's tenant's person domains."""
    local, at, domain = email.strip().lower().rpartition("@")
    if at and local:
        known = await services(request).domains.list(actor(request), (domain,))
        if known and known[0].kind != "resource-subdomain":
            return local, domain
    raise RmpError(404, "NOT_FOUND", f"user {email} not found", {"user": email})


@get("/users")
async def list_users(request: AnyRequest) -> Response[bytes]:
    svc, caller = services(request), actor(request)
    query = request.query_params
    domain = query.get("domain") or caller.tenant.domain
    await _person(request, f"x@{domain}")
    limit = number(query.get("limit"), "limit", 100, 1, 500)
    text = query.get("search") or None
    found, total = await svc.users.list(caller, UserFilter(text=text), 0, limit)
    admins = await svc.domains.admin_ids(caller)
    people = [_render(user, domain, admins) for user in found]
    if flag(query.get("includeResources"), "includeResources", False):
        wanted = ResourceQuery(text=text, parent_domain=domain)
        rooms, more = await svc.resources.list(caller, wanted, 0, limit)
        people += [_render_resource(room) for room in rooms][: limit - len(people)]
        total += more
    return ok(users=people, total=total)


def _render_resource(resource: Resource) -> dict[str, Any]:
    """A resource account as the user list shows it: it has a calendar, never rights."""
    return {
        "email": resource.address,
        "realName": resource.display_name,
        "type": "resource",
        "hasCalendar": True,
        "isAdmin": False,
    }


@get("/users/{email:str}")
async def user_detail(request: AnyRequest, email: str) -> Response[bytes]:
    username, domain = await _person(request, email)
    found = session(request)
    if found.actor.username != username:
        require_admin_of(request, domain)
    svc, caller = services(request), found.actor
    user = await svc.users.get(caller, username)
    defaults = await svc.domains.settings(caller, caller.tenant.domain)
    rendered = _render(user, domain, await svc.domains.admin_ids(caller))
    props = user.properties
    rendered["settings"] = {k: props.get(PROPERTY.format(k), defaults[k]) for k in PREFERENCES}
    rendered["quotas"] = {k: props.get(PROPERTY.format(f"quota.{k}"), "unlimited") for k in QUOTAS}
    return ok(user=rendered)


@post("/users", status_code=201)
async def create_user(request: AnyRequest) -> Response[bytes]:
    asked = await body(request, CreateUser)
    username, domain = await _person(request, asked.email)
    caller = require_admin_of(request, domain)
    svc = services(request)
    user = await svc.users.create(
        caller, username, asked.password, name=asked.real_name, email=f"{username}@{domain}"
    )
    if asked.is_admin:
        await svc.domains.set_admin(caller, domain, username, True)
    return ok(201, user=_render(user, domain, await svc.domains.admin_ids(caller)))


@put("/users/{email:str}")
async def update_user(request: AnyRequest, email: str) -> Response[bytes]:
    caller, username, domain = await _administered(request, email)
    asked = await body(request, UpdateUser)
    svc = services(request)
    properties = await _preferences(svc.users.get, caller, username, asked.settings)
    changes = UserChanges(password=asked.password, name=asked.real_name, properties=properties)
    await svc.users.update(caller, username, changes)
    if asked.is_admin is not None:
        await svc.domains.set_admin(caller, domain, username, asked.is_admin)
    user = await svc.users.get(caller, username)
    return ok(user=_render(user, domain, await svc.domains.admin_ids(caller)))


async def _preferences(
    get_user: Any, caller: Actor, username: str, settings: dict[str, Any] | None
) -> dict[str, str | None] | None:
    """The user's properties with the preferences changed, or None if none are."""
    if settings is None:
        return None
    for key, value in settings.items():
        if key not in PREFERENCES:
            raise RmpError(400, "INVALID_INPUT", f"unknown setting {key}", {"field": key})
        if not isinstance(value, str):
            raise RmpError(400, "INVALID_INPUT", f"{key} must be a string", {"field": key})
    user = await get_user(caller, username)
    merged: dict[str, str | None] = dict(user.properties)
    merged.update({PROPERTY.format(k): v for k, v in settings.items()})
    return merged


@delete("/users/{email:str}", status_code=200)
async def delete_user(request: AnyRequest, email: str) -> Response[bytes]:
    caller, username, domain = await _administered(request, email)
    delete_data = flag(request.query_params.get("deleteData"), "deleteData", False)
    await services(request).users.delete(caller, username, with_bookings=delete_data)
    return ok(deleted=f"{username}@{domain}", dataDeleted=delete_data)


@post("/users/{email:str}/password", status_code=200)
async def reset_password(request: AnyRequest, email: str) -> Response[bytes]:
    caller, username, _ = await _administered(request, email)
    asked = await body(request, ResetPassword)
    if not asked.new_password:
        raise RmpError(
            400, "INVALID_INPUT", "newPassword must not be empty", {"field": "newPassword"}
        )
    svc = services(request)
    user = await svc.users.get(caller, username)
    properties: dict[str, str | None] = dict(user.properties)
    properties[CHANGE_REQUIRED] = "true" if asked.require_change else None
    await svc.users.update(
        caller, username, UserChanges(password=asked.new_password, properties=properties)
    )
    return ok(requireChange=asked.require_change)


router = Router(
    path="/",
    route_handlers=[list_users, user_detail, create_user, update_user, delete_user, reset_password],
)
