"""Compliance disclaimers: texts users must accept, and which one each user is shown.

Administrators create disclaimers (there is no Symphony API for that, so Townhall's CLI
does it) and assign at most one to each user. A tenant has at most one default
disclaimer: making a new one the default takes the mark off the previous one. Only an
active disclaimer can be assigned; one deactivated later stays with its users, as the
assignment is a record of what they were shown.
"""

from __future__ import annotations

from xml.etree import ElementTree

from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import disclaimers as store
from townhall.store import people as people_store
from townhall.store import tenants as tenant_store
from townhall.store.database import Tx, UniqueViolation
from townhall.store.disclaimers import Disclaimer

__all__ = ["Disclaimer", "DisclaimerService"]

FORMATS = ("TEXT", "XML")
MAX_NAME = 255
MAX_CONTENT = 100_000
MAX_FREQUENCY_HOURS = 2**31 - 1  # the wire's int32


class DisclaimerService(Service):
    async def list_all(self, actor: Principal) -> list[Disclaimer]:
        async with self.db.read() as tx:
            return await store.all_of(tx, actor.tenant_id)

    async def get(self, actor: Principal, disclaimer_id: str) -> Disclaimer:
        async with self.db.read() as tx:
            return await self._disclaimer(tx, actor, disclaimer_id)

    async def users(self, actor: Principal, disclaimer_id: str) -> list[int]:
        async with self.db.read() as tx:
            await self._disclaimer(tx, actor, disclaimer_id)
            return await store.user_ids(tx, disclaimer_id)

    async def of_user(self, actor: Principal, user_id: int) -> Disclaimer | None:
        """The user's disclaimer, None when they have none."""
        async with self.db.read() as tx:
            await self._user(tx, actor, user_id)
            return await store.of_user(tx, user_id)

    async def assign(self, actor: Principal, user_id: int, disclaimer_id: str) -> None:
        """Give the user this disclaimer in place of any other; the one they have
        already changes nothing."""
        if not disclaimer_id:
            raise Invalid("disclaimer_id", "is required")
        async with self.unit(actor) as work:
            await self._user(work, actor, user_id, lock=True)
            found = await self._disclaimer(work, actor, disclaimer_id)
            if not found.active:
                raise Invalid("disclaimer_id", f"names disclaimer {disclaimer_id}, not active")
            current = await store.of_user(work, user_id)
            if current is not None and current.id == disclaimer_id:
                return
            await store.assign(work, user_id, disclaimer_id)
            work.record("user.disclaimer.assigned", f"{user_id}: {disclaimer_id}")

    async def unassign(self, actor: Principal, user_id: int) -> None:
        """Take the user's disclaimer away; a user without one is left as they are."""
        async with self.unit(actor) as work:
            await self._user(work, actor, user_id, lock=True)
            if await store.unassign(work, user_id):
                work.record("user.disclaimer.unassigned", str(user_id))

    async def create(
        self,
        actor: Principal,
        name: str,
        content: str,
        format: str = "TEXT",
        frequency_hours: int = 0,
        is_default: bool = False,
        active: bool = True,
    ) -> Disclaimer:
        name = name.strip()
        _check(name, content, format, frequency_hours)
        if is_default and not active:
            raise Invalid("is_default", "cannot mark an inactive disclaimer")
        now = self.clock.now()
        made = Disclaimer(
            id=self.deps.ids.object_id(now),
            name=name,
            content=content,
            format=format,
            frequency_hours=frequency_hours,
            is_default=is_default,
            active=active,
            created_at=now,
            modified_at=now,
        )
        async with self.change(actor, "disclaimer.created", made.id, details=name) as tx:
            if is_default:
                await tenant_store.lock(tx, actor.tenant_id)
                await store.clear_default(tx, actor.tenant_id, now)
            try:
                await store.insert_disclaimer(tx, actor.tenant_id, made)
            except UniqueViolation:
                raise AlreadyExists(
                    "disclaimer", name, f"disclaimer {name} already exists"
                ) from None
        return made

    async def _disclaimer(self, tx: Tx, actor: Principal, disclaimer_id: str) -> Disclaimer:
        found = await store.get(tx, actor.tenant_id, disclaimer_id)
        if found is None:
            raise NotFound("disclaimer", disclaimer_id)
        return found

    async def _user(self, tx: Tx, actor: Principal, user_id: int, lock: bool = False) -> None:
        """The user exists; with `lock`, their row stays locked until the unit of work
        ends, so two assignments to one user run one after the other."""
        # User ids are int64: a larger one names nobody and no database column holds it.
        if 0 < user_id < 2**63:
            if lock and await people_store.lock_ids(tx, actor.tenant_id, [user_id]):
                return
            if not lock and await people_store.created_by_id(tx, actor.tenant_id, [user_id]):
                return
        raise NotFound("user", str(user_id))


def _check(name: str, content: str, format: str, frequency_hours: int) -> None:
    if not 0 < len(name) <= MAX_NAME:
        raise Invalid("disclaimer_name", f"must have 1 to {MAX_NAME} characters")
    if not content.strip() or len(content) > MAX_CONTENT:
        raise Invalid("content", f"must have 1 to {MAX_CONTENT} characters")
    if format not in FORMATS:
        raise Invalid("format", "must be TEXT or XML")
    if format == "XML":
        # Symphony shows XML disclaimers as MessageML; a text that is not even
        # well-formed would fail in every client, so refuse it here. The parser of the
        # standard library expands no external entities.
        try:
            ElementTree.fromstring(content)
        except ElementTree.ParseError as exc:
            raise Invalid("content", f"is not well-formed XML ({exc})") from None
    if not 0 <= frequency_hours <= MAX_FREQUENCY_HOURS:
        raise Invalid("frequency_hours", "must be a whole number of hours, 0 or more")
