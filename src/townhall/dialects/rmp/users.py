"""`/users`: the tenant's people (and, on request, its resource accounts).

A person's address is `username@<a person domain of the tenant>`; the same account is
an Openfire user and a Symphony user. Preferences live in the person's properties under
`rmp.` keys, so every API sees the same values. Each request is one call of the people
service: a person and its admin rights are created, or changed, together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from litestar import Response, Router, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from townhall.domain.errors import Invalid
from townhall.domain.models import Person, Resource
from townhall.domain.principal import Principal
from townhall.domain.queries import PersonFilter, ResourceQuery
from townhall.services.calendars import CalendarService
from townhall.services.domains import DomainService
from townhall.services.people import NewPerson, PeopleService, PersonChanges
from townhall.services.resources import ResourceService

from .. import kit
from ..documents import Param, wire
from .domains import render_settings
from .http import (
    BEFORE_PASSWORD_CHANGE,
    PAGE_PARAMS,
    AnyRequest,
    RmpError,
    body,
    ok,
    page,
    require_admin_of,
)
from .models import CreateUser, ResetPassword, UpdateUser

PREFERENCES = ("timezone", "language", "dateFormat")
PROPERTY = "rmp.{}"


class UserWire(TypedDict):
    email: str
    realName: str
    type: str
    hasCalendar: bool
    isAdmin: bool


class Preferences(TypedDict):
    """A person's own value, else the tenant domain's setting."""

    timezone: Any
    language: Any
    dateFormat: Any


class Quotas(TypedDict):
    mailbox: str | None
    fileStorage: str | None


class UserDetailWire(UserWire):
    settings: Preferences
    quotas: Quotas


class Users(TypedDict):
    success: bool
    users: list[UserWire]
    total: int
    page: int
    pages: int


class OneUser(TypedDict):
    success: bool
    user: UserWire


class UserDetail(TypedDict):
    success: bool
    user: UserDetailWire


class Deleted(TypedDict):
    """What DELETE answers: the account as it was (the reference shows no body)."""

    success: bool
    user: UserWire
    dataDeleted: bool


class PasswordReset(TypedDict):
    success: bool
    requireChange: bool


def _render(person: Person, domain: str, admins: set[int], holders: set[int]) -> UserWire:
    """`holders`: the people who have their calendar (`CalendarService.holders`)."""
    return {
        "email": f"{person.username}@{domain}",
        "realName": person.name,
        "type": "user",
        "hasCalendar": person.id in holders,
        "isAdmin": person.id in admins,
    }


def _render_resource(resource: Resource) -> UserWire:
    """A resource account as the user list shows it: it has a calendar, never rights."""
    return {
        "email": resource.address,
        "realName": resource.display_name,
        "type": "resource",
        "hasCalendar": True,
        "isAdmin": False,
    }


async def _person(domains: DomainService, caller: Principal, email: str) -> tuple[str, str]:
    """(username, domain) of an address in one of the caller's tenant's person domains."""
    local, at, domain = email.strip().lower().rpartition("@")
    if at and local:
        known = await domains.list(caller, (domain,))
        if known and known[0].kind != "resource-subdomain":
            return local, domain
    raise RmpError(404, "NOT_FOUND", f"user {email} not found", {"user": email})


@dataclass(frozen=True, slots=True)
class Administered:
    """The person a `/users/{email}` change addresses: `username` in the model, `domain`
    as the address names it. Whether the caller may change the person is the people
    service's rule (the person's home domain and rights), not the address's: an alias
    address names the same person."""

    username: str
    domain: str


async def _administered(
    email: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Administered:
    username, domain = await _person(domains, principal, email)
    return Administered(username, domain)


ADMINISTERED = {"target": Provide(_administered)}


def _preferences(settings: dict[str, Any] | None) -> dict[str, str | None]:
    """The properties that hold the preferences asked for."""
    for key, value in (settings or {}).items():
        if key not in PREFERENCES:
            raise kit.Malformed(key, "is not a setting")
        if not isinstance(value, str):
            raise kit.Malformed(key, "must be a string")
    return {PROPERTY.format(k): v for k, v in (settings or {}).items()}


@get(
    "/users",
    opt=wire(
        params=(
            Param("domain", description="a person domain of the tenant (default: its own)"),
            Param("search"),
            *PAGE_PARAMS,
            Param("includeResources", bool),
        ),
        answers={200: Users},
    ),
)
async def list_users(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    domains: NamedDependency[DomainService],
    resources: NamedDependency[ResourceService],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    domain = query.get("domain") or principal.tenant.domain
    await _person(domains, principal, f"x@{domain}")
    at = page(request, default_limit=100)
    with_resources = kit.boolean(query.get("includeResources"), "includeResources", False)
    text = query.get("search") or None
    found, total = await people.search(principal, PersonFilter(text=text), at.offset, at.limit)
    admins = await domains.admin_ids(principal)
    holders = await calendars.holders(principal, [person.id for person in found])
    listed = [_render(person, domain, admins, holders) for person in found]
    if with_resources:  # the people first, then the resource accounts, one paged list
        wanted = ResourceQuery(text=text, parent_domain=domain)
        skip = max(0, at.offset - total)
        room_for = at.limit - len(listed)
        rooms, more = await resources.list(principal, wanted, skip, max(room_for, 1))
        listed += [_render_resource(room) for room in rooms][:room_for]
        total += more
    return ok(users=listed, **at.answer(total))


@get("/users/{email:str}", opt=wire(answers={200: UserDetail}))
async def user_detail(
    request: AnyRequest,
    email: FromPath[str],
    people: NamedDependency[PeopleService],
    domains: NamedDependency[DomainService],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    username, domain = await _person(domains, principal, email)
    if principal.username != username:
        require_admin_of(request, domain)
    person = await people.get(principal, username)
    defaults = render_settings(await domains.defaults(principal))
    admins = await domains.admin_ids(principal)
    holders = await calendars.holders(principal, [person.id])
    return ok(user=_detail(person, domain, admins, holders, defaults))


def _detail(
    person: Person, domain: str, admins: set[int], holders: set[int], defaults: dict[str, Any]
) -> UserDetailWire:
    props = person.properties

    def preference(key: str) -> Any:
        return props.get(PROPERTY.format(key), defaults[key])

    def quota(key: str) -> str | None:
        return props.get(PROPERTY.format(f"quota.{key}"), "unlimited")

    return {
        **_render(person, domain, admins, holders),
        "settings": {
            "timezone": preference("timezone"),
            "language": preference("language"),
            "dateFormat": preference("dateFormat"),
        },
        "quotas": {"mailbox": quota("mailbox"), "fileStorage": quota("fileStorage")},
    }


@post("/users", status_code=201, opt=wire(CreateUser, answers={201: OneUser}))
async def create_user(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    domains: NamedDependency[DomainService],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, CreateUser)
    try:
        username, domain = await _person(domains, principal, asked.email)
    except RmpError:  # a new account's address is input to check, not a thing to find
        raise kit.Malformed(
            "email", "must be an address in one of the tenant's person domains"
        ) from None
    new = NewPerson(
        username,
        asked.password,
        name=asked.real_name,
        email=f"{username}@{domain}",
        admin_of=(domain,) if asked.is_admin else (),
        home_domain=domain,
        calendar=asked.create_calendar,
    )
    person = await people.create(principal, new)
    holders = await calendars.holders(principal, [person.id])
    return ok(201, user=_render(person, domain, await domains.admin_ids(principal), holders))


@put(
    "/users/{email:str}",
    dependencies=ADMINISTERED,
    opt=wire(UpdateUser, answers={200: OneUser}),
)
async def update_user(
    request: AnyRequest,
    target: NamedDependency[Administered],
    people: NamedDependency[PeopleService],
    domains: NamedDependency[DomainService],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    username, domain = target.username, target.domain
    asked = await body(request, UpdateUser)
    changes = PersonChanges(
        password=asked.password,
        name=asked.real_name,
        property_updates=_preferences(asked.settings),
        admin_of={} if asked.is_admin is None else {domain: asked.is_admin},
    )
    person = await people.update(principal, username, changes)
    holders = await calendars.holders(principal, [person.id])
    return ok(user=_render(person, domain, await domains.admin_ids(principal), holders))


@delete(
    "/users/{email:str}",
    status_code=200,
    dependencies=ADMINISTERED,
    opt=wire(params=(Param("deleteData", bool),), answers={200: Deleted}),
)
async def delete_user(
    request: AnyRequest,
    target: NamedDependency[Administered],
    people: NamedDependency[PeopleService],
    domains: NamedDependency[DomainService],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Answers the account as it was just before it went (its rights and calendar then)."""
    delete_data = kit.boolean(request.query_params.get("deleteData"), "deleteData", False)
    admins = await domains.admin_ids(principal)
    before = await people.get(principal, target.username)
    holders = await calendars.holders(principal, [before.id])
    gone = await people.delete(principal, target.username, with_bookings=delete_data)
    return ok(user=_render(gone, target.domain, admins, holders), dataDeleted=delete_data)


async def _own_or_administered(
    request: AnyRequest,
    email: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Administered:
    """As `_administered`, but a person told to change their password may address
    themselves (only then: a stolen token must not be enough to take an account)."""
    username, domain = await _person(domains, principal, email)
    if not (principal.must_change_password and username == principal.username):
        require_admin_of(request, domain)
    return Administered(username, domain)


@post(
    "/users/{email:str}/password",
    status_code=200,
    dependencies={"target": Provide(_own_or_administered)},
    opt={BEFORE_PASSWORD_CHANGE: True, **wire(ResetPassword, answers={200: PasswordReset})},
)
async def reset_password(
    request: AnyRequest,
    target: NamedDependency[Administered],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, ResetPassword)
    if not asked.new_password:
        raise kit.Malformed("newPassword", "must not be empty")
    changes = PersonChanges(
        password=asked.new_password, require_password_change=asked.require_change
    )
    try:
        await people.update(principal, target.username, changes)
    except Invalid as exc:
        if exc.field != "password":
            raise
        raise kit.Malformed("newPassword", exc.reason) from None
    return ok(requireChange=asked.require_change)


router = Router(
    path="/",
    route_handlers=[list_users, user_detail, create_user, update_user, delete_user, reset_password],
)
