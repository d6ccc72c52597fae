"""Bookings of resources, and the calendar events each booking writes.

Intervals are half-open, [start, end): a booking may start when the previous one ends.
On PostgreSQL the exclusion constraint of migration 0004 is the guard; the overlap query
here lets the common case answer 409 without a failed insert, and names the winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from townhall.domain.models import Booking
from townhall.domain.queries import BookingQuery
from townhall.infrastructure.clock import as_utc
from townhall.store import calendars as calendar_store
from townhall.store import domains as domain_store
from townhall.store.calendars import EventValues
from townhall.store.database import Tx
from townhall.store.schema import (
    bookings,
    calendar_events,
    calendars,
    domains,
    resources,
    users,
)

LIVE = bookings.c.status != "cancelled"
NEEDS_ACTION = "NEEDS-ACTION"
"""An invited person's answer until they give one (RFC 5545 PARTSTAT)."""
RESOURCE_SUBDOMAIN = "resource-subdomain"
_parent = aliased(domains)


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """What a booking needs of its resource: ids, address, its domains' settings and
    its default calendar (None until one is made)."""

    id: int
    address: str
    domain: str
    active: bool
    settings: dict[str, object]
    calendar_id: int | None = None


def _address() -> Any:
    return resources.c.name + "@" + domains.c.name


_RESOURCE_REFS = (
    select(
        resources.c.id,
        resources.c.name,
        resources.c.active,
        domains.c.name.label("domain"),
        domains.c.settings,
        _parent.c.settings.label("parent_settings"),
        select(calendars.c.id)
        .where(
            calendars.c.owner_resource_id == resources.c.id,
            calendars.c.name == calendar_store.DEFAULT_CALENDAR,
        )
        .scalar_subquery()
        .label("calendar_id"),
    )
    .join(domains, domains.c.id == resources.c.domain_id)
    .outerjoin(_parent, _parent.c.id == domains.c.parent_id)
    .where(
        resources.c.tenant_id == bindparam("tenant_id"),
        resources.c.name.in_(bindparam("names", expanding=True)),
    )
)
"""Built once: booking creation runs it on every request."""


async def resource_refs(tx: Tx, tenant_id: int, addresses: list[str]) -> list[ResourceRef]:
    """The resources named by their accounts (`name@sub.domain`), in no particular order."""
    wanted = {a.strip().lower() for a in addresses}
    by_name = sorted({a.partition("@")[0] for a in wanted})
    found = []
    for row in await tx.execute(_RESOURCE_REFS, {"tenant_id": tenant_id, "names": by_name}):
        address = f"{row.name}@{row.domain}"
        if address in wanted:
            settings = {
                **domain_store.settings_of(row.parent_settings),
                **domain_store.settings_of(row.settings),
            }
            found.append(
                ResourceRef(
                    row.id, address, row.domain, bool(row.active), settings, row.calendar_id
                )
            )
    return found


_BOOKING = (
    select(
        bookings,
        _address().label("resource"),
        select(func.min(calendar_events.c.id))
        .join(calendars, calendars.c.id == calendar_events.c.calendar_id)
        .where(
            calendar_events.c.booking_id == bookings.c.id,
            calendars.c.owner_user_id == bookings.c.organizer_id,
        )
        .scalar_subquery()
        .label("calendar_event_id"),
    )
    .join(resources, resources.c.id == bookings.c.resource_id)
    .join(domains, domains.c.id == resources.c.domain_id)
)


