"""Chat services and rooms, however a room is addressed (by name within its service, or
by stream id), their affiliations, occupants and history.

Also the few group and user lookups room affiliations need (by name or id, batched), so
the rooms area does not depend on the groups or people areas' code.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, case, cast, delete, exists, func, insert, or_, select
from sqlalchemy import update as update_stmt
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement, Select

from townhall.domain.models import (
    AFFILIATIONS,
    MEMBER_AFFILIATIONS,
    Affiliations,
    ChatService,
    Room,
    RoomMember,
    RoomMessage,
    RoomPage,
)
from townhall.domain.models import RoomSettings as Settings
from townhall.domain.queries import RoomFilter
from townhall.domain.rooms import IM
from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx, UniqueViolation
from townhall.store.schema import (
    chat_services,
    group_members,
    groups,
    live_connections,
    room_affiliations,
    room_messages,
    room_occupants,
    rooms,
    users,
)

# Beyond this many ids, a subquery is cheaper than binding every id.
_MAX_BOUND_IDS = 500


@dataclass(frozen=True, slots=True)
class Party:
    """Someone who can hold an affiliation: a local user, a foreign JID or a group.

    `label` is the bare JID (users and JIDs) or the group name. A local user is kept by
    id so a rename carries the affiliation along.
    """

    label: str
    user_id: int | None = None
    group_id: int | None = None

    @property
    def is_group(self) -> bool:
        return self.group_id is not None

    @property
    def key(self) -> tuple[str, int | str]:
        """Identity: a local user and a JID row naming that user are the same party."""
        return ("group", self.group_id) if self.group_id is not None else ("jid", self.label)


@dataclass(frozen=True, slots=True)
class Holder:
    """A party's affiliation with a room, and since when (None: from before dates were
    kept)."""

    affiliation: str
    party: Party
    joined_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Located:
    """A room found to be changed, locked against other writers until the transaction
    ends (FOR UPDATE on PostgreSQL; SQLite's write transactions are serial anyway)."""

    id: int
    name: str
    service: str
    stream_id: str | None
    active: bool

    @property
    def label(self) -> str:
        """`room@service`, how changes of the room are recorded."""
        return f"{self.name}@{self.service}"


@dataclass(frozen=True, slots=True)
class OccupantRow:
    nickname: str
    role: str
    user_id: int | None
    username: str | None
    resource: str


# -- chat services ----------------------------------------------------------------------


def _service(row: Any) -> ChatService:
    return ChatService(row.id, row.tenant_id, row.name, row.description, bool(row.hidden))


async def list_services(tx: Tx, tenant_id: int) -> list[ChatService]:
    query = (
        select(chat_services)
        .where(chat_services.c.tenant_id == tenant_id)
        .order_by(chat_services.c.name_folded)
    )
    return [_service(row) for row in await tx.execute(query)]


# Statements on the room-creation path are built once (building and cache-keying a
# statement costs more than SQLite takes to run it).
_FIND_SERVICE = select(chat_services).where(
    chat_services.c.tenant_id == bindparam("tenant_id"),
    chat_services.c.name_folded == bindparam("name_folded"),
)
_LOCATE = select(
    rooms.c.id,
    rooms.c.name,
    rooms.c.stream_id,
    rooms.c.active,
    chat_services.c.name.label("service_name"),
).join(chat_services, chat_services.c.id == rooms.c.service_id)
_BY_NAME = _LOCATE.where(
    rooms.c.service_id == bindparam("service_id"), rooms.c.name == bindparam("name")
)
_BY_STREAM = _LOCATE.where(
    chat_services.c.tenant_id == bindparam("tenant_id"),
    rooms.c.stream_id == bindparam("stream_id"),
)
_LOCK_BY_NAME = _BY_NAME.with_for_update(of=rooms)
_LOCK_BY_STREAM = _BY_STREAM.with_for_update(of=rooms)
_INSERT_ROOM = insert(rooms).returning(rooms.c.id)
# The same, but a room of that name already there is no error and returns no row: a
# create that finds the name taken learns it from the unique constraint, with no probe
# before it. (SQLite's compiler reads PostgreSQL's ON CONFLICT construct as its own.)
_INSERT_NEW_ROOM = (
    postgresql.insert(rooms)
    .on_conflict_do_nothing(index_elements=[rooms.c.service_id, rooms.c.name])
    .returning(rooms.c.id)
)
_INSERT_AFFILIATIONS = insert(room_affiliations)
_DELETE_AFFILIATIONS = delete(room_affiliations).where(
    room_affiliations.c.room_id == bindparam("room_id")
)


async def find_service(tx: Tx, tenant_id: int, name: str) -> ChatService | None:
    params = {"tenant_id": tenant_id, "name_folded": name.lower()}
    row = (await tx.execute(_FIND_SERVICE, params)).first()
    return _service(row) if row else None


async def insert_service(
    tx: Tx, tenant_id: int, name: str, description: str | None, hidden: bool
) -> ChatService:
    stmt = (
        insert(chat_services)
        .values(
            tenant_id=tenant_id,
            name=name,
            name_folded=name.lower(),
            description=description,
            hidden=hidden,
        )
        .returning(chat_services.c.id)
    )
    service_id = int((await tx.execute(stmt)).scalar_one())
    return ChatService(service_id, tenant_id, name, description, hidden)


async def ensure_service(tx: Tx, tenant_id: int, name: str) -> ChatService:
    """The named service, created (described by its name) if missing, even when another
    transaction creates it at the same moment."""
    found = await find_service(tx, tenant_id, name)
    if found is not None:
        return found
    with suppress(UniqueViolation):
        await tx.savepoint_insert(
            insert(chat_services).values(
                tenant_id=tenant_id, name=name, name_folded=name.lower(), description=name
            )
        )
    created = await find_service(tx, tenant_id, name)
    assert created is not None
    return created


# -- rooms ------------------------------------------------------------------------------

_SETTING_NAMES = tuple(
    f.name for f in dataclasses.fields(Settings) if f.name not in ("created_at", "modified_at")
)
# The conversation attributes of Room, in columns of the same names.
CONVERSATION = (
    "read_only",
    "copy_protected",
    "cross_pod",
    "view_history",
    "multilateral",
    "sub_type",
    "active",
    "created_by",
)
_COLUMN = {"allow_private_messages": "allow_pm"}


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Room attributes, by their names in Room and RoomSettings, as the columns that hold
    them."""
    found: dict[str, Any] = {}
    for name, value in values.items():
        if name == "keywords":
            value = [{"key": k, "value": v} for k, v in value]
        elif name == "broadcast_presence_roles":
            value = list(value)
        found[_COLUMN.get(name, name)] = value
    return found


def _settings(row: Any) -> Settings:
    values = {name: getattr(row, _COLUMN.get(name, name)) for name in _SETTING_NAMES}
    values["broadcast_presence_roles"] = tuple(row.broadcast_presence_roles or ())
    return Settings(**values)


async def locate(tx: Tx, service_id: int, name: str, lock: bool = True) -> Located | None:
    """The room of that name in the service; `lock` keeps other writers off it until
    the transaction ends."""
    params = {"service_id": service_id, "name": name}
    row = (await tx.execute(_LOCK_BY_NAME if lock else _BY_NAME, params)).first()
    return _located(row) if row else None


async def locate_stream(
    tx: Tx, tenant_id: int, stream_id: str, lock: bool = True
) -> Located | None:
    params = {"tenant_id": tenant_id, "stream_id": stream_id}
    row = (await tx.execute(_LOCK_BY_STREAM if lock else _BY_STREAM, params)).first()
    return _located(row) if row else None


def _located(row: Any) -> Located:
    return Located(row.id, row.name, row.service_name, row.stream_id, bool(row.active))


async def insert_room(
    tx: Tx, service_id: int, name: str, stream_id: str, values: Mapping[str, Any]
) -> int:
    """A new room with these attributes (by their names in Room and RoomSettings)."""
    params = {"service_id": service_id, "name": name, "stream_id": stream_id}
    return int((await tx.execute(_INSERT_ROOM, {**params, **_columns(values)})).scalar_one())


async def insert_new_room(
    tx: Tx, service_id: int, name: str, stream_id: str, values: Mapping[str, Any]
) -> int | None:
    """`insert_room`, unless the service has a room of that name (None then)."""
    params = {"service_id": service_id, "name": name, "stream_id": stream_id}
    found = (await tx.execute(_INSERT_NEW_ROOM, {**params, **_columns(values)})).scalar()
    return None if found is None else int(found)


async def change(tx: Tx, room_id: int, values: Mapping[str, Any]) -> None:
    """Set these attributes (by their names in Room and RoomSettings)."""
    if values:
        stmt = update_stmt(rooms).where(rooms.c.id == room_id).values(**_columns(values))
        await tx.execute(stmt)


async def delete_room(tx: Tx, room_id: int) -> None:
    await tx.execute(delete(rooms).where(rooms.c.id == room_id))


def _rooms_of(tenant_id: int) -> Select[Any]:
    return (
        select(rooms, chat_services.c.name.label("service_name"))
        .join(chat_services, chat_services.c.id == rooms.c.service_id)
        .where(chat_services.c.tenant_id == tenant_id)
    )


def _contains(column: Any, term: str) -> ColumnElement[bool]:
    return func.lower(func.coalesce(column, "")).contains(term.lower(), autoescape=True)


def _held_by(user_id: int, affiliations: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(
        room_affiliations.c.room_id == rooms.c.id,
        room_affiliations.c.user_id == user_id,
        room_affiliations.c.affiliation.in_(affiliations),
    )


def _filtered(query: Select[Any], where: RoomFilter, service_id: int | None) -> Select[Any]:
    if service_id is not None:
        query = query.where(rooms.c.service_id == service_id)
    keywords = cast(rooms.c.keywords, Text)
    conditions: list[ColumnElement[bool]] = []
    if where.name_contains:
        conditions.append(
            or_(
                rooms.c.name.contains(where.name_contains.lower(), autoescape=True),
                _contains(rooms.c.natural_name, where.name_contains),
            )
        )
    if where.text:
        conditions.append(
            or_(
                _contains(rooms.c.natural_name, where.text),
                _contains(rooms.c.description, where.text),
                _contains(keywords, where.text),
            )
        )
    conditions += [_contains(keywords, label) for label in where.labels]
    if where.listed_only:
        conditions.append(rooms.c.public_room.is_(True))
    if where.active is not None:
        conditions.append(rooms.c.active.is_(where.active))
    if where.members_only is not None:
        conditions.append(rooms.c.members_only.is_(where.members_only))
    if where.sub_type is not None:
        conditions.append(rooms.c.sub_type == where.sub_type)
    if not where.include_ims:
        conditions.append(or_(rooms.c.sub_type.is_(None), rooms.c.sub_type != IM))
    if where.creator is not None:
        conditions.append(rooms.c.created_by == where.creator)
    if where.owner is not None:
        conditions.append(_held_by(where.owner, ("owner",)))
    if where.member is not None:
        conditions.append(_held_by(where.member, MEMBER_AFFILIATIONS))
    return query.where(*conditions)


async def page(
    tx: Tx,
    tenant_id: int,
    domain: str,
    where: RoomFilter,
    service_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> RoomPage:
    """A page of the rooms matching, with their affiliations, and how many match in all
    and how many of those are members-only.

    Within one chat service rooms come by name (their address), across services by
    natural name (what people read). The counts ride on the page's rows as window
    aggregates, so the matches are found once; only a page past the end (no rows to
    carry them) counts apart. The affiliations of the whole page take one statement."""
    matches = _filtered(_rooms_of(tenant_id), where, service_id)
    members_only = func.sum(case((rooms.c.members_only.is_(True), 1), else_=0))
    order = (rooms.c.name,) if service_id is not None else (rooms.c.natural_name, rooms.c.id)
    query = (
        matches.add_columns(
            func.count().over().label("total_matches"),
            members_only.over().label("members_only_matches"),
        )
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    rows = (await tx.execute(query)).all()
    if rows:
        total, closed = int(rows[0].total_matches), int(rows[0].members_only_matches)
    elif offset or limit == 0:
        counted = matches.subquery()
        closed_ones = func.sum(case((counted.c.members_only.is_(True), 1), else_=0))
        counts = select(
            func.count().label("total"), func.coalesce(closed_ones, 0).label("closed")
        ).select_from(counted)
        found = (await tx.execute(counts)).one()
        total, closed = int(found.total), int(found.closed)
    else:
        total, closed = 0, 0
    ids: Iterable[int] | Select[Any] = [row.id for row in rows]
    if len(rows) > _MAX_BOUND_IDS:  # a long page: scan the matches rather than bind ids
        of_tenant = select(rooms.c.id).join(chat_services, chat_services.c.id == rooms.c.service_id)
        ids = _filtered(of_tenant.where(chat_services.c.tenant_id == tenant_id), where, service_id)
    return RoomPage(await _with_holders(tx, rows, ids, domain), total, closed)


async def by_name(tx: Tx, tenant_id: int, service_id: int, name: str, domain: str) -> Room | None:
    query = _rooms_of(tenant_id).where(rooms.c.service_id == service_id, rooms.c.name == name)
    return await _one(tx, query, domain)


async def by_stream(tx: Tx, tenant_id: int, stream_id: str, domain: str) -> Room | None:
    return await _one(tx, _rooms_of(tenant_id).where(rooms.c.stream_id == stream_id), domain)


async def im_with(tx: Tx, tenant_id: int, user_ids: Sequence[int], domain: str) -> Room | None:
    """The IM whose members are exactly these users, if there is one."""
    name = im_name(user_ids)
    query = _rooms_of(tenant_id).where(rooms.c.sub_type == IM, rooms.c.name == name)
    return await _one(tx, query, domain)


def im_name(user_ids: Sequence[int]) -> str:
    """An IM's room name is its member set, so one set can only ever have one IM."""
    return "im-" + "-".join(str(u) for u in sorted(set(user_ids)))


async def _one(tx: Tx, query: Select[Any], domain: str) -> Room | None:
    rows = (await tx.execute(query)).all()
    found = await _with_holders(tx, rows, [row.id for row in rows], domain)
    return found[0] if found else None


async def _with_holders(
    tx: Tx, rows: Sequence[Any], ids: Iterable[int] | Select[Any], domain: str
) -> list[Room]:
    if not rows:
        return []
    held: dict[int, list[Holder]] = defaultdict(list)
    for room_id, holder in await _holders(tx, ids, domain):
        held[room_id].append(holder)
    return [_room(row, held.get(row.id, [])) for row in rows]


def _room(row: Any, held: Sequence[Holder]) -> Room:
    jids: dict[str, list[str]] = {a: [] for a in AFFILIATIONS}
    names: dict[str, list[str]] = {a: [] for a in AFFILIATIONS}
    for holder in held:
        (names if holder.party.is_group else jids)[holder.affiliation].append(holder.party.label)
    return Room(
        id=row.id,
        service=row.service_name,
        name=row.name,
        settings=_settings(row),
        affiliations=Affiliations(
            jids={a: tuple(v) for a, v in jids.items()},
            groups={a: tuple(v) for a, v in names.items()},
        ),
        created_at=as_utc(row.created_at),
        modified_at=as_utc(row.modified_at),
        stream_id=row.stream_id,
        keywords=tuple((k["key"], k["value"]) for k in row.keywords or ()),
        **{name: getattr(row, name) for name in CONVERSATION},
    )


# -- affiliations -----------------------------------------------------------------------


def _party(row: Any, domain: str) -> Party:
    if row.user_id is not None:
        return Party(f"{row.username}@{domain}", user_id=row.user_id)
    if row.group_id is not None:
        return Party(row.group_name, group_id=row.group_id)
    return Party(row.jid)


async def _holders(
    tx: Tx, room_ids: Iterable[int] | Select[Any], domain: str
) -> list[tuple[int, Holder]]:
    query = (
        select(
            room_affiliations.c.room_id,
            room_affiliations.c.affiliation,
            room_affiliations.c.user_id,
            room_affiliations.c.jid,
            room_affiliations.c.group_id,
            room_affiliations.c.joined_at,
            users.c.username,
            groups.c.name.label("group_name"),
        )
        .outerjoin(users, users.c.id == room_affiliations.c.user_id)
        .outerjoin(groups, groups.c.id == room_affiliations.c.group_id)
        .where(room_affiliations.c.room_id.in_(room_ids))
        .order_by(room_affiliations.c.id)
    )
    return [
        (row.room_id, Holder(row.affiliation, _party(row, domain), _joined(row.joined_at)))
        for row in await tx.execute(query)
    ]


def _joined(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


async def holders(tx: Tx, room_id: int, domain: str) -> list[Holder]:
    return [holder for _, holder in await _holders(tx, [room_id], domain)]


async def members(tx: Tx, room_id: int) -> list[RoomMember]:
    """The people affiliated as owner, admin or member, in the order they were added."""
    query = (
        select(
            room_affiliations.c.user_id,
            room_affiliations.c.affiliation,
            room_affiliations.c.joined_at,
        )
        .where(
            room_affiliations.c.room_id == room_id,
            room_affiliations.c.user_id.is_not(None),
            room_affiliations.c.affiliation.in_(MEMBER_AFFILIATIONS),
        )
        .order_by(room_affiliations.c.id)
    )
    return [
        RoomMember(row.user_id, row.affiliation, _joined(row.joined_at))
        for row in await tx.execute(query)
    ]


def _row(room_id: int, holder: Holder, now: datetime) -> dict[str, Any]:
    party = holder.party
    return {
        "room_id": room_id,
        "affiliation": holder.affiliation,
        "user_id": party.user_id,
        "group_id": party.group_id,
        "jid": None if party.user_id is not None or party.is_group else party.label,
        "joined_at": holder.joined_at or now,
    }


async def replace_affiliations(
    tx: Tx, room_id: int, wanted: Sequence[Holder], now: datetime, fresh: bool = False
) -> None:
    """Make the room's affiliations exactly these (one statement for all of them); a
    holder without a join date joins `now`. `fresh`: the room was made in this
    transaction, so there are none to remove."""
    if not fresh:
        await tx.execute(_DELETE_AFFILIATIONS, {"room_id": room_id})
    if wanted:
        await tx.execute(_INSERT_AFFILIATIONS, [_row(room_id, h, now) for h in wanted])


def _of_party(room_id: int, party: Party) -> ColumnElement[bool]:
    """The party's rows, with a row kept by JID for a local user (granted before the
    account existed)."""
    if party.group_id is not None:
        match = room_affiliations.c.group_id == party.group_id
    elif party.user_id is not None:
        match = or_(
            room_affiliations.c.user_id == party.user_id, room_affiliations.c.jid == party.label
        )
    else:
        match = room_affiliations.c.jid == party.label
    return (room_affiliations.c.room_id == room_id) & match


async def affiliation_of(tx: Tx, room_id: int, party: Party) -> str | None:
    query = select(room_affiliations.c.affiliation).where(_of_party(room_id, party)).limit(1)
    return (await tx.execute(query)).scalar()


async def remove_affiliation(tx: Tx, room_id: int, party: Party) -> None:
    await tx.execute(delete(room_affiliations).where(_of_party(room_id, party)))


async def set_affiliation(tx: Tx, room_id: int, holder: Holder, now: datetime) -> None:
    """Give the party this affiliation in place of any other it holds, keeping the date
    it first joined the room (`now` if it had none)."""
    first = select(func.min(room_affiliations.c.joined_at)).where(_of_party(room_id, holder.party))
    joined = (await tx.execute(first)).scalar()
    await remove_affiliation(tx, room_id, holder.party)
    row = _row(room_id, holder, now)
    if joined is not None:
        row["joined_at"] = joined
    await tx.execute(insert(room_affiliations).values(**row))


async def count_with_affiliation(tx: Tx, room_id: int, affiliation: str) -> int:
    query = (
        select(func.count())
        .select_from(room_affiliations)
        .where(
            room_affiliations.c.room_id == room_id,
            room_affiliations.c.affiliation == affiliation,
        )
    )
    return int((await tx.execute(query)).scalar_one())


# -- users and groups, by name or id ----------------------------------------------------


_USER_IDS = select(users.c.username, users.c.id).where(
    users.c.tenant_id == bindparam("tenant_id"),
    users.c.username.in_(bindparam("names", expanding=True)),
)
_GROUP_IDS = select(groups.c.name, groups.c.id).where(
    groups.c.tenant_id == bindparam("tenant_id"),
    groups.c.name.in_(bindparam("names", expanding=True)),
)


async def user_ids(tx: Tx, tenant_id: int, usernames: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(usernames))
    if not wanted:
        return {}
    params = {"tenant_id": tenant_id, "names": wanted}
    return {row.username: row.id for row in await tx.execute(_USER_IDS, params)}


async def usernames(tx: Tx, tenant_id: int, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(users.c.id, users.c.username).where(
        users.c.tenant_id == tenant_id, users.c.id.in_(wanted)
    )
    return {row.id: row.username for row in await tx.execute(query)}


async def group_ids(tx: Tx, tenant_id: int, names: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(names))
    if not wanted:
        return {}
    params = {"tenant_id": tenant_id, "names": wanted}
    return {row.name: row.id for row in await tx.execute(_GROUP_IDS, params)}


async def members_of_groups(
    tx: Tx, tenant_id: int, names: Iterable[str], domain: str
) -> dict[str, list[Party]]:
    """Everyone in each named group, admins included (both belong to the group)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    query = (
        select(
            groups.c.name.label("group_name"),
            group_members.c.user_id,
            group_members.c.jid,
            users.c.username,
        )
        .join(group_members, group_members.c.group_id == groups.c.id)
        .outerjoin(users, users.c.id == group_members.c.user_id)
        .where(groups.c.tenant_id == tenant_id, groups.c.name.in_(wanted))
        .order_by(group_members.c.id)
    )
    found: dict[str, list[Party]] = defaultdict(list)
    for row in await tx.execute(query):
        if row.user_id is not None:
            found[row.group_name].append(Party(f"{row.username}@{domain}", user_id=row.user_id))
        else:
            found[row.group_name].append(Party(row.jid))
    return dict(found)


# -- occupants and history --------------------------------------------------------------


async def occupants(tx: Tx, room_id: int) -> list[OccupantRow]:
    query = (
        select(
            room_occupants.c.nickname,
            room_occupants.c.role,
            live_connections.c.user_id,
            live_connections.c.resource,
            users.c.username,
        )
        .join(live_connections, live_connections.c.id == room_occupants.c.session_id)
        .outerjoin(users, users.c.id == live_connections.c.user_id)
        .where(room_occupants.c.room_id == room_id)
        .order_by(room_occupants.c.nickname)
    )
    return [
        OccupantRow(row.nickname, row.role, row.user_id, row.username, row.resource)
        for row in await tx.execute(query)
    ]


async def messages(tx: Tx, room_id: int) -> list[RoomMessage]:
    query = (
        select(room_messages)
        .where(room_messages.c.room_id == room_id, room_messages.c.suppressed.is_(False))
        .order_by(room_messages.c.sent_at, room_messages.c.id)
    )
    return [
        RoomMessage(row.sender, row.recipient, row.type, row.body, as_utc(row.sent_at))
        for row in await tx.execute(query)
    ]
