"""Rooms, IMs and room membership (contract §1.7, §1.10, §1.14).

A Symphony room is a Townhall chat room of the tenant's `conference` service: listed by
the Openfire API's `/chatrooms` too. Owners and members are the room's affiliations.
"""

from __future__ import annotations

import msgspec
from litestar import Response, Router, get, post

from townhall.domain import roles
from townhall.domain.models import ChatStream, StreamAttributes, StreamMember
from townhall.domain.queries import StreamQuery

from . import models as m
from .http import (
    AnyRequest,
    SymphonyError,
    actor,
    body,
    ok,
    refuse_unstorable,
    require,
    services,
    session,
)

ADMINS = frozenset({roles.SUPER_ADMINISTRATOR, roles.ADMINISTRATOR})
DEFAULT_LIMIT = 50


def _ms(stream: ChatStream) -> int:
    return int(stream.created_at.timestamp() * 1000)


def detail(stream: ChatStream) -> m.RoomDetail:
    return m.RoomDetail(
        room_attributes=m.RoomAttributes(
            name=stream.name,
            keywords=[m.RoomTag(key=k, value=v) for k, v in stream.keywords],
            description=stream.description,
            members_can_invite=stream.members_can_invite,
            discoverable=stream.discoverable,
            public=stream.public,
            read_only=stream.read_only,
            copy_protected=stream.copy_protected,
            cross_pod=stream.cross_pod,
            view_history=stream.view_history,
            multi_lateral_room=stream.multilateral,
            sub_type=stream.sub_type,
        ),
        room_system_info=m.RoomSystemInfo(
            id=stream.stream_id,
            creation_date=_ms(stream),
            created_by_user_id=stream.created_by,
            active=stream.active,
        ),
    )


def attributes(wire: m.RoomAttributes) -> StreamAttributes:
    return StreamAttributes(
        name=wire.name,
        description=wire.description,
        keywords=tuple((t.key, t.value) for t in wire.keywords)
        if wire.keywords is not None
        else None,
        public=wire.public,
        discoverable=wire.discoverable,
        members_can_invite=wire.members_can_invite,
        read_only=wire.read_only,
        copy_protected=wire.copy_protected,
        cross_pod=wire.cross_pod,
        view_history=wire.view_history,
        multilateral=wire.multi_lateral_room,
        sub_type=wire.sub_type,
    )


def _manager(request: AnyRequest) -> int | None:
    """The acting user, or None for an administrator (who may manage any room)."""
    current = session(request)
    return None if current.holds_any(ADMINS) else current.user_id


def _member(member: StreamMember) -> m.MemberInfo:
    joined = int(member.joined_at.timestamp() * 1000) if member.joined_at else None
    return m.MemberInfo(id=member.user_id, owner=member.owner, join_date=joined)


@post(["/v3/room/create", "/v2/room/create", "/v1/room/create"], status_code=200)
async def create_room(request: AnyRequest) -> Response[bytes]:
    wanted = attributes(await body(request, m.RoomAttributes))
    created = await services(request).streams.create(
        actor(request), session(request).person_id, wanted
    )
    return ok(detail(created))


@get(
    [
        "/v3/room/{stream_id:str}/info",
        "/v2/room/{stream_id:str}/info",
        "/v1/room/{stream_id:str}/info",
    ]
)
async def room_info(request: AnyRequest, stream_id: str) -> Response[bytes]:
    return ok(detail(await services(request).streams.get(actor(request), stream_id)))


@post(
    [
        "/v3/room/{stream_id:str}/update",
        "/v2/room/{stream_id:str}/update",
        "/v1/room/{stream_id:str}/update",
    ],
    status_code=200,
)
async def update_room(request: AnyRequest, stream_id: str) -> Response[bytes]:
    wanted = attributes(await body(request, m.RoomAttributes))
    updated = await services(request).streams.update(
        actor(request), stream_id, wanted, _manager(request)
    )
    return ok(detail(updated))


@post("/v1/room/{stream_id:str}/setActive", status_code=200)
async def set_active(request: AnyRequest, stream_id: str) -> Response[bytes]:
    raw = request.query_params.get("active")
    if raw not in ("true", "false"):
        raise SymphonyError(400, "active: a required boolean query parameter")
    changed = await services(request).streams.set_active(
        actor(request), stream_id, raw == "true", _manager(request)
    )
    return ok(detail(changed))


@get(["/v2/room/{stream_id:str}/membership/list", "/v1/room/{stream_id:str}/membership/list"])
async def list_members(request: AnyRequest, stream_id: str) -> Response[bytes]:
    found = await services(request).streams.members(actor(request), stream_id)
    return ok([_member(x) for x in found])


_MEMBERSHIP = {"add": "member", "promoteOwner": "owner", "demoteOwner": "member", "remove": None}


@post("/v1/room/{stream_id:str}/membership/{action:str}", status_code=200)
async def change_membership(request: AnyRequest, stream_id: str, action: str) -> Response[bytes]:
    if action not in _MEMBERSHIP:
        raise SymphonyError(404, f"Unknown membership action {action}")
    target = await body(request, m.UserId)
    await services(request).streams.set_member(
        actor(request), stream_id, target.id, _MEMBERSHIP[action], _manager(request)
    )
    return ok(m.SuccessResponse(message="Member updated"))


@post(["/v3/room/search", "/v2/room/search"], status_code=200)
async def search_rooms(request: AnyRequest) -> Response[bytes]:
    criteria = await body(request, m.RoomSearchCriteria)
    q = request.query_params
    try:
        skip = int(q.get("skip", 0))
        limit = int(q.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise SymphonyError(400, "skip and limit must be integers") from None
    if criteria.sort_order not in (None, "BASIC", "RELEVANCE"):
        raise SymphonyError(400, "sortOrder: must be BASIC or RELEVANCE")
    query = StreamQuery(
        text=criteria.query,
        labels=tuple(criteria.labels or ()),
        active=criteria.active,
        private=criteria.private,
        owner=criteria.owner.id if criteria.owner else None,
        creator=criteria.creator.id if criteria.creator else None,
        member=criteria.member.id if criteria.member else None,
        sub_type=criteria.sub_type,
        include_hidden=(q.get("includeNonDiscoverable") or "").lower() == "true",
    )
    found, facets = await services(request).streams.search(actor(request), query, skip, limit)
    return ok(
        m.RoomSearchResults(
            count=sum(facets.values()),
            skip=skip,
            limit=limit,
            query=criteria,
            rooms=[detail(s) for s in found],
            faceted_match_count=[m.FacetedMatchCount(facet=f, count=c) for f, c in facets.items()],
        )
    )


async def _user_ids(request: AnyRequest) -> list[int]:
    raw = await request.body()
    try:
        found = msgspec.json.decode(raw, type=list[int])
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SymphonyError(400, f"uidList: a JSON array of user ids is required ({exc})") from None
    refuse_unstorable(raw, found)
    return found


@post("/v1/im/create", status_code=200)
async def create_im(request: AnyRequest) -> Response[bytes]:
    others = await _user_ids(request)
    me = session(request).person_id
    stream = await services(request).streams.im(actor(request), [me, *others])
    return ok(m.Stream(id=stream.stream_id))


@post("/v1/admin/im/create", status_code=200)
async def create_im_admin(request: AnyRequest) -> Response[bytes]:
    who = require(request, ADMINS)
    stream = await services(request).streams.im(who, await _user_ids(request))
    return ok(m.Stream(id=stream.stream_id))


router = Router(
    path="/",
    route_handlers=[
        create_room,
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
