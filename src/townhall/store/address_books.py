"""Address books and their entries (contacts and contact groups), per person.

An entry row carries the linked person's current username, name and e-mail (a LEFT
JOIN on `person_id`), so a reader resolves a linked entry without another statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, insert, select, update

from townhall.store.database import Tx, UniqueViolation
from townhall.store.schema import address_books, address_cards, domains, users


@dataclass(frozen=True, slots=True)
class StoredCard:
    """An entry's row, with the linked person's current username, name and address
    (None when unlinked or the person is gone)."""

    id: int
    book: str
    kind: str
    uid: str
    name: str
    email: str | None
    phone: str | None
    organization: str | None
    description: str | None
    members: list[dict[str, Any]]
    person_id: int | None
    link_domain: str | None
    vcard: str
    person_username: str | None
    person_name: str | None
    person_email: str | None


@dataclass(frozen=True, slots=True)
class PersonNames:
    username: str
    name: str
    email: str | None


_CARD = (
    select(
        address_cards,
        address_books.c.name.label("book_name"),
        users.c.username.label("p_username"),
        users.c.name.label("p_name"),
        users.c.email.label("p_email"),
    )
    .join(address_books, address_books.c.id == address_cards.c.book_id)
    .outerjoin(users, users.c.id == address_cards.c.person_id)
)


def _card(row: Any) -> StoredCard:
    return StoredCard(
        id=row.id,
        book=row.book_name,
        kind=row.kind,
        uid=row.uid,
        name=row.name,
        email=row.email,
        phone=row.phone,
        organization=row.organization,
        description=row.description,
        members=list(row.members or []),
        person_id=row.person_id,
        link_domain=row.link_domain,
        vcard=row.vcard,
        person_username=row.p_username,
        person_name=row.p_name,
        person_email=row.p_email,
    )


async def books(tx: Tx, user_id: int) -> list[tuple[int, str]]:
    query = (
        select(address_books.c.id, address_books.c.name)
        .where(address_books.c.user_id == user_id)
        .order_by(address_books.c.id)
    )
    return [(r.id, r.name) for r in await tx.execute(query)]


async def ensure_book(tx: Tx, user_id: int, name: str, now: datetime) -> tuple[int, bool]:
    """The book's id, made when missing, and whether this call made it (two requests
    making it at once both succeed: the loser reads the winner's row)."""
    query = select(address_books.c.id).where(
        address_books.c.user_id == user_id, address_books.c.name == name
    )
    found = (await tx.execute(query)).scalar()
    if found is not None:
        return int(found), False
    try:
        await tx.savepoint_insert(
            insert(address_books).values(user_id=user_id, name=name, created_at=now)
        )
    except UniqueViolation:
        return int((await tx.execute(query)).scalar_one()), False
    return int((await tx.execute(query)).scalar_one()), True


async def cards(
    tx: Tx, user_id: int, book: str | None = None, kind: str | None = None
) -> list[StoredCard]:
    query = _CARD.where(address_cards.c.user_id == user_id)
    if book is not None:
        query = query.where(address_books.c.name == book)
    if kind is not None:
        query = query.where(address_cards.c.kind == kind)
    return [_card(r) for r in await tx.execute(query.order_by(address_cards.c.id))]


async def find(tx: Tx, user_id: int, uid: str, lock: bool = False) -> StoredCard | None:
    query = _CARD.where(address_cards.c.user_id == user_id, address_cards.c.uid == uid)
    if lock:
        query = query.with_for_update(of=address_cards)
    row = (await tx.execute(query)).first()
    return _card(row) if row else None


def _keyed(values: dict[str, Any]) -> dict[str, Any]:
    """The values with `email_key` kept in step with `email`."""
    if "email" not in values:
        return values
    email = values["email"]
    return {**values, "email_key": email.lower() if email else None}


async def insert_card(tx: Tx, values: dict[str, Any]) -> None:
    """Raises UniqueViolation when the owner already has an entry with that uid."""
    await tx.savepoint_insert(insert(address_cards).values(**_keyed(values)))


