"""Calendars, their shares and their events; free/busy's raw material.

A calendar belongs to a person or to a resource. Events are stored once per calendar;
a recurring event is one row (its RRULE, EXDATEs and `series_ends_at`, the last instant
any occurrence can end, NULL for an endless series) that readers expand. Range reads
are one statement each, bounded on `starts_at` so the (calendar_id, starts_at) index
serves them.

The helpers taking a `tx` and no actor (`personal_calendar`, `calendar_of_resource`,
`write_booking_events`, ...) are for other services, e.g. bookings, to call inside
their own transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Row,
    and_,
    bindparam,
    delete,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import BindParameter

from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx, UniqueViolation
from townhall.store.database import rows as all_rows
from townhall.store.schema import (
    bookings,
    calendar_events,
    calendar_group_shares,
    calendar_shares,
    calendars,
    domains,
    group_members,
    groups,
    resources,
    user_properties,
    users,
)

DEFAULT_CALENDAR = "Calendar"
DECLINED = "DECLINED"
OWNER_ACCESS = "read-write"


@dataclass(frozen=True, slots=True)
class Reachable:
    """A calendar as one reader reaches it: `type` personal / shared / resource, and
    the reader's `access` (own calendars are read-write)."""

    id: int
    name: str
    type: str
    access: str


