"""What every part of the room service shares: finding services, rooms and parties, and
the one rule on who may change a room."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

from townhall.domain import roles
from townhall.domain import rooms as rules
from townhall.domain.errors import Forbidden, NotFound
from townhall.domain.models import ChatService, Room
from townhall.domain.principal import Principal
from townhall.infrastructure.cache import TTLCache
from townhall.services.base import Deps, Service
from townhall.store import rooms as store
from townhall.store.database import Tx
from townhall.store.rooms import Located, Party

DEFAULT_SERVICE = "conference"
DEFAULT_SERVICE_DESCRIPTION = "Public Chatrooms"
ROOM_ADMINS = frozenset({roles.SUPER_ADMINISTRATOR, roles.ADMINISTRATOR})
"""Who may change any room (a server admin holds both); anyone else only rooms they own."""

# How a name given for a party is read:
#   "jid":   with an `@` a JID, otherwise a local username;
#   "any":   exactly one `@` makes a JID, else an existing group, else a local username;
#   "group": an existing group first, else as "any".
Reading = Literal["jid", "any", "group"]


SERVICES_TTL = 60.0
"""Seconds a chat service found stays known to a process at most: services are never
deleted or renamed but with their tenant or by a restore, whose events make every
process forget at once; the bound covers a process that missed the event (no Redis)."""
_FORGETS_SERVICES = ("chat_service.", "tenant.", "backup.")


class RoomBase(Service):
    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        # (tenant id, folded name) -> the service: every room write names its service,
        # and looking it up was a statement of each.
        self._known_services: TTLCache[tuple[int, str], ChatService] = TTLCache(SERVICES_TTL)
        deps.events.subscribe(self._forget_services)

    def _forget_services(self, event: object) -> None:
        if getattr(event, "topic", "").startswith(_FORGETS_SERVICES):
            self._known_services.clear()

    async def _ensured_service(self, tx: Tx, tenant_id: int, name: str) -> ChatService:
        """The named service, created if missing (store.ensure_service). Only a service
        found committed is kept: one created here may yet be rolled back."""
        key = (tenant_id, name.lower())
        found = self._known_services.get(key)
        if found is not None:
            return found
        found = await store.find_service(tx, tenant_id, name)
        if found is not None:
            self._known_services.put(key, found)
            return found
        return await store.ensure_service(tx, tenant_id, name)

    async def _service(self, tx: Tx, actor: Principal, name: str) -> ChatService:
        found = await store.find_service(tx, actor.tenant_id, name)
        if found is None:
            raise NotFound("chat_service", name)
        return found

    async def _locate(
        self, tx: Tx, actor: Principal, service_name: str, room: str, lock: bool = True
    ) -> Located:
        """The room, locked until the unit of work ends unless `lock` is False; NotFound
        for the service or the room."""
        service = await self._service(tx, actor, service_name)
        found = await store.locate(tx, service.id, rules.lookup(room), lock)
        if found is None:
            raise NotFound("room", room)
        return found

    async def _locate_stream(
        self, tx: Tx, actor: Principal, stream_id: str, lock: bool = True
    ) -> Located:
        found = await store.locate_stream(tx, actor.tenant_id, stream_id, lock)
        if found is None:
            raise NotFound("room", stream_id)
        return found

    async def _find(
        self, tx: Tx, actor: Principal, service_name: str, room: str, expand_groups: bool = False
    ) -> Room:
        """The whole room; with `expand_groups`, its user lists also name every member of
        its affiliated groups."""
        service = await self._service(tx, actor, service_name)
        domain = actor.tenant.domain
        found = await store.by_name(tx, actor.tenant_id, service.id, rules.lookup(room), domain)
        if found is None:
            raise NotFound("room", room)
        return (await self._expanded(tx, actor, [found]))[0] if expand_groups else found

    async def _expanded(self, tx: Tx, actor: Principal, found: list[Room]) -> list[Room]:
        """Rooms whose user lists also name every member of their affiliated groups."""
        wanted = [
            g for room in found for listed in room.affiliations.groups.values() for g in listed
        ]
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

    async def _may_change(self, tx: Tx, actor: Principal, room: Located) -> None:
        """Only an owner of the room may change it; an administrator may change any."""
        if actor.holds_any(ROOM_ADMINS):
            return
        owners = {m.user_id for m in await store.members(tx, room.id) if m.owner}
        if actor.user_id is None or actor.user_id not in owners:
            raise Forbidden(
                "room", room.stream_id or room.label, "only an owner of the room may change it"
            )

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
                resolved.append(rules.bare_jid(value, field, domain))
        local = [jid.rpartition("@")[0] for jid in resolved if isinstance(jid, str)]
        ids = await store.user_ids(tx, actor.tenant_id, local)
        return [
            p if isinstance(p, Party) else Party(p, user_id=_local_id(p, domain, ids))
            for p in resolved
        ]

    async def _people(self, tx: Tx, actor: Principal, user_ids: Sequence[int]) -> list[Party]:
        """The people with these ids, as parties; NotFound for an id that is no one's."""
        found = await store.usernames(tx, actor.tenant_id, user_ids)
        missing = [user_id for user_id in user_ids if user_id not in found]
        if missing:
            raise NotFound("user", str(missing[0]))
        return [Party(actor.jid(found[user_id]), user_id=user_id) for user_id in user_ids]

    async def _addresses(self, tx: Tx, actor: Principal, parties: Sequence[Party]) -> list[str]:
        """Bare JIDs to send to: a group stands for its members."""
        groups = [p.label for p in parties if p.is_group]
        members = await store.members_of_groups(tx, actor.tenant_id, groups, actor.tenant.domain)
        jids: dict[str, None] = {}
        for party in parties:
            for one in members.get(party.label, []) if party.is_group else [party]:
                jids[one.label] = None
        return list(jids)


def _local_id(jid: str, domain: str, ids: dict[str, int]) -> int | None:
    local, _, host = jid.rpartition("@")
    return ids.get(local) if host == domain else None
