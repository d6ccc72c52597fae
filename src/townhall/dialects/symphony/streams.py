"""Rooms, IMs and room membership (contract §1.7, §1.10, §1.14).

A Symphony room is a Townhall chat room of the tenant's `conference` service, addressed
by its stream id: listed by the Openfire API's `/chatrooms` too. Mapping choices: a
room's `name` is its natural name, `public` (anyone may join) is not members-only,
`discoverable` (listed) is Openfire's public room, `membersCanInvite` is "occupants may
invite". Owners and members are the room's owner and member affiliations.
"""

from __future__ import annotations

from dataclasses import replace

import msgspec
from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain import roles
from townhall.domain.models import Room, RoomMember, RoomPage
from townhall.domain.principal import Principal
from townhall.domain.queries import RoomFilter
from townhall.services.rooms import RoomChanges, RoomService

from .. import kit, unstorable
from ..documents import Param, wire
from . import models as m
from .http import AnyRequest, SymphonyError, body, ok, refuse_deep, refuse_unstorable, role_guard

room_admins = role_guard(frozenset({roles.SUPER_ADMINISTRATOR, roles.ADMINISTRATOR}))
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
_MEMBERSHIP = {"add": "member", "promoteOwner": "owner", "demoteOwner": "member", "remove": None}


def _ms(room: Room) -> int:
    return int(room.created_at.timestamp() * 1000)


def detail(room: Room, v1: bool = False) -> m.RoomDetail:
    """A room's answer; the v1 shape also carries `immutableRoomAttributes`, which v1
    clients (the BDK's `set_room_active`) read public/read-only/copy-protected from."""
    settings = room.settings
    immutable = (
        m.ImmutableRoomAttributes(
            public=not settings.members_only,
            read_only=room.read_only,
            copy_protected=room.copy_protected,
        )
        if v1
        else None
    )
    return m.RoomDetail(
        immutable_room_attributes=immutable,
        room_attributes=m.RoomAttributes(
            name=settings.natural_name,
            keywords=[m.RoomTag(key=k, value=v) for k, v in room.keywords],
            description=settings.description,
            members_can_invite=settings.can_occupants_invite,
            discoverable=settings.public_room,
            public=not settings.members_only,
            read_only=room.read_only,
            copy_protected=room.copy_protected,
            cross_pod=room.cross_pod,
            view_history=room.view_history,
            multi_lateral_room=room.multilateral,
            sub_type=room.sub_type,
        ),
        room_system_info=m.RoomSystemInfo(
            id=room.stream_id,
            creation_date=_ms(room),
            created_by_user_id=room.created_by,
            active=room.active,
        ),
    )


def changes(wire: m.RoomAttributes) -> RoomChanges:
    """The attributes a body sets (a name is trimmed and may not be blank)."""
    name = wire.name.strip() if wire.name is not None else None
    if name == "":
        raise kit.Malformed("name", "must not be empty")
    keywords = wire.keywords
    return RoomChanges(
        natural_name=name,
        description=wire.description,
        keywords=tuple((t.key, t.value) for t in keywords) if keywords is not None else None,
        members_only=not wire.public if wire.public is not None else None,
        public_room=wire.discoverable,
        can_occupants_invite=wire.members_can_invite,
        read_only=wire.read_only,
        copy_protected=wire.copy_protected,
        cross_pod=wire.cross_pod,
        view_history=wire.view_history,
        multilateral=wire.multi_lateral_room,
        sub_type=wire.sub_type,
    )


def _member(member: RoomMember) -> m.MemberInfo:
    joined = int(member.joined_at.timestamp() * 1000) if member.joined_at else None
    return m.MemberInfo(id=member.user_id, owner=member.owner, join_date=joined)


def _v1(request: AnyRequest) -> bool:
    return request.url.path.startswith("/pod/v1/")