@dataclass(frozen=True, slots=True)
class EventValues:
    """Everything an event row holds but its id, calendar, sequence and timestamps."""

    uid: str
    title: str
    starts_at: datetime
    ends_at: datetime
    series_ends_at: datetime | None
    location: str | None = None
    organizer: str | None = None
    attendees: tuple[str, ...] = ()
    rrule: str | None = None
    exdates: tuple[datetime, ...] = ()
    status: str = "confirmed"
    booking_id: str | None = None
    partstat: str | None = None
    """The calendar owner's answer when the event is an invitation to them (PARTSTAT)."""
    timezone: str | None = None
    """The IANA zone the series expands in; None is UTC."""
    series_id: int | None = None
    """Set on an overridden occurrence: the series row it replaces an occurrence of."""
    recurrence_id: datetime | None = None
    """Set on an overridden occurrence: the original start of the occurrence."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    calendar_id: int
    calendar: str
    values: EventValues
    sequence: int


def _utc(moment: datetime) -> datetime:
    """What is stored: UTC (SQLite keeps the wall time only, so it must be UTC's)."""
    return moment.astimezone(UTC)


def _exdates_out(stored: Any) -> tuple[datetime, ...]:
    return tuple(as_utc(datetime.fromisoformat(raw)) for raw in stored or ())


def _exdates_in(moments: Sequence[datetime]) -> list[str]:
    return sorted({_utc(moment).isoformat() for moment in moments})


def _columns(values: EventValues) -> dict[str, Any]:
    return {
        "uid": values.uid,
        "title": values.title,
        "location": values.location,
        "organizer": values.organizer,
        "attendees": list(values.attendees),
        "starts_at": _utc(values.starts_at),
        "ends_at": _utc(values.ends_at),
        "rrule": values.rrule,
        "exdates": _exdates_in(values.exdates),
        "series_ends_at": _utc(values.series_ends_at) if values.series_ends_at else None,
        "status": values.status,
        "booking_id": values.booking_id,
        "partstat": values.partstat,
        "timezone": values.timezone,
        "series_id": values.series_id,
        "recurrence_id": _utc(values.recurrence_id) if values.recurrence_id else None,
    }


# --- calendars -----------------------------------------------------------------------


_OWNED = {
    column: select(calendars.c.id).where(
        calendars.c[column] == bindparam("owner"), calendars.c.name == bindparam("name")
    )
    for column in ("owner_user_id", "owner_resource_id")
}
"""A calendar by owner and name, built once: every booking looks up two of them."""
_MADE = insert(calendars)


async def _owned(tx: Tx, column: str, owner: int, name: str) -> int | None:
    found = (await tx.execute(_OWNED[column], {"owner": owner, "name": name})).scalar()
    return int(found) if found is not None else None


async def _find_or_make(tx: Tx, tenant_id: int, column: str, owner: int, now: datetime) -> int:
    """The owner's default calendar, made if missing. The insert runs in a savepoint so
    a concurrent maker's win (the unique owner+name) is read, not an error."""
    found = await _owned(tx, column, owner, DEFAULT_CALENDAR)
    if found is not None:
        return found
    made = {"tenant_id": tenant_id, "name": DEFAULT_CALENDAR, "created_at": now, column: owner}
    # No RETURNING here: SQLite cannot release a savepoint with a result still open.
    with contextlib.suppress(UniqueViolation):
        await tx.savepoint_insert(_MADE, made)
    again = await _owned(tx, column, owner, DEFAULT_CALENDAR)
    assert again is not None
    return again


async def personal_calendar(tx: Tx, tenant_id: int, user_id: int, now: datetime) -> int:
    """The id of the person's "Calendar" (made on first use)."""
    return await _find_or_make(tx, tenant_id, "owner_user_id", user_id, now)


async def calendar_of_resource(tx: Tx, tenant_id: int, resource_id: int, now: datetime) -> int:
    """The id of the resource's "Calendar" (made on first use)."""
    return await _find_or_make(tx, tenant_id, "owner_resource_id", resource_id, now)


async def personal_owners(tx: Tx, user_ids: Sequence[int]) -> set[int]:
    """Which of the people have their personal calendar already."""
    query = select(calendars.c.owner_user_id).where(
        calendars.c.owner_user_id.in_(list(user_ids)), calendars.c.name == DEFAULT_CALENDAR
    )
    return {int(i) for i in (await tx.execute(query)).scalars()}


async def has_personal_calendar(tx: Tx, user_id: int) -> bool:
    return await _owned(tx, "owner_user_id", user_id, DEFAULT_CALENDAR) is not None


async def create_calendar(tx: Tx, tenant_id: int, user_id: int, name: str, now: datetime) -> int:
    """A further calendar of a person; UniqueViolation if they have one of that name."""
    made = insert(calendars).values(
        tenant_id=tenant_id, owner_user_id=user_id, name=name, created_at=now
    )
    return int((await tx.execute(made.returning(calendars.c.id))).scalar_one())


async def find_owned(tx: Tx, user_id: int, name: str) -> int | None:
    return await _owned(tx, "owner_user_id", user_id, name)


async def share(tx: Tx, calendar_id: int, user_id: int, access: str) -> None:
    """Give (or change) a person's access to a calendar."""
    match = (calendar_shares.c.calendar_id == calendar_id) & (calendar_shares.c.user_id == user_id)
    exists = (await tx.execute(select(calendar_shares.c.access).where(match))).first()
    if exists is None:
        await tx.execute(
            insert(calendar_shares).values(calendar_id=calendar_id, user_id=user_id, access=access)
        )
    else:
        await tx.execute(update(calendar_shares).where(match).values(access=access))


async def unshare(tx: Tx, calendar_id: int, user_id: int) -> bool:
    """End a person's share of a calendar; False if there was none."""
    match = (calendar_shares.c.calendar_id == calendar_id) & (calendar_shares.c.user_id == user_id)
    done = await tx.execute(delete(calendar_shares).where(match))
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def share_with_group(tx: Tx, calendar_id: int, group_id: int, access: str) -> None:
    """Give (or change) a server group's access to a calendar."""
    match = (calendar_group_shares.c.calendar_id == calendar_id) & (
        calendar_group_shares.c.group_id == group_id
    )
    exists = (await tx.execute(select(calendar_group_shares.c.access).where(match))).first()
    if exists is None:
        await tx.execute(
            insert(calendar_group_shares).values(
                calendar_id=calendar_id, group_id=group_id, access=access
            )
        )
    else:
        await tx.execute(update(calendar_group_shares).where(match).values(access=access))


async def unshare_group(tx: Tx, calendar_id: int, group_id: int) -> bool:
    match = (calendar_group_shares.c.calendar_id == calendar_id) & (
        calendar_group_shares.c.group_id == group_id
    )
    done = await tx.execute(delete(calendar_group_shares).where(match))
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def group_id(tx: Tx, tenant_id: int, name: str) -> int | None:
    """The id of the tenant's server group `name`."""
    query = select(groups.c.id).where(groups.c.tenant_id == tenant_id, groups.c.name == name)
    found = (await tx.execute(query)).scalar()
    return int(found) if found is not None else None


def _reachable(row: Row[Any], user_id: int) -> Reachable:
    if row.owner_user_id == user_id:
        return Reachable(row.id, row.name, "personal", OWNER_ACCESS)
    kind = "resource" if row.owner_resource_id is not None else "shared"
    return Reachable(row.id, row.name, kind, row.access)


async def reachable(tx: Tx, user_id: int, name: str | None = None) -> list[Reachable]:
    """The calendars a person owns, then those shared with them (optionally only those
    named `name`), each group by name then id, in one statement."""
    columns = (
        calendars.c.id,
        calendars.c.name,
        calendars.c.owner_user_id,
        calendars.c.owner_resource_id,
    )
    own = select(*columns, literal(OWNER_ACCESS).label("access")).where(
        calendars.c.owner_user_id == user_id
    )
    shared = (
        select(*columns, calendar_shares.c.access)
        .join(calendar_shares, calendar_shares.c.calendar_id == calendars.c.id)
        .where(
            calendar_shares.c.user_id == user_id,
            calendars.c.owner_user_id.is_distinct_from(user_id),
        )
    )
    via_group = (
        select(*columns, calendar_group_shares.c.access)
        .join(calendar_group_shares, calendar_group_shares.c.calendar_id == calendars.c.id)
        .join(group_members, group_members.c.group_id == calendar_group_shares.c.group_id)
        .where(
            group_members.c.user_id == user_id,
            calendars.c.owner_user_id.is_distinct_from(user_id),
        )
    )
    if name is not None:
        own = own.where(calendars.c.name == name)
        shared = shared.where(calendars.c.name == name)
        via_group = via_group.where(calendars.c.name == name)
    best: dict[int, Reachable] = {}
    for row in await tx.execute(union_all(own, shared, via_group)):
        found = _reachable(row, user_id)
        kept = best.get(found.id)
        if kept is None or (kept.access != OWNER_ACCESS and found.access == OWNER_ACCESS):
            best[found.id] = found  # shared directly and through a group: the wider wins
    return sorted(best.values(), key=lambda c: (c.type != "personal", c.name, c.id))


async def preferred_zone(tx: Tx, user_id: int, key: str, domain_id: int | None) -> str | None:
    """The person's time-zone preference (property `key`), else the `timezone` setting
    of the domain `domain_id`; None if neither is set."""
    query = select(user_properties.c.value).where(
        user_properties.c.user_id == user_id, user_properties.c.key == key
    )
    own = (await tx.execute(query)).scalar()
    if own:
        return str(own)
    if domain_id is None:
        return None
    query = select(domains.c.settings).where(domains.c.id == domain_id)
    settings = (await tx.execute(query)).scalar()
    value = settings.get("timezone") if isinstance(settings, dict) else None
    return value if isinstance(value, str) and value else None


async def domain_id(tx: Tx, tenant_id: int, name: str) -> int | None:
    query = select(domains.c.id).where(domains.c.tenant_id == tenant_id, domains.c.name == name)
    found = (await tx.execute(query)).scalar()
    return int(found) if found is not None else None


# --- people and resources by address -------------------------------------------------


async def person(tx: Tx, tenant_id: int, username: str) -> tuple[int, str | None] | None:
    """(id, stored e-mail) of a person of the tenant."""
    query = select(users.c.id, users.c.email).where(
        users.c.tenant_id == tenant_id, users.c.username == username
    )
    row = (await tx.execute(query)).first()
    return (int(row.id), row.email) if row else None


async def domain_kind(tx: Tx, tenant_id: int, name: str) -> str | None:
    query = select(domains.c.kind).where(domains.c.tenant_id == tenant_id, domains.c.name == name)
    found = (await tx.execute(query)).scalar()
    return str(found) if found is not None else None


_RESOURCE_ID = (
    select(resources.c.id)
    .join(domains, domains.c.id == resources.c.domain_id)
    .where(
        resources.c.tenant_id == bindparam("tenant_id"),
        resources.c.name == bindparam("name"),
        domains.c.name == bindparam("domain"),
    )
)


async def resource_id(tx: Tx, tenant_id: int, name: str, domain: str) -> int | None:
    """The resource account `name@domain` of the tenant."""
    params = {"tenant_id": tenant_id, "name": name, "domain": domain}
    found = (await tx.execute(_RESOURCE_ID, params)).scalar()
    return int(found) if found is not None else None


# --- events --------------------------------------------------------------------------


_EVENT = select(
    calendar_events,
    calendars.c.name.label("calendar_name"),
).join(calendars, calendars.c.id == calendar_events.c.calendar_id)


def _event(row: Row[Any]) -> StoredEvent:
    values = EventValues(
        uid=row.uid,
        title=row.title,
        starts_at=as_utc(row.starts_at),
        ends_at=as_utc(row.ends_at),
        series_ends_at=as_utc(row.series_ends_at) if row.series_ends_at else None,
        location=row.location,
        organizer=row.organizer,
        attendees=tuple(row.attendees or ()),
        rrule=row.rrule,
        exdates=_exdates_out(row.exdates),
        status=row.status,
        booking_id=row.booking_id,
        partstat=row.partstat,
        timezone=row.timezone,
        series_id=row.series_id,
        recurrence_id=as_utc(row.recurrence_id) if row.recurrence_id else None,
    )
    return StoredEvent(row.id, row.calendar_id, row.calendar_name, values, row.sequence)


async def insert_event(
    tx: Tx, calendar_id: int, values: EventValues, now: datetime, sequence: int = 0
) -> int:
    """A new event row; `sequence` above 0 for an override, which starts at its series'
    SEQUENCE so calendar clients do not take it for an older version of the series."""
    made = insert(calendar_events).values(
        calendar_id=calendar_id,
        sequence=sequence,
        created_at=now,
        updated_at=now,
        **_columns(values),
    )
    return int((await tx.execute(made.returning(calendar_events.c.id))).scalar_one())


async def get_event(tx: Tx, calendar_id: int, event_id: int) -> StoredEvent | None:
    query = _EVENT.where(
        calendar_events.c.id == event_id, calendar_events.c.calendar_id == calendar_id
    )
    row = (await tx.execute(query)).first()
    return _event(row) if row else None


async def replace_event(tx: Tx, event_id: int, values: EventValues, now: datetime) -> None:
    """Write the event's new values and bump its SEQUENCE (RFC 5545: a change attendees
    must see), so iMIP updates supersede earlier ones."""
    await tx.execute(
        update(calendar_events)
        .where(calendar_events.c.id == event_id)
        .values(sequence=calendar_events.c.sequence + 1, updated_at=now, **_columns(values))
    )


async def overrides(tx: Tx, series_ids: Sequence[int]) -> list[StoredEvent]:
    """The live overridden occurrences of the series, whenever they fall."""
    if not series_ids:
        return []
    query = _EVENT.where(
        calendar_events.c.series_id.in_(list(series_ids)), calendar_events.c.status != "cancelled"
    )
    return [_event(row) for row in await tx.execute(query)]


async def override_of(tx: Tx, series_id: int, recurrence_id: datetime) -> StoredEvent | None:
    """The live override of the series' occurrence originally starting `recurrence_id`."""
    query = _EVENT.where(
        calendar_events.c.series_id == series_id,
        calendar_events.c.recurrence_id == _utc(recurrence_id),
        calendar_events.c.status != "cancelled",
    )
    row = (await tx.execute(query)).first()
    return _event(row) if row else None


async def cancel_overrides(tx: Tx, series_id: int, now: datetime) -> None:
    """Cancel every override of a series (the series itself is being cancelled)."""
    await tx.execute(
        update(calendar_events)
        .where(calendar_events.c.series_id == series_id, calendar_events.c.status != "cancelled")
        .values(sequence=calendar_events.c.sequence + 1, updated_at=now, status="cancelled")
    )


async def events_in_range(
    tx: Tx, calendar_ids: Sequence[int], range_from: datetime, range_till: datetime
) -> list[StoredEvent]:
    """Live events of the calendars whose span may overlap the range, by start."""
    query = _EVENT.where(
        calendar_events.c.calendar_id.in_(list(calendar_ids)), _overlapping()
    ).order_by(calendar_events.c.starts_at, calendar_events.c.id)
    return [_event(row) for row in await tx.execute(query, _range(range_from, range_till))]


async def person_events_in_range(
    tx: Tx, user_id: int, range_from: datetime, range_till: datetime
) -> list[StoredEvent]:
    """Live events of every calendar the person owns that may overlap the range, but
    invitations they declined (those take none of their time)."""
    owned = select(calendars.c.id).where(calendars.c.owner_user_id == user_id)
    query = _EVENT.where(
        calendar_events.c.calendar_id.in_(owned),
        _overlapping(),
        calendar_events.c.partstat.is_distinct_from(DECLINED),
    )
    return [_event(row) for row in await tx.execute(query, _range(range_from, range_till))]


def _overlapping() -> ColumnElement[bool]:
    """Live events that may overlap [low, high) (bound parameters: statements using it
    are built once): a single event by its own end, a series by its last possible end
    (NULL: endless). `starts_at < high` is the bound the (calendar_id, starts_at) index
    serves."""
    low: BindParameter[datetime] = bindparam("low")
    high: BindParameter[datetime] = bindparam("high")
    single = and_(calendar_events.c.rrule.is_(None), calendar_events.c.ends_at > low)
    series = and_(
        calendar_events.c.rrule.is_not(None),
        or_(calendar_events.c.series_ends_at.is_(None), calendar_events.c.series_ends_at > low),
    )
    return and_(
        calendar_events.c.status != "cancelled",
        calendar_events.c.starts_at < high,
        or_(single, series),
    )


# A resource's free/busy, built once: it is the hot read of room booking clients.
_RESOURCE_EVENTS = _EVENT.where(
    calendar_events.c.calendar_id.in_(
        select(calendars.c.id).where(calendars.c.owner_resource_id == bindparam("resource_id"))
    ),
    _overlapping(),
)
_BOOKINGS_IN_RANGE = select(bookings.c.starts_at, bookings.c.ends_at, bookings.c.status).where(
    bookings.c.resource_id == bindparam("resource_id"),
    bookings.c.status != "cancelled",
    bookings.c.starts_at < bindparam("high"),
    bookings.c.ends_at > bindparam("low"),
)


async def resource_events_in_range(
    tx: Tx, resource_id: int, range_from: datetime, range_till: datetime
) -> list[StoredEvent]:
    params = {"resource_id": resource_id, **_range(range_from, range_till)}
    return [_event(row) for row in await tx.execute(_RESOURCE_EVENTS, params)]


async def bookings_in_range(
    tx: Tx, resource_id: int, range_from: datetime, range_till: datetime
) -> list[tuple[datetime, datetime, str]]:
    """(start, end, status) of the resource's live bookings overlapping the range."""
    params = {"resource_id": resource_id, **_range(range_from, range_till)}
    found = all_rows(await tx.execute(_BOOKINGS_IN_RANGE, params))
    return [(as_utc(row[0]), as_utc(row[1]), row[2]) for row in found]


def _range(range_from: datetime, range_till: datetime) -> dict[str, datetime]:
    return {"low": _utc(range_from), "high": _utc(range_till)}


# --- booking events (called by the booking service inside its own transaction) -------


async def write_booking_events(
    tx: Tx, calendar_ids: Sequence[int], values: EventValues, now: datetime
) -> list[int]:
    """One event per calendar (e.g. the resource's and the organizer's), all with the
    booking's id and one iCalendar UID. `values.booking_id` must be set."""
    assert values.booking_id is not None, "a booking event names its booking"
    if not calendar_ids:
        return []
    row = {"sequence": 0, "created_at": now, "updated_at": now, **_columns(values)}
    written = await tx.execute(_EVENTS_MADE, [{**row, "calendar_id": c} for c in calendar_ids])
    return [int(found) for found in written.scalars()]  # one statement, in the given order


_EVENTS_MADE = insert(calendar_events).returning(calendar_events.c.id, sort_by_parameter_order=True)


async def update_booking_events(tx: Tx, booking_id: str, now: datetime, **changes: Any) -> None:
    """Carry a booking's change (title, starts_at, ends_at, status, attendees...) to its
    events, bumping their SEQUENCE. Times are stored in UTC; a new end moves the
    (single) event's `series_ends_at` with it."""
    values: dict[str, Any] = {
        k: _utc(v) if isinstance(v, datetime) else v for k, v in changes.items()
    }
    if "ends_at" in values:
        values["series_ends_at"] = values["ends_at"]
    if "attendees" in values:
        values["attendees"] = list(values["attendees"])
    await tx.execute(
        update(calendar_events)
        .where(calendar_events.c.booking_id == booking_id)
        .values(sequence=calendar_events.c.sequence + 1, updated_at=now, **values)
    )


async def cancel_booking_events(tx: Tx, booking_id: str, now: datetime) -> None:
    await update_booking_events(tx, booking_id, now, status="cancelled")
