"""User administration and look-up (contract §1.12, §1.13, §1.14).

A Symphony user is a Townhall user: `uid` is the account id, `userName` its username,
`displayName` its name (what Openfire calls `name`), and DISABLED is the account lock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from townhall.domain import roles
from townhall.domain.errors import Invalid
from townhall.domain.keys import KeyChange
from townhall.domain.models import Person
from townhall.domain.principal import Principal
from townhall.domain.queries import PersonFilter
from townhall.services.avatars import AvatarService
from townhall.services.people import NewPerson, PeopleService, PersonChanges

from .. import kit
from ..documents import Param, wire
from . import models as m
from .avatars import avatar_list
from .http import IDS, AnyRequest, SymphonyError, body, no_content, ok, user_admins

# Wire attribute <-> profile column.
PROFILE_WIRE = {
    "first_name": "first_name",
    "last_name": "last_name",
    "company_name": "company_name",
    "department": "department",
    "division": "division",
    "title": "title",
    "work_phone_number": "work_phone",
    "mobile_phone_number": "mobile_phone",
    "sms_number": "sms_number",
    "location": "location",
    "job_function": "job_function",
    "two_factor_auth_phone": "two_factor_phone",
    "recommended_language": "recommended_language",
}
# Wire attribute <-> profile list.
LISTS_WIRE = {
    "asset_classes": "asset_classes",
    "industries": "industries",
    "market_coverage": "market_coverage",
    "responsibility": "responsibilities",
    "function": "functions",
    "instrument": "instruments",
}
STATUSES = ("ENABLED", "DISABLED")
DEFAULT_PAGE = 100
MAX_PAGE = 1000


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _status(person: Person) -> str:
    return "DISABLED" if person.locked else "ENABLED"


def _roles(person: Person) -> list[str]:
    return sorted(r for r in roles.effective(person.roles) if r in roles.SYMPHONY_ROLES)


def user_v1(person: Person, avatars: list[m.Avatar] | None = None) -> m.UserV1:
    p = person.profile
    return m.UserV1(
        id=person.id,
        email_address=person.email,
        first_name=p["first_name"],
        last_name=p["last_name"],
        display_name=person.name or person.username,
        title=p["title"],
        company=p["company_name"],
        username=person.username,
        location=p["location"],
        avatars=avatars or [],
    )


def user_v2(person: Person, avatars: list[m.Avatar] | None = None) -> m.UserV2:
    p = person.profile
    return m.UserV2(
        **msgspec.structs.asdict(user_v1(person, avatars)),
        account_type=person.account_type,
        work_phone_number=p["work_phone"],
        mobile_phone_number=p["mobile_phone"],
        job_function=p["job_function"],
        department=p["department"],
        division=p["division"],
        roles=_roles(person),
        user_metadata=person.metadata,
    )


def attributes(person: Person) -> m.UserAttributes:
    wire: dict[str, Any] = {w: person.profile[c] for w, c in PROFILE_WIRE.items()}
    for w, c in LISTS_WIRE.items():
        labels = person.profile_lists.get(c)
        wire[w] = list(labels) if labels is not None else None
    return m.UserAttributes(
        email_address=person.email,
        user_name=person.username,
        display_name=person.name or person.username,
        account_type=person.account_type,
        user_metadata=person.metadata,
        **wire,
    )


def detail(person: Person) -> m.UserDetail:
    return m.UserDetail(
        user_attributes=attributes(person),
        user_system_info=m.UserSystemInfo(
            id=person.id,
            status=_status(person),
            suspended=False,
            created_date=_ms(person.created_at),
            last_updated_date=_ms(person.updated_at),
        ),
        features=[],
        apps=[],
        groups=[],
        roles=_roles(person),
        disclaimers=[],
    )


def _key(value: m.UserKeyRequest | None, field: str) -> KeyChange | None:
    if value is None:
        return None
    if value.action == "REVOKE":
        return (None, None)
    expires = None
    if value.expiration_date:
        try:
            expires = datetime.fromtimestamp(value.expiration_date / 1000, UTC)
        except (ValueError, OverflowError, OSError):
            raise SymphonyError(400, f"{field}: expirationDate is out of range") from None
    return (value.key, expires) if value.key else None


def changes(attrs: m.UserAttributes | None, granted: list[str] | None) -> PersonChanges:
    attrs = attrs or m.UserAttributes()
    profile = {
        c: getattr(attrs, w) for w, c in PROFILE_WIRE.items() if getattr(attrs, w) is not None
    }
    lists = {
        c: tuple(getattr(attrs, w)) for w, c in LISTS_WIRE.items() if getattr(attrs, w) is not None
    }
    keys = {
        kind: key
        for kind, key in (
            ("current", _key(attrs.current_key, "currentKey")),
            ("previous", _key(attrs.previous_key, "previousKey")),
        )
        if key is not None
    }
    return PersonChanges(
        username=attrs.user_name,
        email=attrs.email_address,
        name=attrs.display_name,
        profile=profile,
        account_type=attrs.account_type,
        roles=frozenset(granted) if granted is not None else None,
        keys=keys,
        profile_lists=lists,
        metadata=attrs.user_metadata,
    )


def new_person(payload: m.UserCreate) -> NewPerson:
    wanted = changes(payload.user_attributes, payload.roles or ["INDIVIDUAL"])
    if not wanted.email:
        raise Invalid("email", "is required")
    return NewPerson(
        username=wanted.username or "",
        name=wanted.name or "",
        email=wanted.email,
        profile=wanted.profile,
        account_type=wanted.account_type,
        roles=wanted.roles or frozenset(),
        keys=wanted.keys,
        profile_lists=wanted.profile_lists,
        metadata=wanted.metadata,
    )


# -- admin ------------------------------------------------------------------------------


LOOKUP = (
    Param("uid", IDS, description="user ids, comma-separated"),
    Param("email", description="email addresses, comma-separated"),
    Param("username", description="usernames, comma-separated"),
)
"""The query parameters of the user look-ups."""


@post(
    ["/v2/admin/user/create", "/v1/admin/user/create"],
    status_code=200,
    guards=[user_admins],
    opt=wire(m.UserCreate, answers={200: m.UserDetail}),
)
async def create(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    payload = await body(request, m.UserCreate)
    return ok(detail(await people.create(principal, new_person(payload))))


@get(
    "/v2/admin/user/list",
    guards=[user_admins],
    opt=wire(
        params=(
            Param("skip", int),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
        ),
        answers={200: list[m.UserDetail]},
    ),
)
async def list_v2(
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
    skip: FromQuery[int] = 0,
    limit: FromQuery[int] = DEFAULT_PAGE,
) -> Response[bytes]:
    if not 0 < limit <= MAX_PAGE:
        raise kit.Malformed("limit", f"must be between 1 and {MAX_PAGE}")
    found, _ = await people.search(principal, PersonFilter(), skip, limit, by_id=True)
    return ok([detail(p) for p in found])


@get("/v1/admin/user/list", guards=[user_admins], opt=wire(answers={200: list[int]}))
async def list_v1(
    people: NamedDependency[PeopleService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    return ok(await people.ids(principal))


@get(
    ["/v2/admin/user/{uid:int}", "/v1/admin/user/{uid:int}"],
    guards=[user_admins],
    opt=wire(answers={200: m.UserDetail}),
)
async def get_detail(
    uid: FromPath[int],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(detail(await people.get(principal, uid)))


@post(
    ["/v2/admin/user/{uid:int}/update", "/v1/admin/user/{uid:int}/update"],
    status_code=200,
    guards=[user_admins],
    opt=wire(m.UserAttributes, answers={200: m.UserDetail}),
)
async def update(
    request: AnyRequest,
    uid: FromPath[int],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    attrs = await body(request, m.UserAttributes)
    return ok(detail(await people.update(principal, uid, changes(attrs, None))))


@get(
    "/v1/admin/user/{uid:int}/status",
    guards=[user_admins],
    opt=wire(answers={200: m.UserStatus}),
)
async def get_status(
    uid: FromPath[int],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    person = await people.get(principal, uid)
    return ok(m.UserStatus(status=_status(person), suspended=False))


@post(
    "/v1/admin/user/{uid:int}/status/update",
    status_code=200,
    guards=[user_admins],
    opt=wire(m.UserStatus, answers={200: m.SuccessResponse}),
)
async def set_status(
    request: AnyRequest,
    uid: FromPath[int],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    wanted = await body(request, m.UserStatus)
    if wanted.status not in STATUSES:
        raise SymphonyError(400, "status: must be ENABLED or DISABLED")
    await people.set_locked(principal, uid, wanted.status == "DISABLED")
    return ok(m.SuccessResponse())


# -- look-up ----------------------------------------------------------------------------


async def _pictures(
    request: AnyRequest, avatars: AvatarService, principal: Principal, found: list[Person]
) -> dict[int, list[m.Avatar]]:
    """Each found person's avatar list, in one query for all of them."""
    tokens = await avatars.tokens(principal, [p.id for p in found])
    return {uid: avatar_list(request, token) for uid, token in tokens.items()}