@post(
    ["/v3/room/create", "/v2/room/create"],
    status_code=200,
    opt=wire(m.RoomAttributes, answers={200: m.RoomDetail}),
)
async def create_room(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    wanted = changes(await body(request, m.RoomAttributes))
    if wanted.natural_name is None:
        raise kit.Malformed("name", "is required")
    return ok(detail(await rooms.create(principal, wanted)))


@post("/v1/room/create", status_code=200, opt=wire(m.RoomCreate, answers={200: m.RoomDetail}))
async def create_room_v1(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    """The v1 body nests `roomAttributes` and `immutableRoomAttributes`; both are kept."""
    wire = await body(request, m.RoomCreate)
    attributes = wire.room_attributes or m.RoomAttributes()
    fixed = wire.immutable_room_attributes or m.ImmutableRoomAttributes()
    wanted = changes(attributes)
    if wanted.natural_name is None:
        raise kit.Malformed("roomAttributes.name", "is required")
    wanted = replace(
        wanted,
        members_only=not fixed.public if fixed.public is not None else wanted.members_only,
        read_only=fixed.read_only if fixed.read_only is not None else wanted.read_only,
        copy_protected=(
            fixed.copy_protected if fixed.copy_protected is not None else wanted.copy_protected
        ),
    )
    return ok(detail(await rooms.create(principal, wanted), v1=True))


@get(
    [
        "/v3/room/{stream_id:str}/info",
        "/v2/room/{stream_id:str}/info",
        "/v1/room/{stream_id:str}/info",
    ],
    opt=wire(answers={200: m.RoomDetail}),
)
async def room_info(
    request: AnyRequest,
    stream_id: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(detail(await rooms.get_stream(principal, stream_id), v1=_v1(request)))


@post(
    [
        "/v3/room/{stream_id:str}/update",
        "/v2/room/{stream_id:str}/update",
        "/v1/room/{stream_id:str}/update",
    ],
    status_code=200,
    opt=wire(m.RoomAttributes, answers={200: m.RoomDetail}),
)
async def update_room(
    request: AnyRequest,
    stream_id: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    wanted = changes(await body(request, m.RoomAttributes))
    return ok(detail(await rooms.update(principal, stream_id, wanted), v1=_v1(request)))


@post(
    "/v1/room/{stream_id:str}/setActive",
    status_code=200,
    opt=wire(params=(Param("active", bool, required=True),), answers={200: m.RoomDetail}),
)
async def set_active(
    request: AnyRequest,
    stream_id: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    raw = request.query_params.get("active")
    if raw not in ("true", "false"):
        raise kit.Malformed("active", "a required boolean query parameter")
    return ok(detail(await rooms.set_active(principal, stream_id, raw == "true"), v1=True))


@get(
    ["/v2/room/{stream_id:str}/membership/list", "/v1/room/{stream_id:str}/membership/list"],
    opt=wire(answers={200: list[m.MemberInfo]}),
)
async def list_members(
    stream_id: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok([_member(x) for x in await rooms.members(principal, stream_id)])


@post(
    "/v1/room/{stream_id:str}/membership/{action:str}",
    status_code=200,
    opt=wire(m.UserId, answers={200: m.SuccessResponse}),
)
async def change_membership(
    request: AnyRequest,
    stream_id: FromPath[str],
    action: FromPath[str],
    rooms: NamedDependency[RoomService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """`action`: add, remove, promoteOwner or demoteOwner."""
    if action not in _MEMBERSHIP:
        raise SymphonyError(404, f"Unknown membership action {action}")
    target = await body(request, m.UserId)
    await rooms.set_member(principal, stream_id, target.id, _MEMBERSHIP[action])
    return ok(m.SuccessResponse(message="Member updated"))


@post(
    ["/v3/room/search", "/v2/room/search"],
    status_code=200,
    opt=wire(
        m.RoomSearchCriteria,
        params=(
            Param("skip", {"type": "integer", "minimum": 0}),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
            Param("includeNonDiscoverable", bool),
        ),
        answers={200: m.RoomSearchResults},
    ),
)
async def search_rooms(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    criteria = await body(request, m.RoomSearchCriteria)
    q = request.query_params
    skip = kit.integer(q.get("skip"), "skip", 0, 0, unstorable.INT64_MAX)
    limit = kit.integer(q.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    if criteria.sort_order not in (None, "BASIC", "RELEVANCE"):
        raise kit.Malformed("sortOrder", "must be BASIC or RELEVANCE")
    where = RoomFilter(
        text=criteria.query,
        labels=tuple(criteria.labels or ()),
        listed_only=(q.get("includeNonDiscoverable") or "").lower() != "true",
        active=criteria.active,
        members_only=criteria.private,
        sub_type=criteria.sub_type,
        creator=criteria.creator.id if criteria.creator else None,
        owner=criteria.owner.id if criteria.owner else None,
        member=criteria.member.id if criteria.member else None,
        include_ims=False,
    )
    found = await rooms.search(principal, where, skip, limit)
    return ok(
        m.RoomSearchResults(
            count=found.total,
            skip=skip,
            limit=limit,
            query=criteria,
            rooms=[detail(room) for room in found.rooms],
            faceted_match_count=_facets(found),
        )
    )


def _facets(found: RoomPage) -> list[m.FacetedMatchCount]:
    return [
        m.FacetedMatchCount(facet="PUBLIC", count=found.total - found.members_only),
        m.FacetedMatchCount(facet="PRIVATE", count=found.members_only),
    ]


async def _user_ids(request: AnyRequest) -> list[int]:
    raw = await request.body()
    refuse_deep(raw)
    try:
        found = msgspec.json.decode(raw, type=list[int])
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise kit.Malformed("uidList", f"a JSON array of user ids is required ({exc})") from None
    refuse_unstorable(raw, found)
    return found


@post("/v1/im/create", status_code=200, opt=wire(list[int], answers={200: m.Stream}))
async def create_im(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    room = await rooms.im(principal, await _user_ids(request))
    return ok(m.Stream(id=room.stream_id or ""))


@post(
    "/v1/admin/im/create",
    status_code=200,
    guards=[room_admins],
    opt=wire(list[int], answers={200: m.Stream}),
)
async def create_im_admin(
    request: AnyRequest, rooms: NamedDependency[RoomService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    room = await rooms.im_among(principal, await _user_ids(request))
    return ok(m.Stream(id=room.stream_id or ""))


router = Router(
    path="/",
    route_handlers=[
        create_room,
        create_room_v1,
        room_info,
        update_room,
        set_active,
        list_members,
        change_membership,
        search_rooms,
        create_im,
        create_im_admin,
    ],
)
