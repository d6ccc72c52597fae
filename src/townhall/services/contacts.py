"""Contacts: each person's list of contacts (Openfire's roster) and the connections
between people (Symphony's), one concept on one table.

Everyone in a tenant is one pod, and Symphony connects the people of one pod
implicitly: between them a connection always stands, a request is accepted at once and
there is nothing to refuse. An explicit request still means something to other clients:
it is a pair of contact entries, each with a two-way ("both") subscription, written by
the same code as a roster change, so XMPP clients show the two as each other's contacts.

Each change is one unit of work that holds the rows of the people whose lists it
changes, so concurrent changes to one list never lose each other; an entry written as
it already was records nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from townhall.domain import contacts as rules
from townhall.domain import names
from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.models import Contact
from townhall.domain.principal import Principal
from townhall.services.base import Service, Work
from townhall.services.cached import cached
from townhall.store import contacts as store
from townhall.store import people as people_store
from townhall.store.people import Held


@dataclass(frozen=True, slots=True)
class Connection:
    """The caller's connection with another person of the tenant, standing since that
    person joined (connections within a tenant are implicit)."""

    user_id: int
    since: datetime


class ContactService(Service):
    # -- contact lists -----------------------------------------------------------------

    @cached("user", lambda actor, owner: f"roster:{owner}", list[Contact])
    async def entries(self, actor: Principal, owner: str) -> list[Contact]:
        """The contacts of `owner` (a username, or `name@<tenant domain>`), the read
        behind every client's roster fetch: cached under the person (a node part holds
        no `:`, so the key is no username's)."""
        local = names.local_part(owner, actor.tenant.domain)
        async with self.db.read() as tx:
            found = await store.contacts_of(tx, actor.tenant_id, local)
        if found is None:
            raise NotFound("user", owner)
        return found

    async def add(
        self,
        actor: Principal,
        owner: str,
        jid: str | None,
        nickname: str | None = None,
        subscription: int | None = None,
        groups: Sequence[str] = (),
    ) -> None:
        """A new contact on the owner's list; an omitted subscription means none."""
        async with self.unit(actor) as work:
            held, _ = await self._hold(work, actor, owner)
            wanted = Contact(
                rules.jid(jid),
                rules.nickname(nickname),
                rules.subscription(subscription),
                rules.groups(groups),
            )
            if await store.find(work, held.id, wanted.jid) is not None:
                raise AlreadyExists("contact", wanted.jid)
            await self._put(work, held, wanted, None)

    async def update(
        self,
        actor: Principal,
        owner: str,
        jid: str,
        nickname: str | None = None,
        subscription: int | None = None,
        groups: Sequence[str] | None = None,
    ) -> None:
        """Nickname and groups change only when given; the subscription always does
        (omitted means none), as Openfire does."""
        async with self.unit(actor) as work:
            held, _ = await self._hold(work, actor, owner)
            contact = rules.jid(jid)
            state = rules.subscription(subscription)
            found = await store.find(work, held.id, contact)
            if found is None:
                raise NotFound("contact", contact)
            wanted = dataclasses.replace(
                found,
                nickname=found.nickname if nickname is None else rules.nickname(nickname),
                subscription=state,
                groups=found.groups if groups is None else rules.groups(groups),
            )
            await self._put(work, held, wanted, found)

    async def remove(self, actor: Principal, owner: str, jid: str) -> None:
        """Take the contact off the owner's list. A contact who is a person of the tenant
        loses, on their own entry for the owner, the subscription that mirrored it (XMPP's
        unsubscribe and unsubscribed), keeping the entry itself."""
        async with self.unit(actor) as work:
            held, other = await self._hold(work, actor, owner, jid)
            contact = rules.jid(jid)
            found = await store.find(work, held.id, contact)
            if found is None:
                raise NotFound("contact", contact)
            await store.delete_contact(work, held.id, contact)
            work.record("contact.removed", _subject(held, contact), _data(held, found))
            if other is not None:
                mirror = await store.find(work, other.id, actor.jid(held.username))
                if mirror is not None:
                    state = rules.after_removal(mirror.subscription, found.subscription)
                    changed = dataclasses.replace(mirror, subscription=state)
                    await self._put(work, other, changed, mirror)

    # -- connections between people ------------------------------------------------------

    async def connection(self, actor: Principal, other: int) -> Connection:
        """The caller's connection with `other`."""
        found = await self.connections(actor, [other])
        if not found:
            raise NotFound("user", str(other))
        return found[0]

    async def connections(self, actor: Principal, ids: Sequence[int]) -> list[Connection]:
        """The caller's connections with those of `ids` who are people of the tenant."""
        if not ids:
            return []
        async with self.db.read() as tx:
            found = await people_store.created_by_id(tx, actor.tenant_id, ids)
        return [Connection(uid, found[uid]) for uid in ids if uid in found]

    async def connect(self, actor: Principal, other: int) -> Connection:
        """Connect the caller and `other`: each on the other's list with a two-way
        subscription (an entry already there keeps its nickname and groups)."""
        me = actor.person_id
        if me == other:
            raise Invalid("user_id", "must name another person than the caller")
        async with self.unit(actor) as work:
            held = {
                p.id: p for p in await people_store.hold(work, actor.tenant_id, ids=[me, other])
            }
            for uid in (other, me):
                if uid not in held:
                    raise NotFound("user", str(uid))
            for owner, contact in ((held[me], held[other]), (held[other], held[me])):
                jid = rules.jid(actor.jid(contact.username))
                found = await store.find(work, owner.id, jid)
                wanted = (
                    Contact(jid, None, rules.BOTH, ())
                    if found is None
                    else dataclasses.replace(found, subscription=rules.BOTH)
                )
                await self._put(work, owner, wanted, found)
            return Connection(other, held[other].created_at)

    async def reject(self, actor: Principal, other: int) -> Connection:
        """Nothing to reject: people of one tenant are always connected."""
        await self.connection(actor, other)
        raise Invalid("user_id", "names a person of the same organisation, always connected")

    # -- helpers -----------------------------------------------------------------------

    async def _hold(
        self, work: Work, actor: Principal, owner: str, jid: str | None = None
    ) -> tuple[Held, Held | None]:
        """The owner (NotFound before anything else is checked) and the person of the
        tenant `jid` names, if it names one: both rows held, in one statement."""
        local = names.local_part(owner, actor.tenant.domain)
        person = _person_named(actor, jid)
        wanted = [local] if person is None else [local, person]
        held = {
            p.username: p for p in await people_store.hold(work, actor.tenant_id, usernames=wanted)
        }
        if local not in held:
            raise NotFound("user", owner)
        other = held.get(person) if person is not None and person != local else None
        return held[local], other

    async def _put(self, work: Work, owner: Held, wanted: Contact, found: Contact | None) -> None:
        """The one way an entry is written: inserted, or changed from `found`; an entry
        already as wanted is left alone and records nothing."""
        if wanted == found:
            return
        if found is None:
            await store.insert_contact(work, owner.id, wanted)
            action = "contact.added"
        else:
            await store.update_contact(work, owner.id, wanted)
            action = "contact.updated"
        work.record(action, _subject(owner, wanted.jid), _data(owner, wanted))


def _person_named(actor: Principal, jid: str | None) -> str | None:
    """The username of the tenant's person a valid `jid` names, if it names one."""
    try:
        node, domain, _ = names.split_jid(rules.jid(jid))
    except Invalid:
        return None
    return node if node and domain == actor.tenant.domain else None


def _subject(owner: Held, jid: str) -> str:
    return f"{owner.username}: {jid}"


def _data(owner: Held, contact: Contact) -> dict[str, Any]:
    return {
        "owner": owner.username,
        "jid": contact.jid,
        "nickname": contact.nickname,
        "subscription": contact.subscription,
        "groups": list(contact.groups),
    }
