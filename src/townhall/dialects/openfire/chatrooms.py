"""`/chatrooms`: rooms, bulk create, affiliations, participants, occupants, history and
invitations (contract §4.3).

Mapping choices: the plugin's `*Groups` lists are the room's group affiliations; the
`{affiliation}` lists (GET/PUT/POST) hold only users and JIDs, so a bulk replace leaves
group affiliations alone. The bulk affiliation PUT/POST, broken upstream (issue #163),
work as intended: POST adds, PUT makes the list exactly the body's, both 201.
Townhall adds optional `start`/`limit` paging to GET /chatrooms, with the total in
`X-Total-Count`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC
from typing import Any

from litestar import Request, Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from townhall.domain.errors import DomainError, Invalid
from townhall.domain.models import AFFILIATIONS, Affiliations, Room, RoomMessage, RoomSettings
from townhall.domain.principal import Principal
from townhall.domain.queries import RoomFilter
from townhall.services.rooms import DEFAULT_SERVICE, BulkOutcome, RoomService, RoomSpec

from .. import kit
from ..documents import Param, wire
from .entities import (
    AFFILIATION_LISTS,
    INVITATION,
    INVITATIONS,
    OCCUPANTS,
    PARTICIPANTS,
    RESULTS,
    ROOM,
    ROOM_BODY,
    ROOM_FLAGS,
    ROOM_MESSAGES,
    ROOMS,
    affiliation_list,
)
from .http import (
    EXPAND,
    FIELDS,
    INVITES,
    PAGE_PARAMS,
    SERVICE,
    bare,
    flag,
    paging,
    plugin_answer,
    read,
    respond,
    worded,
)
from .wire import BadRequest, Entity

AnyRequest = Request[Any, Any, Any]

# The plugin's room flags, as RoomSettings spells them.
_FLAGS = dict(
    zip(
        ROOM_FLAGS,
        (
            "persistent",
            "public_room",
            "registration_enabled",
            "can_anyone_discover_jid",
            "can_occupants_change_subject",
            "can_occupants_invite",
            "can_change_nickname",
            "log_enabled",
            "login_restricted_to_nickname",
            "members_only",
            "moderated",
        ),
        strict=True,
    )
)
# The plugin's README shows the multi-invite body under the single invite's root.
_README_INVITATIONS = Entity("mucInvitation", INVITATIONS.fields)
# `/chatrooms/bulk` is also a room's path for GET, PUT and DELETE (a room may be "bulk"):
# their `room` is FromPath[str] = BULK, so on that path it is always "bulk" (inferred, it
# was a query parameter there, and `?room=other` addressed another room).
BULK = "bulk"
# `type`: rooms listed in the directory, or all of them; any other type matches nothing.
ROOM_TYPES = ("public", "all")
AFFILIATED = {"oneOf": [affiliation_list(plural).json_schema() for plural in AFFILIATION_LISTS]}
"""`{"owners": [..]}`, `{"admins": [..]}`...: the key is the path's `{affiliation}`."""
WRITE_PARAMS = (SERVICE, INVITES)
UNROUTED = {404: None}
"""The `{affiliation}` routes' 404: the error entity for a missing room or service, but
bare for a segment other than the four lists (a path the plugin does not route)."""


def room_data(room: Room) -> dict[str, Any]:
    settings = room.settings
    jids, groups = room.affiliations.jids, room.affiliations.groups
    return {
        "roomName": room.name,
        "naturalName": settings.natural_name,
        "description": settings.description,
        "password": settings.password,
        "subject": settings.subject,
        "creationDate": room.created_at,
        "modificationDate": room.modified_at,
        "maxUsers": settings.max_users,
        **{wire: getattr(settings, attr) for wire, attr in _FLAGS.items()},
        "broadcastPresenceRoles": list(settings.broadcast_presence_roles),
        **{f"{a}s": list(jids.get(a, ())) for a in AFFILIATIONS},
        **{f"{a}Groups": list(groups.get(a, ())) for a in AFFILIATIONS},
        "allowPM": settings.allow_private_messages,
    }