def _booking(row: Row[Any]) -> Booking:
    return Booking(
        id=row.id,
        resource=row.resource,
        title=row.title,
        starts_at=as_utc(row.starts_at),
        ends_at=as_utc(row.ends_at),
        status=row.status,
        organizer=row.organizer,
        attendees=tuple(row.attendees or ()),
        services=tuple(row.services or ()),
        calendar_event_id=str(row.calendar_event_id) if row.calendar_event_id else None,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


async def overlapping(
    tx: Tx,
    resource_ids: list[int],
    starts_at: datetime,
    ends_at: datetime,
    besides: str | None = None,
) -> list[Booking]:
    """Live bookings of the resources that share an instant with [starts_at, ends_at)."""
    query = _OVERLAPPING if besides is None else _OVERLAPPING_BESIDES
    params = {"ids": resource_ids, "since": starts_at, "till": ends_at, "besides": besides}
    return [_booking(row) for row in await tx.execute(query, params)]


_OVERLAPPING = _BOOKING.where(
    bookings.c.resource_id.in_(bindparam("ids", expanding=True)),
    LIVE,
    bookings.c.starts_at < bindparam("till", type_=bookings.c.starts_at.type),
    bookings.c.ends_at > bindparam("since", type_=bookings.c.ends_at.type),
).order_by(bookings.c.starts_at)
"""Built once: every booking asks it (on SQLite; on PostgreSQL after a refusal)."""
_OVERLAPPING_BESIDES = _OVERLAPPING.where(bookings.c.id != bindparam("besides"))


async def live_after(
    tx: Tx, resource_id: int, moment: datetime
) -> list[tuple[Booking, int | None]]:
    """Live bookings of the resource that have not ended by `moment`, locked, each with
    its organizer's user id."""
    query = (
        _BOOKING.where(bookings.c.resource_id == resource_id, LIVE, bookings.c.ends_at > moment)
        .order_by(bookings.c.starts_at)
        .with_for_update(of=bookings)
    )
    return [(_booking(row), row.organizer_id) for row in await tx.execute(query)]


async def update_booking(tx: Tx, booking_id: str, **values: Any) -> None:
    await tx.execute(update(bookings).where(bookings.c.id == booking_id).values(**values))


async def delete_organised_by(tx: Tx, user_id: int) -> None:
    await tx.execute(delete(bookings).where(bookings.c.organizer_id == user_id))


async def find(
    tx: Tx, tenant_id: int, booking_id: str, lock: bool = False
) -> tuple[Booking, int | None] | None:
    """The booking and its organizer's user id. With `lock`, the booking row is read so
    that no other writer changes it before this transaction ends (FOR UPDATE on
    PostgreSQL; SQLite's write transactions are serial anyway)."""
    query = _BOOKING.where(bookings.c.tenant_id == tenant_id, bookings.c.id == booking_id)
    if lock:
        query = query.with_for_update(of=bookings)
    row = (await tx.execute(query)).first()
    return (_booking(row), row.organizer_id) if row else None


@dataclass(frozen=True, slots=True)
class Visible:
    """Whose bookings a listing shows: with `everyone`, all of the tenant's; otherwise
    those `person_id` organised or is invited to, and those of resources under
    `domains` (the domains an admin administers)."""

    everyone: bool = False
    person_id: int | None = None
    domains: tuple[str, ...] = ()


def invited(user_id: int) -> Any:
    """Whether the person holds the booking's event as an invitation (their copy)."""
    return exists(
        select(calendar_events.c.id)
        .join(calendars, calendars.c.id == calendar_events.c.calendar_id)
        .where(
            calendar_events.c.booking_id == bookings.c.id,
            calendars.c.owner_user_id == user_id,
            calendar_events.c.partstat.is_not(None),
        )
    )


def _seen_by(visible: Visible) -> Any:
    ways: list[Any] = []
    if visible.person_id is not None:
        ways += [bookings.c.organizer_id == visible.person_id, invited(visible.person_id)]
    for name in visible.domains:
        ways += [domains.c.name == name, domains.c.name.endswith("." + name, autoescape=True)]
    return or_(*ways) if ways else bookings.c.id.is_(None)


def _filtered(
    query: Select[Any], tenant_id: int, q: BookingQuery, visible: Visible, resource_id: int | None
) -> Select[Any]:
    query = query.where(bookings.c.tenant_id == tenant_id)
    if not visible.everyone:
        query = query.where(_seen_by(visible))
    if q.status is not None:
        query = query.where(bookings.c.status == q.status)
    if q.since is not None:
        query = query.where(bookings.c.ends_at > q.since)
    if q.until is not None:
        query = query.where(bookings.c.starts_at < q.until)
    if resource_id is not None:
        query = query.where(bookings.c.resource_id == resource_id)
    return query


async def search(
    tx: Tx,
    tenant_id: int,
    q: BookingQuery,
    visible: Visible,
    resource_id: int | None,
    offset: int,
    limit: int,
) -> tuple[list[Booking], int]:
    listed = _filtered(_BOOKING, tenant_id, q, visible, resource_id).order_by(
        bookings.c.starts_at, bookings.c.id
    )
    rows = await tx.execute(listed.offset(offset).limit(limit))
    found = [_booking(row) for row in rows]
    counted = _filtered(
        select(func.count())
        .select_from(bookings)
        .join(resources, resources.c.id == bookings.c.resource_id)
        .join(domains, domains.c.id == resources.c.domain_id),
        tenant_id,
        q,
        visible,
        resource_id,
    )
    return found, int((await tx.execute(counted)).scalar_one())


def event_uid(booking_id: str) -> str:
    return f"{booking_id}@townhall"


async def sequence(tx: Tx, booking_id: str) -> int:
    query = select(func.max(calendar_events.c.sequence)).where(
        calendar_events.c.booking_id == booking_id
    )
    return int((await tx.execute(query)).scalar() or 0)


async def every(tx: Tx, tenant_id: int) -> list[Booking]:
    """All of the tenant's bookings, cancelled ones too (an export's booking history)."""
    query = _BOOKING.where(bookings.c.tenant_id == tenant_id)
    return [_booking(row) for row in await tx.execute(query.order_by(bookings.c.starts_at))]


async def existing_ids(tx: Tx, ids: list[str]) -> set[str]:
    """Which of `ids` are bookings already (ids are unique across tenants)."""
    if not ids:
        return set()
    query = select(bookings.c.id).where(bookings.c.id.in_(ids))
    return {str(found) for found in (await tx.execute(query)).scalars()}


async def people_addressed(tx: Tx, tenant_id: int, addresses: Sequence[str]) -> list[int]:
    """The ids of the tenant's people the addresses name, each once: `user@domain` of
    any of the tenant's person domains (a person answers under each), or their stored
    e-mail address. Addresses of nobody here (outside guests, resources) name no one."""
    wanted = {a.strip().lower() for a in addresses}
    if not wanted:
        return []
    locals_ = sorted({a.rpartition("@")[0] for a in wanted})
    names = sorted({a.rpartition("@")[2] for a in wanted})
    by_domain = (
        select(users.c.id, users.c.username, domains.c.name)
        .join(domains, domains.c.tenant_id == users.c.tenant_id)
        .where(
            users.c.tenant_id == tenant_id,
            users.c.username.in_(locals_),
            domains.c.name.in_(names),
            domains.c.kind != RESOURCE_SUBDOMAIN,
        )
    )
    found = [
        int(row.id) for row in await tx.execute(by_domain) if f"{row.username}@{row.name}" in wanted
    ]
    by_email = select(users.c.id).where(
        users.c.tenant_id == tenant_id, func.lower(users.c.email).in_(sorted(wanted))
    )
    found += [int(i) for i in (await tx.execute(by_email)).scalars()]
    return sorted(set(found))


async def invitees_of(tx: Tx, booking_id: str) -> list[int]:
    """The people who hold an invitation to the booking, by id."""
    query = (
        select(calendars.c.owner_user_id)
        .join(calendar_events, calendar_events.c.calendar_id == calendars.c.id)
        .where(calendar_events.c.booking_id == booking_id, calendar_events.c.partstat.is_not(None))
    )
    return sorted({int(i) for i in (await tx.execute(query)).scalars() if i is not None})


async def is_invited(tx: Tx, booking_id: str, user_id: int) -> bool:
    """Whether the person holds an invitation to the booking (their copy of its event)."""
    query = select(invited(user_id)).select_from(bookings).where(bookings.c.id == booking_id)
    return bool((await tx.execute(query)).scalar())


def _values(booking: Booking, partstat: str | None = None) -> EventValues:
    """The event a booking writes into a calendar (with `partstat`, an invitation)."""
    return EventValues(
        uid=event_uid(booking.id),
        title=booking.title,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        series_ends_at=booking.ends_at,
        location=booking.resource,
        organizer=booking.organizer,
        attendees=booking.attendees,
        status=booking.status,
        booking_id=booking.id,
        partstat=partstat,
    )


async def _invite(
    tx: Tx, tenant_id: int, booking: Booking, invitees: Sequence[int], now: datetime
) -> None:
    """An invitation (the booking's event, awaiting an answer) in each one's calendar."""
    ids = [await calendar_store.personal_calendar(tx, tenant_id, i, now) for i in invitees]
    await calendar_store.write_booking_events(tx, ids, _values(booking, NEEDS_ACTION), now)


async def sync_invitations(
    tx: Tx, tenant_id: int, booking: Booking, invitees: Sequence[int], now: datetime
) -> None:
    """Make the invited people exactly `invitees`: those no longer invited lose their
    copy of the event, those newly invited get one (their answers elsewhere stay)."""
    owner = (
        select(calendars.c.owner_user_id)
        .where(calendars.c.id == calendar_events.c.calendar_id)
        .scalar_subquery()
    )
    mine = and_(calendar_events.c.booking_id == booking.id, calendar_events.c.partstat.is_not(None))
    held = {int(i) for i in (await tx.execute(select(owner).where(mine))).scalars()}
    gone = sorted(held - set(invitees))
    if gone:
        await tx.execute(delete(calendar_events).where(mine, owner.in_(gone)))
    await _invite(tx, tenant_id, booking, [i for i in invitees if i not in held], now)


async def move(
    tx: Tx, tenant_id: int, booking_id: str, source: ResourceRef, target: ResourceRef, now: datetime
) -> None:
    """Move the booking to another resource; its event in the old resource's calendar
    goes into the new one's (the caller carries the new `location` to every event)."""
    await update_booking(tx, booking_id, resource_id=target.id)
    into = target.calendar_id or await calendar_store.calendar_of_resource(
        tx, tenant_id, target.id, now
    )
    owned = select(calendars.c.id).where(calendars.c.owner_resource_id == source.id)
    await tx.execute(
        update(calendar_events)
        .where(calendar_events.c.booking_id == booking_id, calendar_events.c.calendar_id.in_(owned))
        .values(calendar_id=into)
    )


_INSERT = insert(bookings)


async def insert_with_events(
    tx: Tx,
    tenant_id: int,
    resource: ResourceRef,
    organizer_id: int | None,
    booking: Booking,
    invitees: Sequence[int] = (),
) -> int | None:
    """Write the booking and its events: one in the resource's calendar, one in the
    organizer's (a person of the tenant) and an invitation in each invited person's,
    all sharing the booking's iCalendar UID. Answers the organizer's event, the
    booking's `calendarEventId` (None without one)."""
    now = booking.updated_at
    await tx.execute(
        _INSERT,
        {
            "id": booking.id,
            "tenant_id": tenant_id,
            "resource_id": resource.id,
            "organizer_id": organizer_id,
            "organizer": booking.organizer,
            "title": booking.title,
            "starts_at": booking.starts_at,
            "ends_at": booking.ends_at,
            "status": booking.status,
            "attendees": list(booking.attendees),
            "services": list(booking.services),
            "created_at": booking.created_at,
            "updated_at": now,
        },
    )
    ids = [
        resource.calendar_id
        or await calendar_store.calendar_of_resource(tx, tenant_id, resource.id, now)
    ]
    if organizer_id is not None:
        ids.append(await calendar_store.personal_calendar(tx, tenant_id, organizer_id, now))
    written = await calendar_store.write_booking_events(tx, ids, _values(booking), now)
    await _invite(tx, tenant_id, booking, [i for i in invitees if i != organizer_id], now)
    return written[1] if organizer_id is not None else None
