"""Invitations to a room.

Nobody is connected over XMPP yet, so an invitation is recorded (audited and published
as `room.invited`, naming the room, the invitees and the reason) for a connection
layer to deliver, rather than sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from townhall.domain.principal import Principal
from townhall.services.base import Work
from townhall.services.rooms.base import RoomBase
from townhall.store.rooms import Party


class Invitations(RoomBase):
    async def invite(
        self,
        actor: Principal,
        service_name: str,
        room: str,
        invitees: Sequence[str],
        reason: str | None,
    ) -> list[str]:
        """Invite users, JIDs or every member of a group; returns the JIDs invited."""
        async with self.unit(actor) as work:
            found = await self._locate(work, actor, service_name, room)
            items = [("invitees", value) for value in invitees]
            parties = await self._parties(work, actor, items, "any")
            return await self._invite(work, actor, found.label, parties, reason)

    async def _invite(
        self,
        work: Work,
        actor: Principal,
        label: str,
        parties: Sequence[Party],
        reason: str | None = None,
    ) -> list[str]:
        """Record one invitation of these parties (a group: its members) to the room
        `label`; with nobody to invite, nothing is recorded."""
        jids = await self._addresses(work, actor, parties)
        if jids:
            data = {"room": label, "invitees": jids, "reason": reason}
            work.record("room.invited", f"{label} -> {', '.join(jids)}", data, json.dumps(data))
        return jids