def room_spec(body: dict[str, Any]) -> RoomSpec:
    """A room body as the plugin reads it: missing flags are false, maxUsers 0 and allowPM
    `anyone`; missing dates are left to the service."""
    settings = RoomSettings(
        natural_name=body.get("naturalName") or "",
        description=body.get("description") or "",
        password=body.get("password") or None,
        subject=body.get("subject"),
        max_users=body.get("maxUsers") or 0,
        **{attr: bool(body.get(wire)) for wire, attr in _FLAGS.items()},
        broadcast_presence_roles=tuple(body.get("broadcastPresenceRoles") or ()),
        allow_private_messages=body.get("allowPM") or "anyone",
        created_at=body.get("creationDate"),
        modified_at=body.get("modificationDate"),
    )
    affiliations = Affiliations(
        jids={a: tuple(body.get(f"{a}s") or ()) for a in AFFILIATIONS},
        groups={a: tuple(body.get(f"{a}Groups") or ()) for a in AFFILIATIONS},
    )
    return RoomSpec(body.get("roomName") or "", settings, affiliations)


def _service(request: AnyRequest) -> str:
    return request.query_params.get("servicename", DEFAULT_SERVICE)


def _invites(request: AnyRequest) -> bool:
    return flag(request.query_params.get("sendInvitations"))


def _affiliation(segment: str) -> str:
    """`owners` -> `owner`; any other segment does not route, as in the plugin."""
    if segment not in AFFILIATION_LISTS:
        raise NotFoundException()
    return segment[:-1]


# -- rooms ------------------------------------------------------------------------------


