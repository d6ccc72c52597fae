"""`/admin/contexts/{contextid}/users...`: a person's provisioning and mail attributes,
the users of a context, and the brand that owns it (contracts/oxaas.md, Routes).

An OX user is a person of the context's tenant: `user-id` is the person's id (the number
Symphony calls uid), `uidname` the login name. OX's msisdn is the person's mobile number;
the mail attributes are the person's mailbox settings (docs/ox-mapping.md).
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from litestar import Response, Router, delete, get, post, put
from litestar.di import NamedDependency

from townhall.domain import roles
from townhall.domain.models import Person
from townhall.domain.principal import Principal
from townhall.domain.queries import PersonFilter
from townhall.services.brands import BrandService
from townhall.services.mailboxes import MailboxService, MailSettings
from townhall.services.people import PeopleService, PersonChanges

from .. import kit
from ..documents import Param, wire
from .http import AnyRequest, OxError, context_admin, number, ok

UserData = TypedDict(
    "UserData",
    {
        "context-id": int,
        "user-id": int,
        "uidname": str,
        "msisdn": NotRequired[str],
        "oxdeliverystatus": NotRequired[str],
        "oxlegacyref": NotRequired[str],
        "custom": NotRequired[list[str]],
        "classofservice": NotRequired[list[str]],
        "spamlevel": NotRequired[str],
        "antivirus": NotRequired[bool],
        "oxantiphishing": NotRequired[str],
        "quotamode": NotRequired[str],
    },
)

PROFILE = {
    "msisdn": "mobile_phone",
    "oxdeliverystatus": "delivery_status",
    "oxlegacyref": "legacy_ref",
}
"""OX's single-valued person attributes and the profile fields they are."""
LISTS = {"custom": "custom_ids", "classofservice": "class_of_service"}
MAILBOX = {
    "spamlevel": "spam_level",
    "antivirus": "antivirus",
    "oxantiphishing": "anti_phishing",
    "quotamode": "quota_mode",
}
USER = "/admin/contexts/{contextid:str}/users/{userid:str}"


def user_data(person: Person, mail: MailSettings) -> UserData:
    """UserData: the ids and every attribute that is set."""
    data: dict[str, Any] = {
        "context-id": person.tenant_id,
        "user-id": person.id,
        "uidname": person.username,
    }
    for name, field in PROFILE.items():
        if person.profile.get(field) is not None:
            data[name] = person.profile[field]
    for name, field in LISTS.items():
        if person.profile_lists.get(field):
            data[name] = list(person.profile_lists[field] or ())
    for name, field in MAILBOX.items():
        if getattr(mail, field) is not None:
            data[name] = getattr(mail, field)
    return data  # type: ignore[return-value]


async def _person(request: AnyRequest, people: PeopleService, principal: Principal) -> Person:
    """The path's user, who must be a person of the path's context."""
    user_id = number(request.path_params["userid"], "userid")
    found = await people.find(principal, ids=[user_id])
    if not found:
        raise OxError(404, f"user {user_id} not found in context {principal.tenant_id}")
    return found[0]


async def _answer(
    request: AnyRequest, people: PeopleService, mailboxes: MailboxService, principal: Principal
) -> Response[bytes]:
    person = await _person(request, people, principal)
    return ok(user_data(person, await mailboxes.settings(principal, person.id)))


async def _body(request: AnyRequest) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise OxError(400, "a JSON body is required")
    parsed = kit.decode(raw, dict[str, Any])
    return parsed


def single(body: dict[str, Any], name: str) -> str:
    """A single-valued attribute: a non-empty string, or a one-element array of one."""
    value = body.get(name)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str) or not value.strip():
        raise OxError(400, f"{name} must be a non-empty string")
    return value.strip()


def strings(body: dict[str, Any], name: str) -> tuple[str, ...]:
    """A list attribute: a non-empty string or a non-empty array of non-empty strings."""
    value = body.get(name)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise OxError(400, f"{name} must be a non-empty array of strings")
    if not all(isinstance(i, str) and i.strip() for i in items):
        raise OxError(400, f"{name} must hold non-empty strings only")
    return tuple(i.strip() for i in items)


