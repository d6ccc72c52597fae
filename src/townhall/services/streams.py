"""Rooms as conversation streams: Symphony's rooms and IMs on Townhall's chat rooms.

A stream is a room of the tenant's default chat service, so a room created here is
listed by the Openfire API and the reverse. Membership is the room's user
affiliations: owners are owners, everyone else affiliated is a member. An IM is a room
whose name is its sorted member set, so asking again for the same set returns the same
stream, however many processes race to create it.
"""

from __future__ import annotations

from collections.abc import Sequence

from townhall.domain.errors import Conflict, Forbidden, Invalid, NotFound
from townhall.domain.models import ChatStream, RoomSettings, StreamAttributes, StreamMember
from townhall.domain.principal import Principal
from townhall.domain.queries import StreamQuery
from townhall.services.base import Service
from townhall.services.rooms import DEFAULT_SERVICE
from townhall.store import people as people_store
from townhall.store import rooms as room_store
from townhall.store import streams as store
from townhall.store.database import Tx, UniqueViolation

MAX_SEARCH = 100
MAX_NAME = 1000
MAX_IM_MEMBERS = 20


class StreamService(Service):
    async def get(self, actor: Principal, stream_id: str) -> ChatStream:
        async with self.db.read() as tx:
            return await self._find(tx, actor, stream_id)

    async def create(self, actor: Principal, creator: int, attrs: StreamAttributes) -> ChatStream:
        if not attrs.name or not attrs.name.strip():
            raise Invalid("name", "A room needs a name")
        values = _columns(attrs)
        stream_id = self.deps.ids.stream_id()
        async with self.change(actor, "room.created", stream_id) as tx:
            room_id = await self._insert(tx, actor, stream_id.lower(), stream_id, creator)
            await store.set_attributes(tx, room_id, values)
            await store.set_member(tx, room_id, creator, "owner", self.clock.now())
            return await self._find(tx, actor, stream_id)

    async def update(
        self, actor: Principal, stream_id: str, attrs: StreamAttributes, caller: int | None
    ) -> ChatStream:
        """`caller` is the acting user, who must own the room; None is an administrator."""
        if attrs.name is not None and not attrs.name.strip():
            raise Invalid("name", "A room name must not be empty")
        values = _columns(attrs)
        async with self.change(actor, "room.updated", stream_id) as tx:
            stream = await self._managed(tx, actor, stream_id, caller)
            values["modified_at"] = self.clock.now()
            await store.set_attributes(tx, stream.room_id, values)
            return await self._find(tx, actor, stream_id)

    async def set_active(
        self, actor: Principal, stream_id: str, active: bool, caller: int | None
    ) -> ChatStream:
        action = "room.activated" if active else "room.deactivated"
        async with self.change(actor, action, stream_id) as tx:
            stream = await self._managed(tx, actor, stream_id, caller)
            await store.set_attributes(tx, stream.room_id, {"active": active})
            return await self._find(tx, actor, stream_id)

    async def members(self, actor: Principal, stream_id: str) -> list[StreamMember]:
        async with self.db.read() as tx:
            stream = await self._find(tx, actor, stream_id)
            return await store.members(tx, stream.room_id)

    async def set_member(
        self, actor: Principal, stream_id: str, user_id: int, role: str | None, caller: int | None
    ) -> None:
        """`role` "member" or "owner" grants, None removes the user."""
        action = f"room.member.{role or 'removed'}"
        async with self.change(actor, action, f"{stream_id}: {user_id}") as tx:
            stream = await self._managed(tx, actor, stream_id, caller)
            if not stream.active:
                raise Conflict("room", stream_id, "the room is deactivated")
            if not await people_store.created_by_id(tx, actor.tenant_id, [user_id]):
                raise NotFound("user", str(user_id))
            current = {m.user_id: m for m in await store.members(tx, stream.room_id)}
            owners = [m for m in current.values() if m.owner]
            if role is None:
                if user_id in current:
                    self._keep_an_owner(owners, user_id)
                    await store.remove_member(tx, stream.room_id, user_id)
                return
            if role == "member" and user_id in current:
                self._keep_an_owner(owners, user_id)
            await store.set_member(tx, stream.room_id, user_id, role, self.clock.now())

    def _keep_an_owner(self, owners: Sequence[StreamMember], user_id: int) -> None:
        if [m.user_id for m in owners] == [user_id]:
            raise Conflict("room", str(user_id), "a room must keep at least one owner")

    async def search(
        self, actor: Principal, query: StreamQuery, skip: int, limit: int
    ) -> tuple[list[ChatStream], dict[str, int]]:
        """A page of matches and the public/private counts of all matches."""
        if skip < 0:
            raise Invalid("skip", "skip must not be negative")
        if not 0 < limit <= MAX_SEARCH:
            raise Invalid("limit", f"limit must be between 1 and {MAX_SEARCH}")
        async with self.db.read() as tx:
            return await store.search(tx, actor.tenant_id, query, skip, limit)

    async def im(self, actor: Principal, user_ids: Sequence[int]) -> ChatStream:
        """The IM among exactly these users, created on first use."""
        wanted = sorted(set(user_ids))
        if len(wanted) < 2:
            raise Invalid("uidList", "An IM needs at least two different users")
        if len(wanted) > MAX_IM_MEMBERS:
            raise Invalid("uidList", f"An IM has at most {MAX_IM_MEMBERS} members")
        async with self.db.read() as tx:
            found = await store.im_with(tx, actor.tenant_id, wanted)
        if found is not None:
            return found
        stream_id = self.deps.ids.stream_id()
        try:
            async with self.change(actor, "im.created", stream_id) as tx:
                known = await people_store.created_by_id(tx, actor.tenant_id, wanted)
                missing = [u for u in wanted if u not in known]
                if missing:
                    raise NotFound("user", str(missing[0]))
                room_id = await self._insert(tx, actor, store.im_name(wanted), stream_id, wanted[0])
                await store.set_attributes(tx, room_id, {"sub_type": "IM", "members_only": True})
                for user_id in wanted:
                    await store.set_member(tx, room_id, user_id, "owner", self.clock.now())
        except UniqueViolation:
            pass  # another request created it meanwhile
        async with self.db.read() as tx:
            created = await store.im_with(tx, actor.tenant_id, wanted)
        assert created is not None
        return created

    async def _insert(
        self, tx: Tx, actor: Principal, name: str, stream_id: str, creator: int
    ) -> int:
        service = await room_store.ensure_service(tx, actor.tenant_id, DEFAULT_SERVICE)
        now = self.clock.now()
        settings = RoomSettings(persistent=True, log_enabled=True)
        room_id = await room_store.insert_room(tx, service.id, name, settings, now, now, stream_id)
        await store.set_attributes(tx, room_id, {"created_by": creator})
        return room_id

    async def _managed(
        self, tx: Tx, actor: Principal, stream_id: str, caller: int | None
    ) -> ChatStream:
        stream = await self._find(tx, actor, stream_id)
        if caller is not None:
            owners = {m.user_id for m in await store.members(tx, stream.room_id) if m.owner}
            if caller not in owners:
                raise Forbidden("room", stream_id, "only an owner of the room may change it")
        return stream

    async def _find(self, tx: Tx, actor: Principal, stream_id: str) -> ChatStream:
        found = await store.find(tx, actor.tenant_id, stream_id)
        if found is None:
            raise NotFound("room", stream_id)
        return found


def _columns(attrs: StreamAttributes) -> dict[str, object]:
    values: dict[str, object] = {}
    for attribute, column in store.COLUMNS.items():
        value = getattr(attrs, attribute)
        if value is not None:
            values[column] = value.strip() if attribute == "name" else value
    if attrs.name is not None and len(attrs.name) > MAX_NAME:
        raise Invalid("name", f"A room name has at most {MAX_NAME} characters")
    if attrs.public is not None:
        values["members_only"] = not attrs.public
    if attrs.keywords is not None:
        values["keywords"] = [{"key": k, "value": v} for k, v in attrs.keywords]
    return values
