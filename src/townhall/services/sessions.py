"""The live-session registry: who is connected, disconnecting people, broadcasts.

Connection layers (XMPP, WebSocket; later issues) register and unregister their
sessions here and listen for `session.closed` / `message.broadcast` events to act on
their own connections. Until such a layer exists the registry is simply empty: nothing
here invents sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

from townhall.domain import names
from townhall.domain.errors import Invalid, NotFound
from townhall.domain.models import LiveSession
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import people as people_store
from townhall.store import sessions as store

PRESENCE_SHOWS = (None, "away", "chat", "dnd", "xa")


@dataclass(frozen=True, slots=True)
class Connection:
    """What a connection layer knows about a new session."""

    username: str
    resource: str
    host_address: str | None = None
    host_name: str | None = None
    secure: bool = False
    priority: int = 0
    presence_show: str | None = None
    presence_message: str | None = None


class SessionService(Service):
    async def list(self, actor: Principal, username: str | None = None) -> list[LiveSession]:
        """All sessions of the tenant, or one user's (an unknown user has none)."""
        wanted = None if username is None else username.strip().lower()
        async with self.db.read() as tx:
            return list(await store.list_sessions(tx, actor.tenant_id, wanted))

    async def counts(self, actor: Principal) -> tuple[int, int]:
        """(sessions on this node, sessions on every node) of the tenant."""
        async with self.db.read() as tx:
            local = await store.count(tx, actor.tenant_id, self.deps.node)
            everywhere = await store.count(tx, actor.tenant_id)
        return local, everywhere

    async def register(self, actor: Principal, connection: Connection) -> int:
        if connection.presence_show not in PRESENCE_SHOWS:
            raise Invalid("presence_show", f"unknown presence {connection.presence_show!r}")
        username = names.node(connection.username, "username")
        now = self.clock.now()
        subject = f"{username}/{connection.resource}"
        async with self.change(actor, "session.opened", subject) as tx:
            user_id = await people_store.find_id(tx, actor.tenant_id, username)
            if user_id is None:
                raise NotFound("user", username)
            return await store.insert_session(
                tx,
                tenant_id=actor.tenant_id,
                user_id=user_id,
                resource=connection.resource,
                node=self.deps.node,
                status="authenticated",
                presence_show=connection.presence_show,
                presence_message=connection.presence_message,
                priority=connection.priority,
                host_address=connection.host_address,
                host_name=connection.host_name,
                secure=connection.secure,
                created_at=now,
                last_active_at=now,
            )

    async def unregister(self, actor: Principal, session_id: int) -> None:
        """The connection layer saw the session end (a session already gone is fine)."""
        subject = str(session_id)
        async with self.change(
            actor, "session.closed", subject, data={"session_id": session_id}
        ) as tx:
            await store.delete_session(tx, actor.tenant_id, session_id)

    async def close_user_sessions(self, actor: Principal, username: str) -> None:
        """Disconnect every session of the user; no sessions (or no such user) is fine.

        The `session.closed` event names the user: the connection layers close that
        user's connections when they hear it.
        """
        username = username.strip().lower()
        async with self.change(
            actor, "session.closed", username, data={"username": username}
        ) as tx:
            user_id = await people_store.find_id(tx, actor.tenant_id, username)
            if user_id is not None:
                await store.close_for_user(tx, user_id)

    async def broadcast(self, actor: Principal, body: str | None) -> None:
        """A server message to everyone online, delivered by the connection layers.

        Only a missing or empty body is refused; like the plugin, whitespace is a body.
        """
        if not body:
            raise Invalid("body", "Message content/body is null or empty")
        async with self.change(
            actor, "message.broadcast", "all users", details=body, data={"body": body}
        ):
            pass