def _lookup(request: AnyRequest) -> tuple[list[int], list[str], list[str]]:
    q = request.query_params
    return (
        kit.int_list(q.get("uid"), "uid"),
        kit.str_list(q.get("email")),
        kit.str_list(q.get("username")),
    )


@get(
    "/v3/users",
    opt=wire(
        params=(*LOOKUP, Param("active", bool)),
        answers={200: m.UserList, 204: None},
    ),
)
async def lookup_v3(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    avatars: NamedDependency[AvatarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    q = request.query_params
    ids, emails, usernames = _lookup(request)
    if not (ids or emails or usernames):
        raise SymphonyError(400, "One of uid, email or username is required")
    found = await people.find(principal, ids, emails, usernames)
    if q.get("active") is not None:
        active = q["active"].lower() == "true"
        found = [p for p in found if p.locked != active]
    if not found:
        return no_content()
    pictures = await _pictures(request, avatars, principal, found)
    return ok(m.UserList(users=[user_v2(p, pictures.get(p.id)) for p in found]))


@get("/v2/user", opt=wire(params=LOOKUP, answers={200: m.UserV2, 204: None}))
async def lookup_v2(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    avatars: NamedDependency[AvatarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    ids, emails, usernames = _lookup(request)
    if len(ids) + len(emails) + len(usernames) != 1:
        raise SymphonyError(400, "Exactly one of uid, email or username is required")
    found = await people.find(principal, ids, emails, usernames)
    if not found:
        return no_content()
    pictures = await _pictures(request, avatars, principal, found)
    return ok(user_v2(found[0], pictures.get(found[0].id)))


@get(
    "/v1/user",
    opt=wire(params=(Param("email", required=True),), answers={200: m.UserV1, 204: None}),
)
async def lookup_by_email(
    request: AnyRequest,
    email: FromQuery[str],
    people: NamedDependency[PeopleService],
    avatars: NamedDependency[AvatarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    found = await people.find(principal, emails=[email])
    if not found:
        return no_content()
    pictures = await _pictures(request, avatars, principal, found)
    return ok(user_v1(found[0], pictures.get(found[0].id)))


@get("/v1/user/name/{username:str}/get", opt=wire(answers={200: m.UserV1, 204: None}))
async def lookup_by_name(
    request: AnyRequest,
    username: FromPath[str],
    people: NamedDependency[PeopleService],
    avatars: NamedDependency[AvatarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    found = await people.find(principal, usernames=[username])
    if not found:
        return no_content()
    pictures = await _pictures(request, avatars, principal, found)
    return ok(user_v1(found[0], pictures.get(found[0].id)))


# -- who am I ---------------------------------------------------------------------------


@get("/v1/sessioninfo", opt=wire(answers={200: m.SessionInfo}))
async def session_info_v1(principal: NamedDependency[Principal]) -> Response[bytes]:
    return ok(m.SessionInfo(user_id=principal.person_id))


@get("/v2/sessioninfo", opt=wire(answers={200: m.UserV2}))
async def session_info_v2(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    avatars: NamedDependency[AvatarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    me = await people.get(principal, principal.person_id)
    pictures = await _pictures(request, avatars, principal, [me])
    return ok(user_v2(me, pictures.get(me.id)))


router = Router(
    path="/",
    route_handlers=[
        create,
        list_v2,
        list_v1,
        get_detail,
        update,
        get_status,
        set_status,
        lookup_v3,
        lookup_v2,
        lookup_by_email,
        lookup_by_name,
        session_info_v1,
        session_info_v2,
    ],
)