async def update_card(tx: Tx, card_id: int, values: dict[str, Any]) -> None:
    stmt = update(address_cards).where(address_cards.c.id == card_id)
    await tx.execute(stmt.values(**_keyed(values)))


async def delete_card(tx: Tx, card_id: int) -> None:
    await tx.execute(delete(address_cards).where(address_cards.c.id == card_id))


# -- the people entries link to ---------------------------------------------------------


async def person_domains(tx: Tx, tenant_id: int) -> set[str]:
    """The tenant's domains whose addresses are people (not resource sub-domains)."""
    query = select(domains.c.name).where(
        domains.c.tenant_id == tenant_id, domains.c.kind != "resource-subdomain"
    )
    return {r.name.lower() for r in await tx.execute(query)}


async def person_by_username(tx: Tx, tenant_id: int, username: str) -> int | None:
    query = select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.username == username)
    found = (await tx.execute(query)).scalar()
    return int(found) if found is not None else None


async def person_by_email(tx: Tx, tenant_id: int, email: str) -> int | None:
    """The person whose own address this is (the lowest id if several share it)."""
    query = (
        select(users.c.id)
        .where(users.c.tenant_id == tenant_id, func.lower(users.c.email) == email.lower())
        .order_by(users.c.id)
        .limit(1)
    )
    found = (await tx.execute(query)).scalar()
    return int(found) if found is not None else None


async def people_names(tx: Tx, tenant_id: int, ids: Sequence[int]) -> dict[int, PersonNames]:
    if not ids:
        return {}
    query = select(users.c.id, users.c.username, users.c.name, users.c.email).where(
        users.c.tenant_id == tenant_id, users.c.id.in_(list(set(ids)))
    )
    return {r.id: PersonNames(r.username, r.name, r.email) for r in await tx.execute(query)}


async def adopt(tx: Tx, tenant_id: int, user_id: int) -> int:
    """Link to the person the tenant's unlinked contacts whose address is now theirs
    (`username@<a person domain>`, or their own e-mail): a contact written before the
    person existed, or before the address was theirs, follows them from then on, as a
    group membership kept under a JID becomes the account's. How many it linked."""
    person = (
        await tx.execute(
            select(users.c.username, users.c.email).where(
                users.c.id == user_id, users.c.tenant_id == tenant_id
            )
        )
    ).first()
    if person is None:
        return 0
    owners = select(users.c.id).where(users.c.tenant_id == tenant_id).scalar_subquery()
    unlinked = (
        address_cards.c.person_id.is_(None),
        address_cards.c.kind == "contact",
        address_cards.c.user_id.in_(owners),
    )
    domains_of = sorted(await person_domains(tx, tenant_id))
    wanted: list[tuple[str, str | None]] = [(f"{person.username}@{d}", d) for d in domains_of]
    if person.email:
        wanted.append((person.email.lower(), None))
    linked = 0
    for address, domain in wanted:
        done = await tx.execute(
            update(address_cards)
            .where(*unlinked, address_cards.c.email_key == address.lower())
            .values(person_id=user_id, link_domain=domain)
        )
        linked += int(done.rowcount)  # type: ignore[attr-defined]
        linked += await _adopt_members(tx, owners, user_id, address.lower(), domain)
    return linked


async def _adopt_members(
    tx: Tx, owners: Any, user_id: int, address: str, domain: str | None
) -> int:
    """The same for contact groups' unlinked members of that address. The members are
    JSON, so the database finds the candidate groups by text and each is checked here."""
    escaped = address.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = select(address_cards.c.id, address_cards.c.members).where(
        address_cards.c.kind == "group",
        address_cards.c.user_id.in_(owners),
        func.lower(cast(address_cards.c.members, Text)).like(f"%{escaped}%", escape="\\"),
    )
    linked = 0
    for row in (await tx.execute(query)).all():
        members = [dict(m) for m in row.members or []]
        found = [m for m in members if m.get("person") is None and m["email"].lower() == address]
        for member in found:
            member.update(person=user_id, domain=domain)
        if found:
            stmt = update(address_cards).where(address_cards.c.id == row.id)
            await tx.execute(stmt.values(members=members))
            linked += len(found)
    return linked
