"""Presence as people choose it (available, busy, away...).

A category someone set wins; otherwise presence follows the live-session registry:
AVAILABLE while any session is connected, OFFLINE when none is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from townhall.domain.errors import Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import people as people_store
from townhall.store import presence as store

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
class Presence:
    user_id: int
    category: str
    since: datetime | None


class PresenceService(Service):
    async def of(self, actor: Principal, user_id: int) -> Presence:
        found = await self.page(actor, user_id - 1, 1)
        if not found or found[0].user_id != user_id:
            raise NotFound("user", str(user_id))
        return found[0]

    async def page(self, actor: Principal, after_id: int, limit: int) -> list[Presence]:
        if not 0 < limit <= MAX_PAGE:
            raise Invalid("limit", f"limit must be between 1 and {MAX_PAGE}")
        async with self.db.read() as tx:
            rows = await store.presence(tx, actor.tenant_id, after_id, limit)
        return [
            Presence(uid, chosen or ("AVAILABLE" if connected else "OFFLINE"), since)
            for uid, chosen, since, connected in rows
        ]

    async def choose(self, actor: Principal, user_id: int, category: str) -> Presence:
        wanted = category.strip().upper()
        if wanted not in CATEGORIES:
            raise Invalid("category", f"unknown presence category {category!r}")
        async with self.db.read() as tx:
            username = (await people_store.usernames_by_id(tx, [user_id])).get(user_id)
        if username is None:
            raise NotFound("user", str(user_id))
        data = {"user": actor.jid(username), "category": wanted}
        async with self.change(actor, "presence.changed", f"{user_id}: {wanted}", data=data) as tx:
            await store.set_presence(tx, user_id, wanted, self.clock.now())
        return await self.of(actor, user_id)
