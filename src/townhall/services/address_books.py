"""Address books: each person's named books ("Contacts" by default) of vCard contacts
and contact groups, kept apart from the roster (services/contacts.py).

Why apart: a roster entry (Openfire) or a connection (Symphony) is a presence
subscription between two IM accounts, keyed by JID, that the other side takes part in;
an address-book entry is a vCard the owner alone keeps, of anyone with an e-mail
address. The three agree where they name the same person because none of them copies
the person: an entry whose address is a person of the tenant is linked to that person
(`person_id`), as a roster entry names the person's JID and a connection the uid, so the
name and address it shows are the person's current ones, whichever API changed them
(docs/rmp-mapping.md, "Contacts, address books and groups").

Every entry belongs to its owner only: another person's uid is not found. Each change
is one unit of work that holds the owner's row, so concurrent changes to one person's
books never lose each other, and a refusal stores nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from townhall.domain import address_books as rules
from townhall.domain import vcards
from townhall.domain.address_books import CONTACT, DEFAULT_BOOK, GROUP, Card, Link
from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.models import Group
from townhall.domain.principal import Principal
from townhall.services.base import Deps, Service, Work
from townhall.services.groups import GroupService
from townhall.store import address_books as store
from townhall.store import people as people_store
from townhall.store.address_books import PersonNames, StoredCard
from townhall.store.database import Tx, UniqueViolation

CLEARABLE = ("phone", "organization", "description")


@dataclass(frozen=True, slots=True)
class EntryInput:
    """An entry as a client writes it: vCard text and/or fields, a field given winning
    over the vCard's. On update, None leaves a field as it is and `cleared` names the
    optional fields to remove; `members` (and `description`) belong to contact groups."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    organization: str | None = None
    book: str | None = None
    vcard: str | None = None
    members: Sequence[str] | None = None
    description: str | None = None
    cleared: frozenset[str] = field(default_factory=frozenset)


