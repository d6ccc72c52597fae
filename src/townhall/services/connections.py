"""Connections between people (Symphony's connection requests).

Everyone in a tenant is one pod, and Symphony connects the users of one pod
implicitly: between them a connection is always ACCEPTED, a request is accepted at once
and there is nothing to reject. An explicit request is still recorded where it means
something to other clients: both people get each other on their roster with a
two-way ("both") subscription, so XMPP clients show them as contacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from townhall.domain.errors import Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import people as people_store
from townhall.store import roster as roster_store
from townhall.store.database import Tx

BOTH = 3


@dataclass(frozen=True, slots=True)
class Connection:
    user_id: int
    status: str
    since: datetime


class ConnectionService(Service):
    async def with_user(self, actor: Principal, me: int, other: int) -> Connection:
        async with self.db.read() as tx:
            users = await self._people(tx, actor, [other])
        if other not in users:
            raise NotFound("user", str(other))
        return Connection(other, "ACCEPTED", users[other])

    async def connect(self, actor: Principal, me: int, other: int) -> Connection:
        if me == other:
            raise Invalid("userId", "one cannot connect to oneself")
        async with self.change(actor, "connection.accepted", f"{me} <-> {other}") as tx:
            names = await people_store.usernames_by_id(tx, [me, other])
            if other not in names or other not in await self._people(tx, actor, [other]):
                raise NotFound("user", str(other))
            for owner, contact in ((me, other), (other, me)):
                jid = actor.jid(names[contact])
                if await roster_store.find(tx, owner, jid) is None:
                    await roster_store.insert_item(tx, owner, jid, None, BOTH, ())
        return await self.with_user(actor, me, other)

    async def reject(self, actor: Principal, me: int, other: int) -> Connection:
        await self.with_user(actor, me, other)
        raise Invalid("userId", "users of the same pod are always connected")

    async def list(
        self, actor: Principal, status: str | None, user_ids: Sequence[int]
    ) -> list[Connection]:
        """Only pending requests unless asked for ACCEPTED (or ALL) with user ids."""
        if status not in ("ACCEPTED", "ALL") or not user_ids:
            return []
        async with self.db.read() as tx:
            found = await self._people(tx, actor, user_ids)
        return [Connection(uid, "ACCEPTED", found[uid]) for uid in user_ids if uid in found]

    async def _people(self, tx: Tx, actor: Principal, ids: Sequence[int]) -> dict[int, datetime]:
        return await people_store.created_by_id(tx, actor.tenant_id, ids)
