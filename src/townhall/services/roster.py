"""Rosters: each user's personal contact list, keyed by bare JID.

Subscription states are XMPP's: -1 remove, 0 none, 1 to, 2 from, 3 both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from townhall.domain import names
from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.models import RosterItem
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import people as people_store
from townhall.store import roster as store
from townhall.store.database import Tx, UniqueViolation

SUBSCRIPTIONS = range(-1, 4)
MAX_JID = 3071
MAX_NICKNAME = 1023


class RosterService(Service):
    async def list(self, actor: Principal, username: str) -> list[RosterItem]:
        async with self.db.read() as tx:
            return await store.items(tx, await self._user(tx, actor, username))

    async def add(
        self,
        actor: Principal,
        username: str,
        jid: str | None,
        nickname: str | None,
        subscription: int | None,
        groups: Sequence[str] | None,
    ) -> None:
        """A new contact; an omitted subscription means none (0)."""
        async with self.change(actor, "roster.item.added", f"{username}: {jid}") as tx:
            user_id = await self._user(tx, actor, username)
            contact = _contact(jid)
            state = _subscription(subscription)
            try:
                await store.insert_item(
                    tx, user_id, contact, _nickname(nickname), state, _groups(groups or ())
                )
            except UniqueViolation:
                raise AlreadyExists("roster_item", contact) from None

    async def update(
        self,
        actor: Principal,
        username: str,
        jid: str,
        nickname: str | None,
        subscription: int | None,
        groups: Sequence[str] | None,
    ) -> None:
        """Nickname and groups change only when given; the subscription always does
        (omitted means none), as the plugin does."""
        async with self.change(actor, "roster.item.updated", f"{username}: {jid}") as tx:
            user_id = await self._user(tx, actor, username)
            contact = _contact(jid)
            state = _subscription(subscription)
            item = await store.find(tx, user_id, contact)
            if item is None:
                raise NotFound("roster_item", contact)
            changed = dataclasses.replace(
                item,
                nickname=item.nickname if nickname is None else _nickname(nickname),
                subscription=state,
                groups=item.groups if groups is None else _groups(groups),
            )
            await store.update_item(tx, user_id, changed)

    async def delete(self, actor: Principal, username: str, jid: str) -> None:
        async with self.change(actor, "roster.item.deleted", f"{username}: {jid}") as tx:
            user_id = await self._user(tx, actor, username)
            contact = _contact(jid)
            if not await store.delete_item(tx, user_id, contact):
                raise NotFound("roster_item", contact)

    async def _user(self, tx: Tx, actor: Principal, username: str) -> int:
        """The owner's account; `name@<tenant domain>` names it too."""
        local = names.local_part(username, actor.tenant.domain)
        user_id = await people_store.find_id(tx, actor.tenant_id, local)
        if user_id is None:
            raise NotFound("user", username)
        return user_id


def _contact(jid: str | None) -> str:
    """The bare JID a roster is keyed by (a resource is dropped)."""
    if jid is None or not jid.strip():
        raise Invalid("jid", "JID is null")
    local, domain, _ = names.split_jid(jid.strip())
    if not domain or any(c.isspace() or c == "@" for c in domain):
        raise Invalid("jid", f"Cannot parse {jid!r} as a JID")
    if local is not None:
        try:
            local = names.node(local, "jid")
        except Invalid:
            raise Invalid("jid", f"Cannot parse {jid!r} as a JID") from None
    bare = f"{local}@{domain}" if local else domain
    if len(bare) > MAX_JID:
        raise Invalid("jid", f"jid is longer than {MAX_JID} characters")
    return bare


def _nickname(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_NICKNAME:
        raise Invalid("nickname", f"nickname is longer than {MAX_NICKNAME} characters")
    return value


def _groups(values: Sequence[str]) -> tuple[str, ...]:
    """Each roster group once, in the order given."""
    return tuple(dict.fromkeys(values))


def _subscription(value: int | None) -> int:
    state = 0 if value is None else value
    if state not in SUBSCRIPTIONS:
        raise Invalid("subscriptionType", f"subscriptionType must be between -1 and 3, not {state}")
    return state
