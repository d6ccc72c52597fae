"""Presence: who is connected (the live-connection registry) and how people say they
are (the presence category they chose).

Connection layers (XMPP, WebSocket; later issues) register and unregister their live
connections here and listen for `connection.closed` to drop connections the registry
no longer holds. Until such a layer exists the registry is simply empty: nothing here
invents connections.

A category someone chose wins; otherwise presence follows the registry: AVAILABLE
while any of the person's connections is registered, OFFLINE when none is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from townhall.domain import names
from townhall.domain.errors import Invalid, NotFound
from townhall.domain.models import LiveConnection
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import people as people_store
from townhall.store import presence as store

PRESENCE_SHOWS = (None, "away", "chat", "dnd", "xa")
CATEGORIES = (
    "UNDEFINED",
    "AVAILABLE",
    "BUSY",
    "DO_NOT_DISTURB",
    "ON_THE_PHONE",
    "BE_RIGHT_BACK",
    "IN_A_MEETING",
    "AWAY",
    "OUT_OF_OFFICE",
    "OFF_WORK",
    "OFFLINE",
)
MAX_PAGE = 5000


@dataclass(frozen=True, slots=True)
class NewLiveConnection:
    """What a connection layer knows about a client that has just connected."""

    username: str
    resource: str
    host_address: str | None = None
    host_name: str | None = None
    secure: bool = False
    priority: int = 0
    presence_show: str | None = None
    presence_message: str | None = None


@dataclass(frozen=True, slots=True)
class Presence:
    user_id: int
    category: str
    since: datetime | None


class PresenceService(Service):
    # -- live connections --------------------------------------------------------------

    async def connections(
        self, actor: Principal, username: str | None = None
    ) -> list[LiveConnection]:
        """All live connections of the tenant, or one person's (an unknown one has none)."""
        wanted = None if username is None else username.strip().lower()
        async with self.db.read() as tx:
            return list(await store.connections(tx, actor.tenant_id, wanted))

    async def counts(self, actor: Principal) -> tuple[int, int]:
        """(live connections on this node, on every node) of the tenant."""
        async with self.db.read() as tx:
            local = await store.count(tx, actor.tenant_id, self.deps.node)
            everywhere = await store.count(tx, actor.tenant_id)
        return local, everywhere

    async def register(self, actor: Principal, new: NewLiveConnection) -> int:
        """A connection layer's new client; its id in the registry."""
        if new.presence_show not in PRESENCE_SHOWS:
            raise Invalid("presence_show", "must be none, away, chat, dnd or xa")
        username = names.node(new.username, "username")
        now = self.clock.now()
        async with self.unit(actor) as work:
            user_id = await people_store.find_id(work, actor.tenant_id, username)
            if user_id is None:
                raise NotFound("user", username)
            connection_id = await store.insert_connection(
                work,
                tenant_id=actor.tenant_id,
                user_id=user_id,
                resource=new.resource,
                node=self.deps.node,
                status="authenticated",
                presence_show=new.presence_show,
                presence_message=new.presence_message,
                priority=new.priority,
                host_address=new.host_address,
                host_name=new.host_name,
                secure=new.secure,
                created_at=now,
                last_active_at=now,
            )
            data = {"connection_id": connection_id, "username": username, "resource": new.resource}
            work.record("connection.opened", f"{username}/{new.resource}", data)
            return connection_id

    async def unregister(self, actor: Principal, connection_id: int) -> None:
        """The connection layer saw the connection end (one already gone is fine, and
        records nothing)."""
        async with self.unit(actor) as work:
            if await store.delete_connection(work, actor.tenant_id, connection_id):
                data = {"connection_id": connection_id}
                work.record("connection.closed", str(connection_id), data)

    async def close_connections(self, actor: Principal, username: str) -> None:
        """Disconnect every connection of the person; none (or no such person) is fine,
        and records nothing.

        The `connection.closed` event names the person: the connection layers close that
        person's connections when they hear it.
        """
        username = username.strip().lower()
        async with self.unit(actor) as work:
            user_id = await people_store.find_id(work, actor.tenant_id, username)
            if user_id is not None and await store.close_for_user(work, user_id):
                work.record("connection.closed", username, {"username": username})

    # -- chosen presence ---------------------------------------------------------------

    async def of(self, actor: Principal, user_id: int) -> Presence:
        if user_id < 1:  # ids are positive; `user_id - 1` must not leave 64 bits
            raise NotFound("user", str(user_id))
        found = await self.page(actor, user_id - 1, 1)
        if not found or found[0].user_id != user_id:
            raise NotFound("user", str(user_id))
        return found[0]

    async def page(self, actor: Principal, after_id: int, limit: int) -> list[Presence]:
        """The presence of people with ids above `after_id`, by id."""
        if not 0 < limit <= MAX_PAGE:
            raise Invalid("limit", f"must be between 1 and {MAX_PAGE}")
        async with self.db.read() as tx:
            rows = await store.presence(tx, actor.tenant_id, after_id, limit)
        return [
            Presence(uid, chosen or ("AVAILABLE" if connected else "OFFLINE"), since)
            for uid, chosen, since, connected in rows
        ]

    async def choose(self, actor: Principal, category: str) -> Presence:
        """The caller's chosen presence; choosing the one already chosen records nothing."""
        wanted = category.strip().upper()
        if wanted not in CATEGORIES:
            raise Invalid("category", f"must be one of {', '.join(CATEGORIES)}")
        me = actor.person_id
        async with self.unit(actor) as work:
            held = await people_store.hold(work, actor.tenant_id, ids=[me])
            if not held:
                raise NotFound("user", str(me))
            [(_, chosen, since, _)] = await store.presence(work, actor.tenant_id, me - 1, 1)
            if chosen == wanted:
                return Presence(me, wanted, since)
            now = self.clock.now()
            await store.set_presence(work, me, wanted, now)
            data = {"user_id": me, "address": actor.jid(held[0].username), "category": wanted}
            work.record("presence.changed", f"{me}: {wanted}", data)
            return Presence(me, wanted, now)
