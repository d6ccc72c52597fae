"""Chat services, rooms, their affiliations, occupants and history.

Also the few group and user lookups room affiliations need (by name, batched), so the
rooms area does not depend on the groups area's code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.sql import Select

from townhall.domain.models import AFFILIATIONS, Affiliations, ChatService, Room, RoomMessage
from townhall.domain.models import RoomSettings as Settings
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
    affiliation: str
    party: Party


@dataclass(frozen=True, slots=True)
class RoomFilter:
    public_only: bool = False
    search: str | None = None


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
_FIND_ROOM_ID = select(rooms.c.id).where(
    rooms.c.service_id == bindparam("service_id"), rooms.c.name == bindparam("name")
)
_INSERT_ROOM = insert(rooms).returning(rooms.c.id)
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

_SETTINGS = (
    "natural_name",
    "description",
    "password",
    "subject",
    "max_users",
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
    "allow_pm",
)


def _values(
    settings: Settings, created_at: datetime | None, modified_at: datetime
) -> dict[str, Any]:
    values = {name: getattr(settings, name) for name in _SETTINGS}
    values["broadcast_presence_roles"] = list(settings.broadcast_presence_roles)
    values["created_at"] = created_at
    values["modified_at"] = modified_at
    return values


def _settings(row: Any) -> Settings:
    values = {name: getattr(row, name) for name in _SETTINGS}
    return Settings(**values, broadcast_presence_roles=tuple(row.broadcast_presence_roles or ()))


async def find_room_id(tx: Tx, service_id: int, name: str) -> int | None:
    params = {"service_id": service_id, "name": name}
    return (await tx.execute(_FIND_ROOM_ID, params)).scalar()


async def insert_room(
    tx: Tx,
    service_id: int,
    name: str,
    settings: Settings,
    created: datetime,
    modified: datetime,
    stream_id: str,
) -> int:
    params = {
        "service_id": service_id,
        "name": name,
        "stream_id": stream_id,
        **_values(settings, created, modified),
    }
    return int((await tx.execute(_INSERT_ROOM, params)).scalar_one())


async def update_room(
    tx: Tx, room_id: int, settings: Settings, created: datetime | None, modified: datetime
) -> None:
    """Overwrite every setting; `created` None keeps the creation date."""
    values = _values(settings, created, modified)
    if created is None:
        del values["created_at"]
    await tx.execute(update(rooms).where(rooms.c.id == room_id).values(**values))


async def delete_room(tx: Tx, room_id: int) -> None:
    await tx.execute(delete(rooms).where(rooms.c.id == room_id))


def _filtered(query: Select[Any], service_id: int, where: RoomFilter) -> Select[Any]:
    query = query.where(rooms.c.service_id == service_id)
    if where.public_only:
        query = query.where(rooms.c.public_room.is_(True))
    if where.search:
        term = where.search.lower()
        query = query.where(
            or_(
                rooms.c.name.contains(term, autoescape=True),
                func.lower(rooms.c.natural_name).contains(term, autoescape=True),
            )
        )
    return query


async def load_rooms(
    tx: Tx,
    service: ChatService,
    domain: str,
    where: RoomFilter | None = None,
    name: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[Room]:
    """Rooms with their affiliations in two statements, however many rooms there are."""
    where = where or RoomFilter()
    query = _filtered(select(rooms), service.id, where).order_by(rooms.c.name)
    if name is not None:
        query = query.where(rooms.c.name == name)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = (await tx.execute(query)).all()
    if not rows:
        return []
    ids: Iterable[int] | Select[Any] = [row.id for row in rows]
    if len(rows) > _MAX_BOUND_IDS:  # the whole list: scan the service rather than bind ids
        ids = _filtered(select(rooms.c.id), service.id, where)
    held: dict[int, list[Holder]] = defaultdict(list)
    for room_id, holder in await _holders(tx, ids, domain):
        held[room_id].append(holder)
    return [_room(row, service, held.get(row.id, [])) for row in rows]


def _room(row: Any, service: ChatService, held: Sequence[Holder]) -> Room:
    jids: dict[str, list[str]] = {a: [] for a in AFFILIATIONS}
    names: dict[str, list[str]] = {a: [] for a in AFFILIATIONS}
    for holder in held:
        (names if holder.party.is_group else jids)[holder.affiliation].append(holder.party.label)
    return Room(
        id=row.id,
        service=service.name,
        name=row.name,
        settings=_settings(row),
        affiliations=Affiliations(
            jids={a: tuple(v) for a, v in jids.items()},
            groups={a: tuple(v) for a, v in names.items()},
        ),
        created_at=as_utc(row.created_at),
        modified_at=as_utc(row.modified_at),
    )


async def count_rooms(tx: Tx, service_id: int, where: RoomFilter) -> int:
    query = _filtered(select(func.count()).select_from(rooms), service_id, where)
    return int((await tx.execute(query)).scalar_one())


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
            users.c.username,
            groups.c.name.label("group_name"),
        )
        .outerjoin(users, users.c.id == room_affiliations.c.user_id)
        .outerjoin(groups, groups.c.id == room_affiliations.c.group_id)
        .where(room_affiliations.c.room_id.in_(room_ids))
        .order_by(room_affiliations.c.id)
    )
    return [
        (row.room_id, Holder(row.affiliation, _party(row, domain)))
        for row in await tx.execute(query)
    ]


async def holders(tx: Tx, room_id: int, domain: str) -> list[Holder]:
    return [holder for _, holder in await _holders(tx, [room_id], domain)]


def _row(room_id: int, affiliation: str, party: Party) -> dict[str, Any]:
    return {
        "room_id": room_id,
        "affiliation": affiliation,
        "user_id": party.user_id,
        "group_id": party.group_id,
        "jid": None if party.user_id is not None or party.is_group else party.label,
    }


async def replace_affiliations(tx: Tx, room_id: int, wanted: Sequence[Holder]) -> None:
    await tx.execute(_DELETE_AFFILIATIONS, {"room_id": room_id})
    if wanted:
        await tx.execute(
            _INSERT_AFFILIATIONS, [_row(room_id, h.affiliation, h.party) for h in wanted]
        )


async def remove_affiliation(tx: Tx, room_id: int, party: Party) -> None:
    """Also drops a row kept by JID for a local user (granted before the account existed)."""
    if party.group_id is not None:
        match = room_affiliations.c.group_id == party.group_id
    elif party.user_id is not None:
        match = or_(
            room_affiliations.c.user_id == party.user_id, room_affiliations.c.jid == party.label
        )
    else:
        match = room_affiliations.c.jid == party.label
    await tx.execute(delete(room_affiliations).where(room_affiliations.c.room_id == room_id, match))


async def set_affiliation(tx: Tx, room_id: int, party: Party, affiliation: str) -> None:
    await remove_affiliation(tx, room_id, party)
    await tx.execute(insert(room_affiliations).values(**_row(room_id, affiliation, party)))


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


# -- users and groups, by name ----------------------------------------------------------


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