class AddressBookService(Service):
    def __init__(self, deps: Deps, groups: GroupService) -> None:
        super().__init__(deps)
        self._groups = groups

    # -- reading -----------------------------------------------------------------------

    async def contacts(
        self,
        actor: Principal,
        book: str | None = None,
        search: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[list[Card], int]:
        """The contacts of one book ("Contacts" by default; another must exist) as they
        read now, by name;
        `search` matches any of name, e-mail, phone and organisation (case-insensitive),
        after linked names and addresses are resolved, so a renamed person is found by
        the new name. A person's books are small, so this reads them whole."""
        wanted = rules.book_name(book)
        needle = (search or "").strip().casefold()
        async with self.db.read() as tx:
            if wanted not in await self._book_names(tx, actor):
                raise NotFound("address_book", wanted)
            rows = await store.cards(tx, actor.person_id, wanted, CONTACT)
            found = await self._resolved(tx, actor, rows)
        if needle:
            found = [c for c in found if needle in _haystack(c)]
        found.sort(key=lambda c: (c.name.casefold(), c.uid))
        total = len(found)
        end = None if limit is None else offset + limit
        return found[offset:end], total

    async def everything(
        self, actor: Principal, book: str | None = None
    ) -> tuple[list[str], list[Card], list[Card]]:
        """The names of the caller's books ("Contacts" first, then by creation), and the
        contacts and contact groups of all of them (or of `book`), by book and name."""
        async with self.db.read() as tx:
            names = await self._book_names(tx, actor)
            wanted = None if book is None else rules.book_name(book)
            if wanted is not None and wanted not in names:
                raise NotFound("address_book", wanted)
            rows = await store.cards(tx, actor.person_id, wanted)
            found = await self._resolved(tx, actor, rows)
        order = {name: i for i, name in enumerate(names)}
        found.sort(key=lambda c: (order.get(c.book, len(order)), c.name.casefold(), c.uid))
        return (
            names,
            [c for c in found if c.kind == CONTACT],
            [c for c in found if c.kind == GROUP],
        )

    async def groups(self, actor: Principal) -> tuple[list[Group], list[Card]]:
        """The tenant's server groups with their members (the groups Openfire's API
        manages), and the caller's contact groups of every book."""
        server = await self._groups.with_members(actor)
        async with self.db.read() as tx:
            rows = await store.cards(tx, actor.person_id, kind=GROUP)
            mine = await self._resolved(tx, actor, rows)
        mine.sort(key=lambda c: (c.name.casefold(), c.uid))
        return server, mine

    async def get(self, actor: Principal, uid: str) -> Card:
        """One of the caller's entries (a contact or a contact group)."""
        async with self.db.read() as tx:
            found = await store.find(tx, actor.person_id, uid)
            if found is None:
                raise NotFound("contact", uid)
            return (await self._resolved(tx, actor, [found]))[0]

    # -- writing -----------------------------------------------------------------------

    async def create(self, actor: Principal, given: EntryInput) -> Card:
        """A new contact from vCard text and/or fields; its uid is the vCard's UID, or
        one made up. A uid the caller already has is AlreadyExists."""
        if given.members is not None or given.description is not None:
            raise Invalid("members", "belongs to contact groups (POST /groups)")
        read = vcards.fields_of(vcards.parse(given.vcard)) if given.vcard else vcards.VcardFields()
        uid = rules.uid(read.uid) if read.uid else _new_uid("contact")
        name = rules.name(_pick(given.name, read.name))
        email = rules.email(_pick(given.email, read.email))
        phone = rules.optional(_pick(given.phone, read.phone), "phone", rules.MAX_PHONE)
        organization = rules.optional(
            _pick(given.organization, read.organization), "organization", rules.MAX_ORGANIZATION
        )
        book = rules.book_name(given.book)
        text = vcards.render(given.vcard, uid, name, email, phone, organization)
        values = {"kind": CONTACT, "name": name, "email": email, "phone": phone}
        values.update(organization=organization, vcard=text)
        return await self._insert(actor, uid, book, values, email)

    async def create_group(
        self,
        actor: Principal,
        name: str,
        members: Sequence[str],
        description: str | None = None,
        book: str | None = None,
    ) -> Card:
        """A contact group (`[name]` as RMP shows it) in `book` ("Contacts"); a group of
        that name already in the book is AlreadyExists."""
        group = rules.group_name(name)
        addresses = rules.members(members)
        about = rules.optional(description, "description", rules.MAX_DESCRIPTION)
        wanted_book = rules.book_name(book)
        uid = _new_uid("group")
        text = vcards.render(None, uid, group, members=addresses, description=about)
        values: dict[str, Any] = {"kind": GROUP, "name": group, "description": about}
        values["vcard"] = text
        return await self._insert(actor, uid, wanted_book, values, None, addresses)

    async def update(self, actor: Principal, uid: str, given: EntryInput) -> Card:
        """Change what `given` names; a new vCard replaces the stored one (the path's
        uid stays). A group takes a name, description and members; a contact the rest."""
        async with self.unit(actor) as work:
            owner = await self._owner(work, actor)
            found = await store.find(work, owner, uid, lock=True)
            if found is None:
                raise NotFound("contact", uid)
            if found.kind == GROUP:
                values = await self._group_changes(work, actor, found, given)
            else:
                values = await self._contact_changes(work, actor, found, given)
            target = rules.book_name(given.book) if given.book is not None else found.book
            if target != found.book:
                book_id, made = await store.ensure_book(work, owner, target, self.clock.now())
                values["book_id"] = book_id
                if made:
                    work.record("address_book.created", f"{actor.username}: {target}")
            if values:
                values["updated_at"] = self.clock.now()
                await store.update_card(work, found.id, values)
                work.record("address_book.entry.updated", _subject(actor, uid), _data(actor, uid))
            changed = await store.find(work, owner, uid)
            assert changed is not None
            return (await self._resolved(work, actor, [changed]))[0]

    async def delete(self, actor: Principal, uid: str) -> Card:
        """Remove the entry; the answer is the entry as it was."""
        async with self.unit(actor) as work:
            owner = await self._owner(work, actor)
            found = await store.find(work, owner, uid, lock=True)
            if found is None:
                raise NotFound("contact", uid)
            shown = (await self._resolved(work, actor, [found]))[0]
            await store.delete_card(work, found.id)
            work.record("address_book.entry.deleted", _subject(actor, uid), _data(actor, uid))
            return shown

    # -- helpers -----------------------------------------------------------------------

    async def _insert(
        self,
        actor: Principal,
        uid: str,
        book: str,
        values: dict[str, Any],
        email: str | None,
        members: Sequence[str] = (),
    ) -> Card:
        now = self.clock.now()
        async with self.unit(actor) as work:
            owner = await self._owner(work, actor)
            if values["kind"] == GROUP:
                taken = await store.cards(work, owner, book, GROUP)
                if any(c.name == values["name"] for c in taken):
                    raise AlreadyExists("contact_group", f"[{values['name']}]")
                values["members"] = await self._members(work, actor, members)
            link = await self._link(work, actor, email) if email else None
            book_id, made = await store.ensure_book(work, owner, book, now)
            if made:
                work.record("address_book.created", f"{actor.username}: {book}")
            row = {
                **values,
                "book_id": book_id,
                "user_id": owner,
                "uid": uid,
                "person_id": link.person_id if link else None,
                "link_domain": link.domain if link else None,
                "created_at": now,
                "updated_at": now,
            }
            try:
                await store.insert_card(work, row)
            except UniqueViolation:
                raise AlreadyExists("contact", uid) from None
            work.record("address_book.entry.created", _subject(actor, uid), _data(actor, uid))
            created = await store.find(work, owner, uid)
            assert created is not None
            return (await self._resolved(work, actor, [created]))[0]

    async def _contact_changes(
        self, work: Work, actor: Principal, found: StoredCard, given: EntryInput
    ) -> dict[str, Any]:
        if given.members is not None or given.description is not None:
            raise Invalid("members", "belongs to contact groups, not to a contact")
        read = vcards.fields_of(vcards.parse(given.vcard)) if given.vcard else None
        old = _as_given(found) if read is None else read

        def chosen(key: str, given_value: str | None) -> str | None:
            if key in given.cleared:
                return None
            return given_value if given_value is not None else getattr(old, key)

        name = rules.name(chosen("name", given.name))
        email = rules.email(chosen("email", given.email))
        phone = rules.optional(chosen("phone", given.phone), "phone", rules.MAX_PHONE)
        organization = rules.optional(
            chosen("organization", given.organization), "organization", rules.MAX_ORGANIZATION
        )
        base = given.vcard or found.vcard
        text = vcards.render(base, found.uid, name, email, phone, organization)
        wanted: dict[str, Any] = {
            "name": name,
            "email": email,
            "phone": phone,
            "organization": organization,
            "vcard": text,
        }
        if email.lower() != (found.email or "").lower():
            link = await self._link(work, actor, email)
            wanted["person_id"] = link.person_id if link else None
            wanted["link_domain"] = link.domain if link else None
        return {k: v for k, v in wanted.items() if getattr(found, k) != v}

    async def _group_changes(
        self, work: Work, actor: Principal, found: StoredCard, given: EntryInput
    ) -> dict[str, Any]:
        for key in ("email", "phone", "organization", "vcard"):
            if getattr(given, key) is not None:
                raise Invalid(key, "belongs to contacts, not to a contact group")
        name = rules.group_name(given.name) if given.name is not None else found.name
        description = found.description
        if "description" in given.cleared:
            description = None
        elif given.description is not None:
            description = rules.optional(given.description, "description", rules.MAX_DESCRIPTION)
        wanted: dict[str, Any] = {"name": name, "description": description}
        addresses = [m["email"] for m in found.members]
        if given.members is not None:
            addresses = rules.members(given.members)
            members = await self._members(work, actor, addresses)
            if members != found.members:
                wanted["members"] = members
        text = vcards.render(
            found.vcard, found.uid, name, members=addresses, description=description
        )
        wanted["vcard"] = text
        return {k: v for k, v in wanted.items() if getattr(found, k) != v}

    async def _owner(self, work: Work, actor: Principal) -> int:
        """The caller's id, its row held against other writers of its books."""
        held = await people_store.hold(work, actor.tenant_id, ids=[actor.person_id])
        if not held:
            raise NotFound("user", actor.username or "")
        return held[0].id

    async def _book_names(self, tx: Tx, actor: Principal) -> list[str]:
        names = [name for _, name in await store.books(tx, actor.person_id)]
        return [DEFAULT_BOOK, *(n for n in names if n != DEFAULT_BOOK)]

    async def _link(self, tx: Tx, actor: Principal, email: str) -> Link | None:
        """The person of the tenant `email` names: `username@<a person domain>`, else
        the person whose own address it is; None for anyone else."""
        local, _, domain = email.lower().rpartition("@")
        if domain in await store.person_domains(tx, actor.tenant_id):
            person = await store.person_by_username(tx, actor.tenant_id, local)
            if person is not None:
                return Link(person, domain)
        person = await store.person_by_email(tx, actor.tenant_id, email)
        return Link(person, None) if person is not None else None

    async def _members(
        self, tx: Tx, actor: Principal, addresses: Sequence[str]
    ) -> list[dict[str, Any]]:
        stored = []
        for address in addresses:
            link = await self._link(tx, actor, address)
            stored.append(
                {
                    "email": address,
                    "person": link.person_id if link else None,
                    "domain": link.domain if link else None,
                }
            )
        return stored

    async def _resolved(self, tx: Tx, actor: Principal, rows: Sequence[StoredCard]) -> list[Card]:
        """Entries as they read now: a linked contact or member shows the person's
        current name and address (the stored ones once the person is gone)."""
        ids = [m["person"] for r in rows for m in r.members if m.get("person") is not None]
        people = await store.people_names(tx, actor.tenant_id, ids)
        return [self._card(actor, row, people) for row in rows]

    def _card(self, actor: Principal, row: StoredCard, people: dict[int, PersonNames]) -> Card:
        if row.kind == GROUP:
            members = tuple(_member_address(actor, m, people) for m in row.members)
            return Card(
                row.uid,
                row.book,
                GROUP,
                row.name,
                None,
                None,
                None,
                row.description,
                members,
                False,
                vcards.render(
                    row.vcard, row.uid, row.name, members=members, description=row.description
                ),
            )
        linked = row.person_username is not None
        name, email = row.name, row.email
        if row.person_username is not None:
            name = row.person_name or row.name
            person = PersonNames(row.person_username, row.person_name or "", row.person_email)
            email = _address(actor, person, row.link_domain)
        text = row.vcard
        if (name, email) != (row.name, row.email):
            text = vcards.render(row.vcard, row.uid, name, email, row.phone, row.organization)
        return Card(
            row.uid,
            row.book,
            CONTACT,
            name,
            email,
            row.phone,
            row.organization,
            None,
            (),
            linked,
            text,
        )


def _address(actor: Principal, person: PersonNames, domain: str | None) -> str:
    """The person's current address as the link names it: `username@domain`, or the
    person's own e-mail (their primary-domain address once they have none)."""
    if domain is not None:
        return f"{person.username}@{domain}"
    return person.email or actor.jid(person.username)


def _member_address(
    actor: Principal, member: dict[str, Any], people: dict[int, PersonNames]
) -> str:
    found = people.get(member.get("person") or -1)
    if found is None:
        return str(member["email"])
    return _address(actor, found, member.get("domain"))


def _pick(given: str | None, read: str | None) -> str | None:
    return given if given is not None else read


def _as_given(found: StoredCard) -> vcards.VcardFields:
    return vcards.VcardFields(
        uid=found.uid,
        name=found.name,
        email=found.email,
        phone=found.phone,
        organization=found.organization,
    )


def _haystack(card: Card) -> str:
    parts = (card.name, card.email, card.phone, card.organization)
    return "\n".join(p for p in parts if p).casefold()


def _new_uid(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def _subject(actor: Principal, uid: str) -> str:
    return f"{actor.username}: {uid}"


def _data(actor: Principal, uid: str) -> dict[str, Any]:
    return {"owner": actor.username, "uid": uid}