# -- the routes --------------------------------------------------------------------------


def _attribute_routes(name: str) -> list[Any]:
    """GET, PUT and DELETE of one of the person's single-valued or list attributes."""
    field = PROFILE.get(name) or LISTS[name]
    listed = name in LISTS

    async def read(
        request: AnyRequest,
        people: NamedDependency[PeopleService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        person = await _person(request, people, principal)
        if listed:
            return ok({name: list(person.profile_lists.get(field) or ())})
        return ok({name: person.profile.get(field)})

    async def change(
        request: AnyRequest,
        people: NamedDependency[PeopleService],
        mailboxes: NamedDependency[MailboxService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        body = await _body(request)
        person = await _person(request, people, principal)
        if listed:
            changes = PersonChanges(profile_lists={field: strings(body, name)})
        else:
            changes = PersonChanges(profile={field: single(body, name)})
        await people.update(principal, person.id, changes)
        return await _answer(request, people, mailboxes, principal)

    async def remove(
        request: AnyRequest,
        people: NamedDependency[PeopleService],
        mailboxes: NamedDependency[MailboxService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        person = await _person(request, people, principal)
        if listed:
            changes = PersonChanges(profile_lists={field: None})
        else:
            changes = PersonChanges(profile={field: None})
        await people.update(principal, person.id, changes)
        return await _answer(request, people, mailboxes, principal)

    path = f"{USER}/{name}"
    shape: Any = {"type": "object", "properties": {name: {"type": ["string", "array", "null"]}}}
    return [
        get(path, opt=wire(answers={200: shape}), name=f"get_{name}")(read),
        put(path, opt=wire(shape, answers={200: UserData}), name=f"put_{name}")(change),
        delete(path, status_code=200, opt=wire(answers={200: UserData}), name=f"delete_{name}")(
            remove
        ),
    ]


async def mailbox_holder(
    request: AnyRequest, people: PeopleService, principal: Principal
) -> Person:
    """The path's user, who must have a mailbox: the context's admin has none."""
    person = await _person(request, people, principal)
    if roles.SERVER_ADMIN in person.roles:
        raise OxError(400, f"user {person.id} is the context admin, who has no mailbox")
    return person


def _setting_value(body: dict[str, Any], name: str) -> Any:
    if name == "antivirus":
        value = body.get(name)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, bool):
            raise OxError(400, "antivirus must be true or false")
        return value
    return single(body, name)


def _mailbox_routes(name: str, writable: bool = True, removable: bool = False) -> list[Any]:
    """GET (and PUT, DELETE) of one mailbox setting."""
    field = MAILBOX[name]

    async def read(
        request: AnyRequest,
        people: NamedDependency[PeopleService],
        mailboxes: NamedDependency[MailboxService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        person = await mailbox_holder(request, people, principal)
        settings = await mailboxes.settings(principal, person.id)
        return ok({name: getattr(settings, field)})

    async def change(
        request: AnyRequest,
        people: NamedDependency[PeopleService],
        mailboxes: NamedDependency[MailboxService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        body = await _body(request)
        person = await mailbox_holder(request, people, principal)
        changes = MailSettings(**{field: _setting_value(body, name)})
        await mailboxes.update(principal, person.id, changes)
        return await _answer(request, people, mailboxes, principal)

    async def remove(
        request: AnyRequest,
        people: NamedDependency[PeopleService],
        mailboxes: NamedDependency[MailboxService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        person = await mailbox_holder(request, people, principal)
        await mailboxes.update(principal, person.id, MailSettings(), clear=(field,))
        return await _answer(request, people, mailboxes, principal)

    path = f"{USER}/{name}"
    kind: dict[str, Any] = {"type": ["boolean" if name == "antivirus" else "string", "null"]}
    shape = {"type": "object", "properties": {name: kind}}
    routes = [get(path, opt=wire(answers={200: shape}), name=f"get_{name}")(read)]
    if writable:
        routes.append(
            put(path, opt=wire(shape, answers={200: UserData}), name=f"put_{name}")(change)
        )
    if removable:
        routes.append(
            delete(path, status_code=200, opt=wire(answers={200: UserData}), name=f"delete_{name}")(
                remove
            )
        )
    return routes


@get(f"{USER}/uidname", opt=wire(answers={200: {"type": "object"}}))
async def get_uidname(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """The user's login name."""
    return ok({"uidname": (await _person(request, people, principal)).username})


@put(f"{USER}/uidname", opt=wire({"type": "object"}, answers={200: UserData}))
async def put_uidname(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    mailboxes: NamedDependency[MailboxService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Rename the user (their login name, in every API)."""
    body = await _body(request)
    person = await _person(request, people, principal)
    await people.update(principal, person.id, PersonChanges(username=single(body, "uidname")))
    return await _answer(request, people, mailboxes, principal)


@post(USER, status_code=200, opt=wire({"type": "object"}, answers={200: UserData}))
async def change_user(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    mailboxes: NamedDependency[MailboxService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """msisdn, oxdeliverystatus and custom at once; an empty value removes one."""
    body = await _body(request)
    unknown = sorted(set(body) - {"msisdn", "oxdeliverystatus", "custom"})
    if unknown:
        raise OxError(400, f"{unknown[0]} cannot be changed here")
    profile: dict[str, str | None] = {}
    lists: dict[str, tuple[str, ...] | None] = {}
    for name in ("msisdn", "oxdeliverystatus"):
        if name in body:
            empty = body[name] in ("", [], None)
            profile[PROFILE[name]] = None if empty else single(body, name)
    if "custom" in body:
        lists["custom_ids"] = None if body["custom"] in ("", [], None) else strings(body, "custom")
    person = await _person(request, people, principal)
    await people.update(principal, person.id, PersonChanges(profile=profile, profile_lists=lists))
    return await _answer(request, people, mailboxes, principal)


@get(
    "/admin/contexts/{contextid:str}/users",
    opt=wire(
        params=(Param("uids", description="comma-separated uid names"),),
        answers={200: dict[str, UserData]},
    ),
)
async def list_users(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    mailboxes: NamedDependency[MailboxService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """The context's users (or those named in `uids`), keyed by uid name."""
    wanted = kit.str_list(request.query_params.get("uids"))
    if wanted:
        found = await people.find(principal, usernames=wanted)
    else:
        found, _ = await people.search(principal, PersonFilter(), 0, None)
    shown = {}
    for person in sorted(found, key=lambda p: p.username):
        shown[person.username] = user_data(person, await mailboxes.settings(principal, person.id))
    return ok(shown)


@get("/admin/contexts/{contextid:str}/brand", opt=wire(answers={200: {"type": "object"}}))
async def context_brand(
    brands: NamedDependency[BrandService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    """The brand owning the context, and its top-level brand if it is a sub-brand."""
    lineage = await brands.lineage(await brands.of_tenant(principal.tenant))
    shown = {"brandname": lineage[0].name}
    if len(lineage) > 1:
        shown["toplevel-brand"] = lineage[-1].name
    return ok(shown)


HANDLERS: list[Any] = [
    *(route for name in (*PROFILE, *LISTS) for route in _attribute_routes(name)),
    *_mailbox_routes("spamlevel"),
    *_mailbox_routes("antivirus"),
    *_mailbox_routes("oxantiphishing", removable=True),
    *_mailbox_routes("quotamode", writable=False),
    get_uidname,
    put_uidname,
    change_user,
    list_users,
    context_brand,
]
"""Every route of this area; each API prefix mounts them (see __init__)."""


def router() -> Router:
    return Router(path="/", route_handlers=HANDLERS, guards=[context_admin])
