"""Chat services and rooms: settings, affiliations, occupants, history and invitations.

Rules kept here (the Openfire MUC service's, which every dialect shares):
* a service is found by name case-insensitively; creating or updating a room creates
  its service when missing, every other use of an unknown service is NotFound;
* room names are JID nodes (lower-cased);
* saving a room is an upsert that overwrites every setting; its affiliation lists replace
  the current ones, a room without owners gets the tenant's `admin`, and a party listed
  twice is a Conflict;
* one party holds at most one affiliation, granting another replaces it, and a room
  always keeps an owner.

Nobody is connected over XMPP yet, so an invitation is recorded (audited and published
as `room.invited`) for a connection layer to deliver, rather than sent.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Literal

from townhall.domain import names
from townhall.domain.errors import AlreadyExists, Conflict, DomainError, Invalid, NotFound
from townhall.domain.models import (
    AFFILIATIONS,
    Affiliations,
    ChatService,
    Occupant,
    Room,
    RoomMessage,
    RoomSettings,
)
from townhall.domain.principal import Principal
from townhall.domain.queries import MAX_PAGE
from townhall.services.base import Service
from townhall.store import rooms as store
from townhall.store.database import Tx, UniqueViolation
from townhall.store.rooms import Holder, Party, RoomFilter

DEFAULT_SERVICE = "conference"
DEFAULT_SERVICE_DESCRIPTION = "Public Chatrooms"
DEFAULT_OWNER = "admin"
ALLOW_PM = ("anyone", "participants", "moderators", "none")
ROLES = ("moderator", "participant", "visitor")
ROOM_TYPES = ("public", "all")
INVITED = ("owner", "admin", "member")  # affiliations that get an invitation when granted
_NOT_IN_DOMAIN = frozenset("@/\\\"&'<>:")

# How a name given for a party is read:
#   "jid":   with an `@` a JID, otherwise a local username;
#   "any":   exactly one `@` makes a JID, else an existing group, else a local username;
#   "group": an existing group first, else as "any".
Reading = Literal["jid", "any", "group"]


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """A room as a client wants it: `affiliations` holds JIDs (or usernames) and group
    names as the client wrote them."""

    name: str
    settings: RoomSettings
    affiliations: Affiliations


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """One room of a bulk create: created, already there (left alone), or refused."""

    name: str
    created: bool
    error: DomainError | None = None


class RoomService(Service):
    # -- chat services ------------------------------------------------------------------

    async def list_services(self, actor: Principal) -> list[ChatService]:
        async with self.db.read() as tx:
            return await store.list_services(tx, actor.tenant_id)

    async def create_service(
        self, actor: Principal, name: str, description: str | None, hidden: bool
    ) -> ChatService:
        name = _service_name(name, "serviceName")
        async with self.change(actor, "chat_service.created", name) as tx:
            try:
                return await store.insert_service(tx, actor.tenant_id, name, description, hidden)
            except UniqueViolation:
                raise AlreadyExists("chat_service", name) from None

    async def ensure_default_service(self, actor: Principal) -> None:
        """The `conference` service every tenant starts with, as on a fresh Openfire."""
        async with self.db.read() as tx:
            if await store.find_service(tx, actor.tenant_id, DEFAULT_SERVICE):
                return
        with suppress(AlreadyExists):  # another process was first
            await self.create_service(actor, DEFAULT_SERVICE, DEFAULT_SERVICE_DESCRIPTION, False)

    # -- rooms --------------------------------------------------------------------------

    async def list_rooms(
        self,
        actor: Principal,
        service_name: str,
        kind: str = "public",
        search: str | None = None,
        expand_groups: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[list[Room], int]:
        """Rooms by name; `kind` is `public` (listed in the directory) or `all`, and any
        other kind matches nothing."""
        if offset < 0:
            raise Invalid("start", "start must not be negative")
        if limit is not None and not 0 <= limit <= MAX_PAGE:
            raise Invalid("limit", f"limit must be between 0 and {MAX_PAGE}")
        async with self.db.read() as tx:
            service = await self._service(tx, actor, service_name)
            if kind not in ROOM_TYPES:
                return [], 0
            where = RoomFilter(public_only=kind == "public", search=search or None)
            found = await store.load_rooms(
                tx, service, actor.tenant.domain, where, offset=offset, limit=limit
            )
            paged = offset or limit is not None
            total = await store.count_rooms(tx, service.id, where) if paged else len(found)
            if expand_groups:
                found = await self._expanded(tx, actor, found)
        return found, total

    async def get_room(
        self, actor: Principal, service_name: str, room: str, expand_groups: bool = False
    ) -> Room:
        async with self.db.read() as tx:
            service = await self._service(tx, actor, service_name)
            found = await store.load_rooms(tx, service, actor.tenant.domain, name=_lookup(room))
            if not found:
                raise NotFound("room", room)
            if expand_groups:
                found = await self._expanded(tx, actor, found)
        return found[0]

    async def save_room(
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
        name = names.node(spec.name or "", "roomName")
        if path_name is not None and _lookup(path_name) != name:
            raise Invalid(
                "roomName",
                "Could not update the channel. The room name is different to the entity room name.",
            )
        try:
            created, news = await self._save(actor, service_name, name, spec, overwrite=True)
        except AlreadyExists:  # created by another request meanwhile: now it is an update
            created, news = await self._save(actor, service_name, name, spec, overwrite=True)
        if send_invitations:
            await self._invite_new(actor, f"{name}@{service_name}", news)
        return created

    async def create_rooms(
        self,
        actor: Principal,
        service_name: str,
        specs: Sequence[RoomSpec],
        send_invitations: bool = False,
    ) -> list[BulkOutcome]:
        """Create each room on its own; a room that exists already is left as it is."""
        outcomes = []
        for spec in specs:
            try:
                name = names.node(spec.name or "", "roomName")
                created, news = await self._save(actor, service_name, name, spec, overwrite=False)
                if send_invitations:
                    await self._invite_new(actor, f"{name}@{service_name}", news)
                outcomes.append(BulkOutcome(spec.name, created))
            except AlreadyExists:
                outcomes.append(BulkOutcome(spec.name, False))
            except DomainError as exc:
                outcomes.append(BulkOutcome(spec.name, False, exc))
        return outcomes

    async def delete_room(self, actor: Principal, service_name: str, room: str) -> None:
        async with self.change(actor, "room.deleted", f"{room}@{service_name}") as tx:
            room_id, _ = await self._room(tx, actor, service_name, room)
            await store.delete_room(tx, room_id)

    async def _save(
        self, actor: Principal, service_name: str, name: str, spec: RoomSpec, overwrite: bool
    ) -> tuple[bool, list[Holder]]:
        """(created, the affiliations that are new) after writing one room."""
        service_name = _service_name(service_name, "servicename")
        _check(spec.settings)
        async with self.db.read() as tx:
            service = await store.find_service(tx, actor.tenant_id, service_name)
            existed = bool(service and await store.find_room_id(tx, service.id, name))
        if existed and not overwrite:
            raise AlreadyExists("room", name)
        action = "room.updated" if existed else "room.created"
        async with self.change(actor, action, f"{name}@{service_name}") as tx:
            service = await store.ensure_service(tx, actor.tenant_id, service_name)
            wanted = await self._wanted(tx, actor, name, spec.affiliations)
            now = self.clock.now()
            modified = spec.settings.modified_at or now
            room_id = await store.find_room_id(tx, service.id, name)
            before: list[Holder] = []
            if room_id is None:
                try:
                    created_at = spec.settings.created_at or now
                    room_id = await store.insert_room(
                        tx,
                        service.id,
                        name,
                        spec.settings,
                        created_at,
                        modified,
                        self.deps.ids.stream_id(),
                    )
                except UniqueViolation:
                    raise AlreadyExists("room", name) from None  # created meanwhile
            elif not overwrite:
                raise AlreadyExists("room", name)
            else:
                before = await store.holders(tx, room_id, actor.tenant.domain)
                await store.update_room(
                    tx, room_id, spec.settings, spec.settings.created_at, modified
                )
            if _held_set(before) != _held_set(wanted):
                await store.replace_affiliations(tx, room_id, wanted)
        return not existed, _new(before, wanted)

    async def _wanted(
        self, tx: Tx, actor: Principal, room: str, given: Affiliations
    ) -> list[Holder]:
        """The affiliations a room body asks for, resolved, with the default owner."""
        items = []
        for affiliation in AFFILIATIONS:
            values = given.jids.get(affiliation) or ()
            if affiliation == "owner" and not values:
                values = (actor.jid(DEFAULT_OWNER),)
            items += [(affiliation, f"{affiliation}s", value) for value in values]
        parties = await self._parties(tx, actor, [(f, v) for _, f, v in items], "jid")
        wanted = [Holder(a, p) for (a, _, _), p in zip(items, parties, strict=True)]
        group_names = {a: given.groups.get(a) or () for a in AFFILIATIONS}
        found = await store.group_ids(tx, actor.tenant_id, _flat(group_names.values()))
        for affiliation, listed in group_names.items():
            for group in listed:
                if group not in found:
                    raise Invalid(f"{affiliation}Groups", f"There is no group named {group!r}")
                wanted.append(Holder(affiliation, Party(group, group_id=found[group])))
        seen: set[tuple[str, int | str]] = set()
        twice = set()
        for holder in wanted:
            if holder.party.key in seen:
                twice.add(holder.party.label)
            seen.add(holder.party.key)
        if twice:
            raise Conflict(
                "room",
                room,
                "The requested room defines duplicate affiliations for the following "
                f"entities: {', '.join(sorted(twice))}",
            )
        return wanted

    # -- affiliations -------------------------------------------------------------------

    async def with_affiliation(
        self, actor: Principal, service_name: str, room: str, affiliation: str
    ) -> tuple[str, ...]:
        """The bare JIDs holding `affiliation` directly (groups are listed apart)."""
        found = await self.get_room(actor, service_name, room)
        return found.affiliations.jids.get(affiliation, ())

    async def grant(
        self,
        actor: Principal,
        service_name: str,
        room: str,
        affiliation: str,
        who: str,
        as_group: bool = False,
        send_invitations: bool = False,
    ) -> None:
        """Give one user, JID or group `affiliation`, replacing any other it holds."""
        subject = f"{who} as {affiliation} of {room}@{service_name}"
        async with self.change(actor, "room.affiliation.granted", subject) as tx:
            room_id, label = await self._room(tx, actor, service_name, room)
            reading: Reading = "group" if as_group else "any"
            party = (await self._parties(tx, actor, [("jid", who)], reading))[0]
            before = await store.holders(tx, room_id, actor.tenant.domain)
            if _affiliation_of(before, party) == affiliation:
                return
            await store.set_affiliation(tx, room_id, party, affiliation)
            await self._keep_an_owner(tx, room_id, label)
        if send_invitations:
            await self._invite_new(actor, label, [Holder(affiliation, party)])

    async def revoke(
        self,
        actor: Principal,
        service_name: str,
        room: str,
        affiliation: str,
        who: str,
        as_group: bool = False,
    ) -> None:
        """Take `affiliation` away; a Conflict if the party does not hold exactly that."""
        subject = f"{who} as {affiliation} of {room}@{service_name}"
        async with self.change(actor, "room.affiliation.revoked", subject) as tx:
            room_id, _ = await self._room(tx, actor, service_name, room)
            reading: Reading = "group" if as_group else "any"
            party = (await self._parties(tx, actor, [("jid", who)], reading))[0]
            before = await store.holders(tx, room_id, actor.tenant.domain)
            if _affiliation_of(before, party) != affiliation:
                raise Conflict(
                    "room_affiliation", who, "Entity does not have this affiliation with the room."
                )
            await store.remove_affiliation(tx, room_id, party)
            await self._keep_an_owner(tx, room_id, who)

    async def set_affiliated(
        self,
        actor: Principal,
        service_name: str,
        room: str,
        affiliation: str,
        values: Sequence[str],
        replace: bool,
        send_invitations: bool = False,
    ) -> None:
        """Grant `affiliation` to every JID (or username) listed; with `replace`, also
        take it from every user or JID not listed. Groups are left alone."""
        action = "room.affiliations.replaced" if replace else "room.affiliations.added"
        subject = f"{affiliation}s of {room}@{service_name}"
        async with self.change(actor, action, subject) as tx:
            room_id, label = await self._room(tx, actor, service_name, room)
            field = f"{affiliation}s"
            parties = await self._parties(tx, actor, [(field, v) for v in values], "jid")
            listed = {p.key: p for p in parties}
            before = await store.holders(tx, room_id, actor.tenant.domain)
            news = [
                Holder(affiliation, p)
                for p in listed.values()
                if _affiliation_of(before, p) != affiliation
            ]
            for holder in news:
                await store.set_affiliation(tx, room_id, holder.party, affiliation)
            if replace:
                for holder in before:
                    gone = holder.party.key not in listed and not holder.party.is_group
                    if gone and holder.affiliation == affiliation:
                        await store.remove_affiliation(tx, room_id, holder.party)
            await self._keep_an_owner(tx, room_id, label)
        if send_invitations:
            await self._invite_new(actor, label, news)

    async def _keep_an_owner(self, tx: Tx, room_id: int, subject: str) -> None:
        if await store.count_with_affiliation(tx, room_id, "owner") == 0:
            raise Conflict("room_affiliation", subject, "A room must keep at least one owner.")

    # -- who is in the room, what was said ----------------------------------------------

    async def occupants(
        self, actor: Principal, service_name: str, room: str, role: str | None = None
    ) -> list[Occupant]:
        """Everyone connected to the room (only those in `role` if given)."""
        domain = actor.tenant.domain
        async with self.db.read() as tx:
            service = await self._service(tx, actor, service_name)
            room_id, name = await self._room_in(tx, service, room)
            rows = await store.occupants(tx, room_id)
            if not rows:
                return []
            held = await store.holders(tx, room_id, domain)
            members = await store.members_of_groups(
                tx, actor.tenant_id, [h.party.label for h in held if h.party.is_group], domain
            )
        address = f"{name}@{service.name.lower()}.{domain}"
        found = []
        for row in rows:
            if role is not None and row.role != role:
                continue
            bare = f"{row.username}@{domain}" if row.username else domain
            found.append(
                Occupant(
                    nickname=row.nickname,
                    real_jid=f"{bare}/{row.resource}",
                    role=row.role,
                    affiliation=_occupant_affiliation(held, members, Party(bare, row.user_id)),
                    jid=f"{address}/{row.nickname}",
                )
            )
        return found

    async def history(self, actor: Principal, service_name: str, room: str) -> list[RoomMessage]:
        async with self.db.read() as tx:
            room_id, _ = await self._room(tx, actor, service_name, room)
            return await store.messages(tx, room_id)

    # -- invitations ----------------------------------------------------------------------

    async def invite(
        self,
        actor: Principal,
        service_name: str,
        room: str,
        invitees: Sequence[str],
        reason: str | None,
    ) -> list[str]:
        """Invite users, JIDs or every member of a group; returns the JIDs invited."""
        async with self.db.read() as tx:
            _, label = await self._room(tx, actor, service_name, room)
            parties = await self._parties(tx, actor, [("jidsToInvite", v) for v in invitees], "any")
            jids = await self._addresses(tx, actor, parties)
        await self._record_invitations(actor, label, jids, reason)
        return jids

    async def _invite_new(self, actor: Principal, label: str, news: Sequence[Holder]) -> None:
        parties = [h.party for h in news if h.affiliation in INVITED]
        if not parties:
            return
        async with self.db.read() as tx:
            jids = await self._addresses(tx, actor, parties)
        await self._record_invitations(actor, label, jids, None)

    async def _addresses(self, tx: Tx, actor: Principal, parties: Sequence[Party]) -> list[str]:
        """Bare JIDs to send to: a group stands for its members."""
        groups = [p.label for p in parties if p.is_group]
        members = await store.members_of_groups(tx, actor.tenant_id, groups, actor.tenant.domain)
        jids: dict[str, None] = {}
        for party in parties:
            for one in members.get(party.label, []) if party.is_group else [party]:
                jids[one.label] = None
        return list(jids)

    async def _record_invitations(
        self, actor: Principal, label: str, jids: Sequence[str], reason: str | None
    ) -> None:
        if not jids:
            return
        details = json.dumps({"room": label, "invitees": list(jids), "reason": reason})
        subject = f"{label} -> {', '.join(jids)}"
        async with self.change(actor, "room.invited", subject, details):
            pass

    # -- lookups --------------------------------------------------------------------------

    async def _service(self, tx: Tx, actor: Principal, name: str) -> ChatService:
        found = await store.find_service(tx, actor.tenant_id, name)
        if found is None:
            raise NotFound("chat_service", name)
        return found

    async def _room(
        self, tx: Tx, actor: Principal, service_name: str, room: str
    ) -> tuple[int, str]:
        """(room id, `room@service`) or NotFound for the service or the room."""
        service = await self._service(tx, actor, service_name)
        room_id, name = await self._room_in(tx, service, room)
        return room_id, f"{name}@{service.name}"

    async def _room_in(self, tx: Tx, service: ChatService, room: str) -> tuple[int, str]:
        name = _lookup(room)
        room_id = await store.find_room_id(tx, service.id, name)
        if room_id is None:
            raise NotFound("room", room)
        return room_id, name

    async def _parties(
        self, tx: Tx, actor: Principal, items: Sequence[tuple[str, str]], reading: Reading
    ) -> list[Party]:
        """Resolve (field, name) pairs to parties in two statements, whatever their number."""
        domain = actor.tenant.domain
        values = [value.strip() for _, value in items]
        groups = {} if reading == "jid" else await store.group_ids(tx, actor.tenant_id, values)
        resolved: list[Party | str] = []
        for (field, _), value in zip(items, values, strict=True):
            if value in groups and (reading == "group" or value.count("@") != 1):
                resolved.append(Party(value, group_id=groups[value]))
            else:
                resolved.append(_bare_jid(value, field, domain))
        local = [jid.rpartition("@")[0] for jid in resolved if isinstance(jid, str)]
        ids = await store.user_ids(tx, actor.tenant_id, local)
        return [
            p if isinstance(p, Party) else Party(p, user_id=_local_id(p, domain, ids))
            for p in resolved
        ]

    async def _expanded(self, tx: Tx, actor: Principal, found: list[Room]) -> list[Room]:
        """Rooms whose user lists also name every member of their affiliated groups."""
        wanted = _flat(g for room in found for g in room.affiliations.groups.values())
        members = await store.members_of_groups(tx, actor.tenant_id, wanted, actor.tenant.domain)
        expanded = []
        for room in found:
            jids = {}
            for affiliation, listed in room.affiliations.jids.items():
                everyone = dict.fromkeys(listed)
                for group in room.affiliations.groups.get(affiliation, ()):
                    everyone.update(dict.fromkeys(p.label for p in members.get(group, [])))
                jids[affiliation] = tuple(everyone)
            affiliations = dataclasses.replace(room.affiliations, jids=jids)
            expanded.append(dataclasses.replace(room, affiliations=affiliations))
        return expanded


# -- rules on names and settings ----------------------------------------------------------


def _lookup(room: str) -> str:
    """A room name as stored; a name that cannot be a room names no room."""
    try:
        return names.node(room, "roomName")
    except Invalid:
        raise NotFound("room", room) from None


def _service_name(value: str | None, field: str) -> str:
    name = (value or "").strip()
    if not name:
        raise Invalid(field, f"{field} must not be empty")
    if len(name) > 200:
        raise Invalid(field, f"{field} is longer than 200 characters")
    if any(c in _NOT_IN_DOMAIN or c.isspace() or ord(c) < 32 for c in name):
        raise Invalid(field, f"{field} contains characters not allowed in a domain name")
    return name


def _check(settings: RoomSettings) -> None:
    if settings.max_users < 0:
        raise Invalid("maxUsers", "maxUsers must not be negative (0 means no limit)")
    if settings.allow_pm not in ALLOW_PM:
        raise Invalid("allowPM", f"allowPM must be one of {', '.join(ALLOW_PM)}")
    unknown = sorted(set(settings.broadcast_presence_roles) - set(ROLES))
    if unknown:
        raise Invalid(
            "broadcastPresenceRoles",
            f"unknown role {unknown[0]!r}; roles are {', '.join(ROLES)}",
        )


def _bare_jid(value: str, field: str, domain: str) -> str:
    """The bare JID a JID (any resource dropped) or a local username stands for."""
    if "@" in value:
        local, _, host = value.split("/", 1)[0].partition("@")
    else:
        local, host = value, domain
    host = host.strip().lower()
    unusable = not host or any(c in _NOT_IN_DOMAIN or c.isspace() for c in host)
    try:
        node = names.node(local, field)
    except Invalid:
        unusable = True
    if unusable:
        raise Invalid(field, f"Unable to parse value as jid: {value}")
    return f"{node}@{host}"


def _local_id(jid: str, domain: str, ids: dict[str, int]) -> int | None:
    local, _, host = jid.rpartition("@")
    return ids.get(local) if host == domain else None


def _flat(lists: Iterable[Iterable[str]]) -> list[str]:
    return [item for listed in lists for item in listed]


def _held_set(held: Iterable[Holder]) -> set[tuple[str, tuple[str, int | str]]]:
    return {(h.affiliation, h.party.key) for h in held}


def _new(before: Sequence[Holder], after: Sequence[Holder]) -> list[Holder]:
    old = _held_set(before)
    return [h for h in after if (h.affiliation, h.party.key) not in old]


def _affiliation_of(held: Iterable[Holder], party: Party) -> str | None:
    return next((h.affiliation for h in held if h.party.key == party.key), None)


def _occupant_affiliation(
    held: Sequence[Holder], members: dict[str, list[Party]], person: Party
) -> str:
    """A direct affiliation wins; else the strongest one of a group the person is in."""
    direct = _affiliation_of(held, person)
    if direct is not None:
        return direct
    groups = [h for h in held if h.party.is_group]
    for affiliation in AFFILIATIONS:
        for holder in groups:
            listed = members.get(holder.party.label, [])
            if holder.affiliation == affiliation and any(m.key == person.key for m in listed):
                return affiliation
    return "none"
