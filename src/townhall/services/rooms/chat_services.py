"""Chat services: the named spaces rooms live in (Openfire's MUC services). Every tenant
starts with `conference`, as a fresh Openfire does; names are unique ignoring case."""

from __future__ import annotations

from contextlib import suppress

from townhall.domain import rooms as rules
from townhall.domain.errors import AlreadyExists
from townhall.domain.models import ChatService
from townhall.domain.principal import Principal
from townhall.services.base import Work
from townhall.services.rooms.base import DEFAULT_SERVICE, DEFAULT_SERVICE_DESCRIPTION, RoomBase
from townhall.store import rooms as store
from townhall.store.database import UniqueViolation


class ChatServices(RoomBase):
    async def list_services(self, actor: Principal) -> list[ChatService]:
        async with self.db.read() as tx:
            return await store.list_services(tx, actor.tenant_id)

    async def get_service(self, actor: Principal, name: str) -> ChatService:
        async with self.db.read() as tx:
            return await self._service(tx, actor, name)

    async def create_service(
        self, actor: Principal, name: str, description: str | None, hidden: bool
    ) -> ChatService:
        name = rules.service_name(name)
        async with self.unit(actor) as work:
            return await self._insert_service(work, actor, name, description, hidden)

    async def ensure_default_service(self, actor: Principal) -> None:
        """The `conference` service every tenant starts with; there already, nothing
        changes."""
        with suppress(AlreadyExists):  # another process was first
            async with self.unit(actor) as work:
                if await store.find_service(work, actor.tenant_id, DEFAULT_SERVICE) is None:
                    await self._insert_service(
                        work, actor, DEFAULT_SERVICE, DEFAULT_SERVICE_DESCRIPTION, False
                    )

    async def _insert_service(
        self, work: Work, actor: Principal, name: str, description: str | None, hidden: bool
    ) -> ChatService:
        try:
            created = await store.insert_service(work, actor.tenant_id, name, description, hidden)
        except UniqueViolation:
            raise AlreadyExists("chat_service", name) from None
        work.record("chat_service.created", name)
        return created
