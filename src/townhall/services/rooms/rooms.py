"""Rooms themselves: creating, saving, changing, listing and deleting them, IMs, and
who is in a room and what was said there.

A room is addressed by name within its chat service (Openfire) or by its stream id
(Symphony); both reach the same `Room`, so a room made through one API is seen and
changed through the other. Rules kept here:
* a service is found by name case-insensitively; saving a room creates its service when
  missing, every other use of an unknown service is NotFound;
* saving a room (Openfire's body) is an upsert that overwrites every setting and leaves
  the conversation attributes as they are; its affiliation lists replace the current
  ones, and a room without owners gets the tenant's `admin`;
* a conversation room (Symphony's) is created in the tenant's default service, named
  after its stream id and owned by its creator; it changes attribute by attribute;
* an IM is the room whose name is its sorted member set, so asking again for the same
  set returns the same room, however many processes race to create it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from townhall.domain import rooms as rules
from townhall.domain.errors import AlreadyExists, DomainError, Invalid, NotFound
from townhall.domain.models import (
    AFFILIATIONS,
    MEMBER_AFFILIATIONS,
    Affiliations,
    ChatService,
    Occupant,
    Room,
    RoomMessage,
    RoomPage,
    RoomSettings,
)
from townhall.domain.principal import Principal
from townhall.domain.queries import MAX_PAGE, RoomFilter
from townhall.services.base import Work
from townhall.services.rooms.base import DEFAULT_SERVICE
from townhall.services.rooms.members import Members
from townhall.store import rooms as store
from townhall.store.database import Tx, UniqueViolation
from townhall.store.rooms import Holder, Located, Party

MAX_IM_MEMBERS = 20
_SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(RoomSettings))
_CONVERSATION_DEFAULTS = RoomSettings(persistent=True, log_enabled=True)


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """A whole room as a client wants it: `affiliations` holds JIDs (or usernames) and
    group names as the client wrote them."""

    name: str
    settings: RoomSettings
    affiliations: Affiliations


@dataclass(frozen=True, slots=True)
class RoomChanges:
    """Some attributes of a room (by their names in `Room` and `RoomSettings`); None
    leaves an attribute as it is."""

    natural_name: str | None = None
    description: str | None = None
    keywords: tuple[tuple[str, str], ...] | None = None
    members_only: bool | None = None
    public_room: bool | None = None
    can_occupants_invite: bool | None = None
    read_only: bool | None = None
    copy_protected: bool | None = None
    cross_pod: bool | None = None
    view_history: bool | None = None
    multilateral: bool | None = None
    sub_type: str | None = None


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """One room of a bulk create: created, already there (left alone), or refused."""

    name: str
    created: bool
    error: DomainError | None = None


class Rooms(Members):
    # -- reading ------------------------------------------------------------------------

    async def get(
        self, actor: Principal, service_name: str, room: str, expand_groups: bool = False
    ) -> Room:
        async with self.db.read() as tx:
            return await self._find(tx, actor, service_name, room, expand_groups)

    async def get_stream(self, actor: Principal, stream_id: str) -> Room:
        async with self.db.read() as tx:
            return await self._by_stream(tx, actor, stream_id)

    async def search(
        self,
        actor: Principal,
        where: RoomFilter,
        offset: int = 0,
        limit: int | None = None,
        service_name: str | None = None,
        expand_groups: bool = False,
    ) -> RoomPage:
        """A page of the rooms matching, in one chat service or (None) in all of them."""
        if offset < 0:
            raise Invalid("offset", "must not be negative")
        if limit is not None and not 0 <= limit <= MAX_PAGE:
            raise Invalid("limit", f"must be between 0 and {MAX_PAGE}")
        domain = actor.tenant.domain
        async with self.db.read() as tx:
            service = await self._service(tx, actor, service_name) if service_name else None
            service_id = service.id if service else None
            found = await store.page(tx, actor.tenant_id, domain, where, service_id, offset, limit)
            if expand_groups:
                expanded = await self._expanded(tx, actor, found.rooms)
                found = dataclasses.replace(found, rooms=expanded)
        return found

    # -- whole rooms (by name) ----------------------------------------------------------

    async def save(
        self,
        actor: Principal,
        service_name: str,
        spec: RoomSpec,
        path_name: str | None = None,
        send_invitations: bool = False,
    ) -> bool:
        """Create or overwrite a room; True if it was created.

        `path_name` is the name the client addressed (an update), which must name the
        same room as the spec.
        """
        name = rules.room_name(spec.name)
        if path_name is not None and rules.lookup(path_name) != name:
            raise Invalid("room_name", "differs from the name of the room addressed", "room")
        try:
            return await self._save(actor, service_name, name, spec, True, send_invitations)
        except AlreadyExists:  # created by another request meanwhile: now it is an update
            return await self._save(actor, service_name, name, spec, True, send_invitations)

    async def create_many(
        self,
        actor: Principal,
        service_name: str,
        specs: Sequence[RoomSpec],
        send_invitations: bool = False,
    ) -> list[BulkOutcome]:
        """Create each room in a unit of its own; a room that exists is left as it is."""
        outcomes = []
        for spec in specs:
            try:
                name = rules.room_name(spec.name)
                created = await self._save(actor, service_name, name, spec, False, send_invitations)
                outcomes.append(BulkOutcome(spec.name, created))
            except AlreadyExists:
                outcomes.append(BulkOutcome(spec.name, False))
            except DomainError as exc:
                outcomes.append(BulkOutcome(spec.name, False, exc))
        return outcomes

    async def delete(self, actor: Principal, service_name: str, room: str) -> None:
        async with self.unit(actor) as work:
            found = await self._locate(work, actor, service_name, room)
            await self._may_change(work, actor, found)
            await store.delete_room(work, found.id)
            work.record("room.deleted", found.label)

    async def _save(
        self,
        actor: Principal,
        service_name: str,
        name: str,
        spec: RoomSpec,
        overwrite: bool,
        send_invitations: bool,
    ) -> bool:
        """Write one room in one unit of work; True if it was created. AlreadyExists if
        it exists and may not be overwritten, or was created meanwhile."""
        service_name = rules.service_name(service_name)
        settings = rules.settings(spec.settings)
        domain = actor.tenant.domain
        async with self.unit(actor) as work:
            service = await self._ensured_service(work, actor.tenant_id, service_name)
            now = self.clock.now()
            # Inserted first: the unique name says whether the room exists, with no
            # look-up before; whatever is refused below undoes the insert with the rest.
            made = await self._insert_new(work, service, name, settings, now)
            created = made is not None
            found = made or await store.locate(work, service.id, name)
            if found is None:  # deleted since the insert met it: the caller tries again
                raise AlreadyExists("room", name)
            if not created and not overwrite:
                raise AlreadyExists("room", name)
            wanted = await self._wanted(work, actor, name, spec.affiliations)
            before: list[Holder] = []
            if not created:
                await self._may_change(work, actor, found)
                before = await store.holders(work, found.id, domain)
                await store.change(work, found.id, _whole(settings, now))
                work.record("room.updated", found.label)
            if _held_set(before) != _held_set(wanted):
                dated = _dated(wanted, before)
                await store.replace_affiliations(work, found.id, dated, now, fresh=created)
            if send_invitations:
                news = [
                    h.party for h in _new(before, wanted) if h.affiliation in MEMBER_AFFILIATIONS
                ]
                await self._invite(work, actor, found.label, news)
        return created

    async def _insert_new(
        self, work: Work, service: ChatService, name: str, settings: RoomSettings, now: datetime
    ) -> Located | None:
        """The room made, or None if the service has one of that name."""
        stream_id = self.deps.ids.stream_id()
        values = {**_whole(settings, now), "created_at": settings.created_at or now}
        try:
            room_id = await store.insert_new_room(work, service.id, name, stream_id, values)
        except UniqueViolation:  # not the name: its stream id, say
            raise AlreadyExists("room", name) from None
        if room_id is None:
            return None
        found = Located(room_id, name, service.name, stream_id, True)
        work.record("room.created", found.label)
        return found

    # -- conversation rooms (by stream id) ----------------------------------------------

    async def create(self, actor: Principal, changes: RoomChanges) -> Room:
        """A new room of the tenant's default service, named after its new stream id
        and owned by the caller, who must be a person."""
        creator = actor.person_id
        values = _checked(changes)
        settings = dataclasses.replace(
            _CONVERSATION_DEFAULTS, **{k: v for k, v in values.items() if k in _SETTING_NAMES}
        )
        conversation = {k: v for k, v in values.items() if k not in _SETTING_NAMES}
        stream_id = self.deps.ids.stream_id()
        async with self.unit(actor) as work:
            found = await self._insert(
                work,
                actor,
                stream_id.lower(),
                stream_id,
                settings,
                created_by=creator,
                **conversation,
            )
            owner = Holder("owner", Party(actor.address, user_id=creator))
            await store.set_affiliation(work, found.id, owner, self.clock.now())
            work.record("room.created", found.label)
            return await self._by_stream(work, actor, stream_id)

    async def update(self, actor: Principal, stream_id: str, changes: RoomChanges) -> Room:
        """Change the attributes `changes` names; changing none records nothing."""
        values = _checked(changes)
        async with self.unit(actor) as work:
            found = await self._locate_stream(work, actor, stream_id)
            await self._may_change(work, actor, found)
            current = await self._by_stream(work, actor, stream_id)
            changed = {k: v for k, v in values.items() if _attribute(current, k) != v}
            if not changed:
                return current
            await store.change(work, found.id, {**changed, "modified_at": self.clock.now()})
            work.record("room.updated", found.label)
            return await self._by_stream(work, actor, stream_id)

    async def set_active(self, actor: Principal, stream_id: str, active: bool) -> Room:
        """(De)activate the room; asking for the state it is in changes nothing."""
        async with self.unit(actor) as work:
            found = await self._locate_stream(work, actor, stream_id)
            await self._may_change(work, actor, found)
            if found.active != active:
                await store.change(work, found.id, {"active": active})
                work.record("room.activated" if active else "room.deactivated", found.label)
            return await self._by_stream(work, actor, stream_id)

    async def im(self, actor: Principal, others: Sequence[int]) -> Room:
        """The IM between the caller (a person) and these people, created on first use."""
        return await self.im_among(actor, [actor.person_id, *others])

    async def im_among(self, actor: Principal, user_ids: Sequence[int]) -> Room:
        """The IM among exactly these people, created on first use."""
        wanted = sorted(set(user_ids))
        if len(wanted) < 2:
            raise Invalid("im_members", "must name at least two different people")
        if len(wanted) > MAX_IM_MEMBERS:
            raise Invalid("im_members", f"may name at most {MAX_IM_MEMBERS} people")
        async with self.db.read() as tx:
            found = await store.im_with(tx, actor.tenant_id, wanted, actor.tenant.domain)
        if found is not None:
            return found
        try:
            return await self._create_im(actor, wanted)
        except AlreadyExists:  # another request created it meanwhile
            async with self.db.read() as tx:
                found = await store.im_with(tx, actor.tenant_id, wanted, actor.tenant.domain)
            assert found is not None
            return found

    async def _create_im(self, actor: Principal, wanted: Sequence[int]) -> Room:
        async with self.unit(actor) as work:
            found = await store.im_with(work, actor.tenant_id, wanted, actor.tenant.domain)
            if found is not None:
                return found
            parties = await self._people(work, actor, wanted)
            stream_id = self.deps.ids.stream_id()
            settings = dataclasses.replace(_CONVERSATION_DEFAULTS, members_only=True)
            try:
                created = await self._insert(
                    work,
                    actor,
                    store.im_name(wanted),
                    stream_id,
                    settings,
                    sub_type=rules.IM,
                    created_by=actor.user_id,
                )
            except UniqueViolation:
                raise AlreadyExists("room", store.im_name(wanted)) from None
            now = self.clock.now()
            for party in parties:
                await store.set_affiliation(work, created.id, Holder("owner", party), now)
            work.record("im.created", created.label)
            return await self._by_stream(work, actor, stream_id)

    async def _insert(
        self,
        work: Work,
        actor: Principal,
        name: str,
        stream_id: str,
        settings: RoomSettings,
        **conversation: Any,
    ) -> Located:
        service = await self._ensured_service(work, actor.tenant_id, DEFAULT_SERVICE)
        now = self.clock.now()
        values = {**_whole(settings, now), **conversation, "created_at": now}
        room_id = await store.insert_room(work, service.id, name, stream_id, values)
        return Located(room_id, name, service.name, stream_id, True)

    async def _by_stream(self, tx: Tx, actor: Principal, stream_id: str) -> Room:
        found = await store.by_stream(tx, actor.tenant_id, stream_id, actor.tenant.domain)
        if found is None:
            raise NotFound("room", stream_id)
        return found

    # -- who is in the room, what was said ----------------------------------------------

    async def occupants(
        self, actor: Principal, service_name: str, room: str, role: str | None = None
    ) -> list[Occupant]:
        """Everyone connected to the room (only those in `role` if given)."""
        domain = actor.tenant.domain
        async with self.db.read() as tx:
            found = await self._locate(tx, actor, service_name, room, lock=False)
            rows = await store.occupants(tx, found.id)
            if not rows:
                return []
            held = await store.holders(tx, found.id, domain)
            members = await store.members_of_groups(
                tx, actor.tenant_id, [h.party.label for h in held if h.party.is_group], domain
            )
        address = f"{found.name}@{found.service.lower()}.{domain}"
        occupants = []
        for row in rows:
            if role is not None and row.role != role:
                continue
            bare = f"{row.username}@{domain}" if row.username else domain
            occupants.append(
                Occupant(
                    nickname=row.nickname,
                    real_jid=f"{bare}/{row.resource}",
                    role=row.role,
                    affiliation=_occupant_affiliation(held, members, Party(bare, row.user_id)),
                    jid=f"{address}/{row.nickname}",
                )
            )
        return occupants

    async def history(self, actor: Principal, service_name: str, room: str) -> list[RoomMessage]:
        async with self.db.read() as tx:
            found = await self._locate(tx, actor, service_name, room, lock=False)
            return await store.messages(tx, found.id)


def _whole(settings: RoomSettings, now: datetime) -> dict[str, Any]:
    """What a whole-room write sets: every setting, the modification date the client gave
    (else now) and the creation date if it gave one (else the room keeps its own)."""
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    values["modified_at"] = settings.modified_at or now
    if settings.created_at is None:
        del values["created_at"]
    return values


def _checked(changes: RoomChanges) -> dict[str, Any]:
    values = {
        f.name: getattr(changes, f.name)
        for f in dataclasses.fields(changes)
        if getattr(changes, f.name) is not None
    }
    if changes.natural_name is not None:
        rules.natural_name(changes.natural_name)
    return values


def _attribute(room: Room, name: str) -> Any:
    return getattr(room.settings if name in _SETTING_NAMES else room, name)


def _held_set(held: Sequence[Holder]) -> set[tuple[str, tuple[str, int | str]]]:
    return {(h.affiliation, h.party.key) for h in held}


def _new(before: Sequence[Holder], after: Sequence[Holder]) -> list[Holder]:
    old = _held_set(before)
    return [h for h in after if (h.affiliation, h.party.key) not in old]


def _dated(wanted: Sequence[Holder], before: Sequence[Holder]) -> list[Holder]:
    """The wanted holders, each with the date it first joined if it is in the room."""
    joined: Mapping[tuple[str, int | str], Any] = {h.party.key: h.joined_at for h in before}
    return [dataclasses.replace(h, joined_at=joined.get(h.party.key)) for h in wanted]


def _occupant_affiliation(
    held: Sequence[Holder], members: dict[str, list[Party]], person: Party
) -> str:
    """A direct affiliation wins; else the strongest one of a group the person is in."""
    direct = next((h.affiliation for h in held if h.party.key == person.key), None)
    if direct is not None:
        return direct
    groups = [h for h in held if h.party.is_group]
    for affiliation in AFFILIATIONS:
        for holder in groups:
            listed = members.get(holder.party.label, [])
            if holder.affiliation == affiliation and any(m.key == person.key for m in listed):
                return affiliation
    return "none"
