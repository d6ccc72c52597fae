"""Rooms addressed by stream id, their stream attributes and their user members."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, case, cast, delete, exists, func, insert, or_, select, update
from sqlalchemy.sql import ColumnElement, Select

from townhall.domain.models import ChatStream, StreamMember
from townhall.domain.queries import StreamQuery
from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import chat_services, room_affiliations, rooms

# Stream attribute -> rooms column (booleans stored the other way round are negated).
COLUMNS = {
    "name": "natural_name",
    "description": "description",
    "discoverable": "public_room",
    "members_can_invite": "can_occupants_invite",
    "read_only": "read_only",
    "copy_protected": "copy_protected",
    "cross_pod": "cross_pod",
    "view_history": "view_history",
    "multilateral": "multilateral",
    "sub_type": "sub_type",
}
MEMBER_AFFILIATIONS = ("owner", "admin", "member")


def _stream(row: Any) -> ChatStream:
    return ChatStream(
        room_id=row.id,
        stream_id=row.stream_id,
        name=row.natural_name,
        description=row.description,
        keywords=tuple((k["key"], k["value"]) for k in row.keywords or ()),
        public=not row.members_only,
        discoverable=bool(row.public_room),
        members_can_invite=bool(row.can_occupants_invite),
        read_only=bool(row.read_only),
        copy_protected=bool(row.copy_protected),
        cross_pod=bool(row.cross_pod),
        view_history=bool(row.view_history),
        multilateral=bool(row.multilateral),
        sub_type=row.sub_type,
        active=bool(row.active),
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
    )


def _in_tenant(tenant_id: int) -> Select[Any]:
    return (
        select(rooms)
        .join(chat_services, chat_services.c.id == rooms.c.service_id)
        .where(chat_services.c.tenant_id == tenant_id)
    )


async def find(tx: Tx, tenant_id: int, stream_id: str) -> ChatStream | None:
    row = (await tx.execute(_in_tenant(tenant_id).where(rooms.c.stream_id == stream_id))).first()
    return _stream(row) if row else None


async def set_attributes(tx: Tx, room_id: int, values: dict[str, Any]) -> None:
    if values:
        await tx.execute(update(rooms).where(rooms.c.id == room_id).values(**values))


async def members(tx: Tx, room_id: int) -> list[StreamMember]:
    query = (
        select(room_affiliations)
        .where(
            room_affiliations.c.room_id == room_id,
            room_affiliations.c.user_id.is_not(None),
            room_affiliations.c.affiliation.in_(MEMBER_AFFILIATIONS),
        )
        .order_by(room_affiliations.c.id)
    )
    return [
        StreamMember(
            r.user_id, r.affiliation == "owner", as_utc(r.joined_at) if r.joined_at else None
        )
        for r in await tx.execute(query)
    ]


async def set_member(tx: Tx, room_id: int, user_id: int, affiliation: str, now: datetime) -> None:
    """Give the user this affiliation (keeping the original join date)."""
    done = await tx.execute(
        update(room_affiliations)
        .where(room_affiliations.c.room_id == room_id, room_affiliations.c.user_id == user_id)
        .values(affiliation=affiliation)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        await tx.execute(
            insert(room_affiliations).values(
                room_id=room_id, user_id=user_id, affiliation=affiliation, joined_at=now
            )
        )


async def remove_member(tx: Tx, room_id: int, user_id: int) -> None:
    await tx.execute(
        delete(room_affiliations).where(
            room_affiliations.c.room_id == room_id, room_affiliations.c.user_id == user_id
        )
    )


async def im_with(tx: Tx, tenant_id: int, user_ids: Sequence[int]) -> ChatStream | None:
    """The IM whose members are exactly these users, if there is one."""
    wanted = sorted(set(user_ids))
    row = (
        await tx.execute(
            _in_tenant(tenant_id).where(rooms.c.sub_type == "IM", rooms.c.name == im_name(wanted))
        )
    ).first()
    return _stream(row) if row else None


def im_name(user_ids: Sequence[int]) -> str:
    """An IM's room name is its member set, so one set can only ever have one IM."""
    return "im-" + "-".join(str(u) for u in sorted(set(user_ids)))


def _held(user_id: int, affiliations: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(
        room_affiliations.c.room_id == rooms.c.id,
        room_affiliations.c.user_id == user_id,
        room_affiliations.c.affiliation.in_(affiliations),
    )


def _search(tenant_id: int, q: StreamQuery) -> Select[Any]:
    query = _in_tenant(tenant_id).where(or_(rooms.c.sub_type.is_(None), rooms.c.sub_type != "IM"))
    term = q.text.lower()
    if term:
        query = query.where(
            or_(
                func.lower(rooms.c.natural_name).contains(term, autoescape=True),
                func.lower(rooms.c.description).contains(term, autoescape=True),
                func.lower(func.coalesce(cast(rooms.c.keywords, Text), "")).contains(
                    term, autoescape=True
                ),
            )
        )
    if not q.include_hidden:
        query = query.where(rooms.c.public_room.is_(True))
    if q.active is not None:
        query = query.where(rooms.c.active.is_(q.active))
    if q.private is not None:
        query = query.where(rooms.c.members_only.is_(q.private))
    if q.sub_type is not None:
        query = query.where(rooms.c.sub_type == q.sub_type)
    if q.creator is not None:
        query = query.where(rooms.c.created_by == q.creator)
    if q.owner is not None:
        query = query.where(_held(q.owner, ("owner",)))
    if q.member is not None:
        query = query.where(_held(q.member, MEMBER_AFFILIATIONS))
    for label in q.labels:
        query = query.where(
            func.lower(func.coalesce(cast(rooms.c.keywords, Text), "")).contains(
                label.lower(), autoescape=True
            )
        )
    return query


async def search(
    tx: Tx, tenant_id: int, q: StreamQuery, skip: int, limit: int
) -> tuple[list[ChatStream], dict[str, int]]:
    """A page of matches, and how many matches are public and private in all.

    The counts ride on the page's rows as window aggregates, so the matches are found
    once; only a page past the end (no rows to carry them) counts separately."""
    query = _search(tenant_id, q)
    private = func.sum(case((rooms.c.members_only.is_(True), 1), else_=0))
    page = (
        query.add_columns(
            func.count().over().label("total_matches"),
            private.over().label("private_matches"),
        )
        .order_by(rooms.c.natural_name, rooms.c.id)
        .offset(skip)
        .limit(limit)
    )
    rows = (await tx.execute(page)).all()
    if rows:
        total, hidden = int(rows[0].total_matches), int(rows[0].private_matches)
    else:
        matches = query.subquery()
        hidden_ones = func.sum(case((matches.c.members_only.is_(True), 1), else_=0))
        counted = select(
            func.count().label("total"), func.coalesce(hidden_ones, 0).label("hidden")
        ).select_from(matches)
        found = (await tx.execute(counted)).one()
        total, hidden = found.total, found.hidden
    facets = {"PUBLIC": int(total) - int(hidden), "PRIVATE": int(hidden)}
    return [_stream(r) for r in rows], facets