@get(
    "/chatrooms",
    opt=wire(
        params=(
            Param("type", description="`public` (the default): listed rooms; `all`: every one"),
            Param("search", description="room names containing this"),
            SERVICE,
            EXPAND,
            *PAGE_PARAMS,
        ),
        answers={200: ROOMS},
    ),
)
async def list_rooms(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    q = request.query_params
    offset, limit = paging(request)
    kind = q.get("type", "public")
    if kind not in ROOM_TYPES:  # no rooms, but of a service that must exist
        await rooms.get_service(principal, _service(request))
        return respond(request, ROOMS, [], {"X-Total-Count": "0"})
    where = RoomFilter(name_contains=q.get("search") or None, listed_only=kind == "public")
    found = await rooms.search(
        principal, where, offset, limit, _service(request), flag(q.get("expandGroups"))
    )
    rows = [room_data(r) for r in found.rooms]
    return respond(request, ROOMS, rows, {"X-Total-Count": str(found.total)})


@post("/chatrooms", status_code=201, opt=wire(ROOM_BODY, WRITE_PARAMS, {201: None}))
async def create_room(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    spec = room_spec(await read(request, ROOM))
    with worded(Conflict="Could not create the channel", Forbidden="Could not create the channel"):
        await rooms.save(principal, _service(request), spec, send_invitations=_invites(request))
    return bare(201)


@post(f"/chatrooms/{BULK}", status_code=200, opt=wire(ROOMS, WRITE_PARAMS, {200: RESULTS}))
async def create_rooms(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    specs = [room_spec(body) for body in await read(request, ROOMS)]
    outcomes = await rooms.create_many(principal, _service(request), specs, _invites(request))
    results: dict[str, list[dict[str, str]]] = {"success": [], "failure": [], "other": []}
    for outcome in outcomes:
        kind, result = _result(outcome)
        results[kind].append(result)
    return respond(request, RESULTS, results)


def _result(outcome: BulkOutcome) -> tuple[str, dict[str, str]]:
    if outcome.error is not None:
        reason = _reason(outcome.error)
        message = f"Room creation failed due to {_java_name(outcome.error)}: {reason}"
        return "failure", {"roomName": outcome.name, "resultType": "Failure", "message": message}
    message = (
        "Room was successfully created"
        if outcome.created
        else "Room already existed and therefore not created again"
    )
    return "success", {"roomName": outcome.name, "resultType": "Success", "message": message}


def _reason(error: DomainError) -> str:
    """Why one room of a bulk create failed, naming the field as the plugin spells it."""
    answer = plugin_answer(error)
    if answer is not None:
        return answer.message
    if isinstance(error, Invalid):
        return f"{kit.wire_field(error, FIELDS)} {error.reason}"
    return error.detail or str(error)


def _java_name(error: DomainError) -> str:
    """The exception class the plugin names in a bulk failure."""
    if isinstance(error, Invalid):
        return "IllegalArgumentException"
    return f"{type(error).__name__}Exception"


@get(
    ["/chatrooms/{room:str}", f"/chatrooms/{BULK}"],
    opt=wire(params=(SERVICE, EXPAND), answers={200: ROOM}),
)
async def get_room(
    request: AnyRequest,
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
    room: FromPath[str] = BULK,
) -> Response[bytes]:
    expand = flag(request.query_params.get("expandGroups"))
    found = await rooms.get(principal, _service(request), room, expand)
    return respond(request, ROOM, room_data(found))


@put(
    ["/chatrooms/{room:str}", f"/chatrooms/{BULK}"], opt=wire(ROOM_BODY, WRITE_PARAMS, {200: None})
)
async def update_room(
    request: AnyRequest,
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
    room: FromPath[str] = BULK,
) -> Response[bytes]:
    spec = room_spec(await read(request, ROOM))
    with worded(Conflict="Could not update the channel", Forbidden="Could not update the channel"):
        await rooms.save(principal, _service(request), spec, room, _invites(request))
    return bare(200)


@delete(
    ["/chatrooms/{room:str}", f"/chatrooms/{BULK}"],
    status_code=200,
    opt=wire(params=(SERVICE,), answers={200: None}),
)
async def delete_room(
    request: AnyRequest,
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
    room: FromPath[str] = BULK,
) -> Response[bytes]:
    await rooms.delete(principal, _service(request), room)
    return bare(200)


# -- who is there, what was said --------------------------------------------------------


@get(
    "/chatrooms/{room:str}/participants",
    opt=wire(params=(SERVICE,), answers={200: PARTICIPANTS}),
)
async def list_participants(
    request: AnyRequest,
    room: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Those in the participant role, without their real addresses (as the plugin lists
    them)."""
    found = await rooms.occupants(principal, _service(request), room, role="participant")
    rows = [{"jid": o.jid, "role": o.role, "affiliation": o.affiliation} for o in found]
    return respond(request, PARTICIPANTS, rows)


@get("/chatrooms/{room:str}/occupants", opt=wire(params=(SERVICE,), answers={200: OCCUPANTS}))
async def list_occupants(
    request: AnyRequest,
    room: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Everyone in the room."""
    found = await rooms.occupants(principal, _service(request), room)
    rows = [
        {"jid": o.jid, "userAddress": o.real_jid, "role": o.role, "affiliation": o.affiliation}
        for o in found
    ]
    return respond(request, OCCUPANTS, rows)


@get(
    "/chatrooms/{room:str}/chathistory",
    opt=wire(params=(SERVICE,), answers={200: ROOM_MESSAGES}),
)
async def chat_history(
    request: AnyRequest,
    room: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    found = await rooms.history(principal, _service(request), room)
    return respond(request, ROOM_MESSAGES, [message_data(m) for m in found])


def message_data(message: RoomMessage) -> dict[str, Any]:
    """`delay_stamp` is XEP-0082 UTC with milliseconds, the form XMPP delay stamps take."""
    stamp = message.sent_at.astimezone(UTC)
    return {
        "to": message.to or None,
        "from": message.sender or None,
        "type": message.type or None,
        "body": message.body or None,
        "delay_stamp": f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z",
    }


# -- invitations ------------------------------------------------------------------------


@post(
    "/chatrooms/{room:str}/invite/{jid:str}",
    status_code=200,
    opt=wire(INVITATION, (SERVICE,), {200: None}),
)
async def invite_one(
    request: AnyRequest,
    room: FromPath[str],
    jid: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    body = await read(request, INVITATION)
    with worded(Forbidden="Could not invite user"):
        await rooms.invite(principal, _service(request), room, [jid], body.get("reason"))
    return bare(200)


@post(
    "/chatrooms/{room:str}/invite", status_code=200, opt=wire(INVITATIONS, (SERVICE,), {200: None})
)
async def invite_many(
    request: AnyRequest,
    room: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    try:
        body = await read(request, INVITATIONS)
    except BadRequest as first:
        try:
            body = await read(request, _README_INVITATIONS)
        except BadRequest:
            raise first from None
    invitees = body.get("jidsToInvite") or []
    with worded(Forbidden="Could not invite user"):
        await rooms.invite(principal, _service(request), room, invitees, body.get("reason"))
    return bare(200)


# -- affiliations -----------------------------------------------------------------------


@get(
    "/chatrooms/{room:str}/{affiliation:str}",
    opt=wire(params=(SERVICE,), answers={200: AFFILIATED, **UNROUTED}),
)
async def list_affiliated(
    request: AnyRequest,
    room: FromPath[str],
    affiliation: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    singular = _affiliation(affiliation)
    jids = await rooms.with_affiliation(principal, _service(request), room, singular)
    return respond(request, affiliation_list(affiliation), jids)


@put(
    "/chatrooms/{room:str}/{affiliation:str}",
    status_code=201,
    opt=wire(AFFILIATED, WRITE_PARAMS, {201: None, **UNROUTED}),
)
async def replace_affiliated(
    request: AnyRequest,
    room: FromPath[str],
    affiliation: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return await _set_affiliated(request, rooms, principal, room, affiliation, replace=True)


@post(
    "/chatrooms/{room:str}/{affiliation:str}",
    status_code=201,
    opt=wire(AFFILIATED, WRITE_PARAMS, {201: None, **UNROUTED}),
)
async def add_affiliated(
    request: AnyRequest,
    room: FromPath[str],
    affiliation: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return await _set_affiliated(request, rooms, principal, room, affiliation, replace=False)


async def _set_affiliated(
    request: AnyRequest,
    rooms: RoomService,
    principal: Principal,
    room: str,
    affiliation: str,
    replace: bool,
) -> Response[bytes]:
    singular = _affiliation(affiliation)
    values = await read(request, affiliation_list(affiliation))
    with _list_wording(singular):
        await rooms.set_affiliated(
            principal, _service(request), room, singular, values, replace, _invites(request)
        )
    return bare(201)


def _list_wording(affiliation: str) -> AbstractContextManager[None]:
    return worded(
        Conflict=f"Could not apply modification to list of {affiliation}",
        Forbidden=f"Forbidden to apply modification to list of {affiliation}",
    )


AFFILIATE = [
    "/chatrooms/{room:str}/{affiliation:str}/{who:str}",
    "/chatrooms/{room:str}/{affiliation:str}/group/{who:str}",
]
"""One user or JID, or one group (`/group/`), given or taken an affiliation."""


def _as_group(request: AnyRequest) -> bool:
    return "/group/" in request.scope.get("path_template", "")


@post(AFFILIATE, status_code=201, opt=wire(params=WRITE_PARAMS, answers={201: None, **UNROUTED}))
async def grant(
    request: AnyRequest,
    room: FromPath[str],
    affiliation: FromPath[str],
    who: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    singular, as_group = _affiliation(affiliation), _as_group(request)
    with _list_wording(singular):
        await rooms.grant(
            principal, _service(request), room, singular, who, as_group, _invites(request)
        )
    return bare(201)


@delete(AFFILIATE, status_code=200, opt=wire(params=(SERVICE,), answers={200: None, **UNROUTED}))
async def revoke(
    request: AnyRequest,
    room: FromPath[str],
    affiliation: FromPath[str],
    who: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    singular, as_group = _affiliation(affiliation), _as_group(request)
    with worded(Conflict="Could not delete affiliation", Forbidden="Could not delete affiliation"):
        await rooms.revoke(principal, _service(request), room, singular, who, as_group)
    return bare(200)


router = Router(
    path="/",
    route_handlers=[
        list_rooms,
        create_room,
        create_rooms,
        get_room,
        update_room,
        delete_room,
        list_participants,
        list_occupants,
        chat_history,
        invite_one,
        invite_many,
        list_affiliated,
        replace_affiliated,
        add_affiliated,
        grant,
        revoke,
    ],
)
