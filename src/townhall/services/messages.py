"""Messages: in rooms, stored with an id clients can address and suppressed; and
broadcast to everyone online.

Suppression is what a compliance officer does to a message that must not be read: it
disappears from every room history but the row stays, with when it was hidden.
Suppressing twice is not an error and keeps the first time.
"""

from __future__ import annotations

from townhall.domain.errors import Conflict, Forbidden, Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import messages as store
from townhall.store import people as people_store
from townhall.store import rooms as room_store
from townhall.store.database import Tx
from townhall.store.messages import StoredMessage

__all__ = ["MessageService", "StoredMessage"]

MAX_BODY = 100_000


class MessageService(Service):
    async def post(self, actor: Principal, stream_id: str, sender: str, body: str) -> StoredMessage:
        """Store `body` as sent by the user named `sender` into the room `stream_id`.

        Symphony's pod API has no call that sends a message (that is the agent's job), so
        this is how messages get in: imports, the CLI, tests. A members-only room takes
        messages from its members only."""
        if not body or len(body) > MAX_BODY:
            raise Invalid("body", f"must have 1 to {MAX_BODY} characters")
        message_id = self.deps.ids.message_id()
        now = self.clock.now()
        async with self.change(actor, "message.sent", message_id, details=stream_id) as tx:
            stream = await room_store.by_stream(tx, actor.tenant_id, stream_id, actor.tenant.domain)
            if stream is None:
                raise NotFound("room", stream_id)
            if not stream.active:
                raise Conflict("room", stream_id, "the room is deactivated")
            user_id = await people_store.find_id(tx, actor.tenant_id, sender)
            if user_id is None:
                raise NotFound("user", sender)
            members = {m.user_id for m in await room_store.members(tx, stream.id)}
            if stream.settings.members_only and user_id not in members:
                raise Forbidden("room", stream_id, f"{sender} is not a member of the room")
            # Stored as a MUC message (from the sender's in-room address, to the room),
            # so the Openfire API's room history shows it as Openfire would.
            room, service = await store.room_address(tx, stream.id)
            address = f"{room}@{service}.{actor.tenant.domain}"
            await store.insert_message(
                tx, stream.id, message_id, f"{address}/{sender}", address, body, now
            )
            return await self._found(tx, actor, message_id)

    async def get(self, actor: Principal, message_id: str) -> StoredMessage:
        async with self.db.read() as tx:
            return await self._found(tx, actor, message_id)

    async def suppress(self, actor: Principal, message_id: str) -> StoredMessage:
        """Hide the message; one already hidden is answered as it is, with no change. Of
        two requests at once, one hides it and the other finds it hidden."""
        async with self.unit(actor) as work:
            current = await self._found(work, actor, message_id)
            if current.suppressed:
                return current
            if await store.suppress(work, message_id, self.clock.now()):
                work.record("message.suppressed", message_id)
            return await self._found(work, actor, message_id)

    async def _found(self, tx: Tx, actor: Principal, message_id: str) -> StoredMessage:
        found = await store.find(tx, actor.tenant_id, message_id)
        if found is None:
            raise NotFound("message", message_id)
        return found

    async def broadcast(self, actor: Principal, body: str | None) -> None:
        """A server message to everyone online, delivered by the connection layers, which
        hear `message.broadcast`; nothing is stored. Only a missing or empty body is
        refused: whitespace is a body."""
        if not body:
            raise Invalid("body", "must not be empty", kind="empty")
        async with self.change(
            actor, "message.broadcast", "all users", details=body, data={"body": body}
        ):
            pass
