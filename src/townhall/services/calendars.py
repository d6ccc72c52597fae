"""Calendars, events (single and recurring) and free/busy.

A person reaches their own calendars (a personal "Calendar" is made on first use) and
those shared with them (directly or through a server group they belong to), read-only
or read-write. A recurring event is one stored series that readers expand in the
series' time zone (the organizer's preference when it was made, else their domain's,
else UTC); cancelling one occurrence adds an EXDATE, changing one stores an override
(a row of its own with the occurrence's RECURRENCE-ID, as iCalendar does), deleting the
series marks it and its overrides cancelled (kept, with a new SEQUENCE, so iMIP
cancellations and syncing clients can refer to it). Events a booking wrote change only
through the booking, so the calendar and the booking never disagree.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from townhall.domain import freebusy, recurrence
from townhall.domain.errors import AlreadyExists, Conflict, Forbidden, Impossible, Invalid, NotFound
from townhall.domain.events import DomainEvent
from townhall.domain.models import BusyPeriod, CalendarEvent, CalendarInfo
from townhall.domain.people import TIMEZONE_PROPERTY
from townhall.domain.principal import Principal
from townhall.services.base import Deps, Service
from townhall.services.cached import cached
from townhall.services.invitations import InvitationService, Meeting
from townhall.store import calendars as store
from townhall.store.calendars import DEFAULT_CALENDAR, EventValues, Reachable, StoredEvent
from townhall.store.database import Tx, UniqueViolation

MAX_TEXT = 1023
MAX_NAME = 255
ACCESS = ("read-only", "read-write")
STATUSES = ("confirmed", "tentative")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True, slots=True)
class EventDraft:
    """A new event. `rrule` makes it a series; `status` tentative shows as TENTATIVE."""

    title: str
    starts_at: datetime
    ends_at: datetime
    location: str | None = None
    attendees: tuple[str, ...] = ()
    rrule: str | None = None
    status: str = "confirmed"


@dataclass(frozen=True, slots=True)
class EventChanges:
    """A partial update: None leaves a field as it is; an empty `location` or `rrule`
    removes it (an empty `rrule` turns a series back into a single event)."""

    title: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    location: str | None = None
    attendees: tuple[str, ...] | None = None
    rrule: str | None = None
    status: str | None = None


def _events_key(
    actor: Principal,
    calendar: str,
    range_from: datetime,
    range_till: datetime,
    include_recurring: bool = True,
) -> str | None:
    """The caller's calendar `calendar` over a range (the same name may be another
    calendar for another reader)."""
    if not actor.username:
        return None
    every = "all" if include_recurring else "series"
    return f"{actor.username}/{calendar}/{range_from.isoformat()}/{range_till.isoformat()}/{every}"


def _freebusy_key(
    actor: Principal, address: str, range_from: datetime, range_till: datetime
) -> str:
    return f"{address}/{range_from.isoformat()}/{range_till.isoformat()}"


@dataclass(frozen=True, slots=True)
class EventList:
    """Events of a range; `truncated` says a series had more occurrences in it than one
    read expands (recurrence.MAX_OCCURRENCES), so some are left out."""

    events: list[CalendarEvent]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Sharee:
    """Whom a calendar is shared with: a person by address, or a server group by name."""

    address: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class _Person:
    id: int
    username: str
    address: str


class CalendarService(Service):
    def __init__(self, deps: Deps, invitations: InvitationService) -> None:
        super().__init__(deps)
        self._invitations = invitations

    # --- calendars -------------------------------------------------------------------

    @cached("calendar", lambda actor, user=None: user or actor.username, list[CalendarInfo])
    async def calendars(self, actor: Principal, user: str | None = None) -> list[CalendarInfo]:
        """The person's own calendars, then those shared with them. Their personal
        "Calendar" is made on first use, so every person has one to write into."""
        username = _username(actor, user)
        async with self.db.read() as tx:
            person = await self._person(tx, actor, username)
            found = await store.reachable(tx, person.id)
        if not any(c.type == "personal" and c.name == DEFAULT_CALENDAR for c in found):
            await self._make_personal(actor, person)
            async with self.db.read() as tx:
                found = await store.reachable(tx, person.id)
        return [CalendarInfo(c.id, c.name, c.type, c.access) for c in found]

    async def holders(self, actor: Principal, user_ids: list[int]) -> set[int]:
        """Which of the people have their personal calendar (RMP's `hasCalendar`): made
        with the account when asked, else on first use."""
        async with self.db.read() as tx:
            return await store.personal_owners(tx, user_ids)

    async def create_calendar(
        self, actor: Principal, name: str, owner: str | None = None
    ) -> CalendarInfo:
        """A further calendar of `owner` (default: the actor). Its name is how it is
        addressed, so it is unique among the owner's calendars."""
        name = _text(name, "name", MAX_NAME)
        if "/" in name:
            raise Invalid("name", "must not contain /: the name is a path segment")
        username = _username(actor, owner)
        async with self.change(actor, "calendar.created", f"{username}/{name}") as tx:
            person = await self._person(tx, actor, username)
            if name == DEFAULT_CALENDAR and await store.has_personal_calendar(tx, person.id):
                raise AlreadyExists("calendar", name)
            try:
                made = await store.create_calendar(
                    tx, actor.tenant_id, person.id, name, self.clock.now()
                )
            except UniqueViolation:
                raise AlreadyExists("calendar", name) from None
        return CalendarInfo(made, name, "personal", store.OWNER_ACCESS)

    async def share_calendar(
        self, actor: Principal, calendar: str, sharee: Sharee, access: str
    ) -> None:
        """Let a person (by address) or a server group's members read, or also write,
        one of the actor's own calendars. Sharing again changes the access."""
        if access not in ACCESS:
            raise Invalid("access", f"must be one of {', '.join(ACCESS)}")
        async with self._own_share(actor, "calendar.shared", calendar, sharee) as share:
            tx, owner_id, calendar_id, (group_id, user_id) = share
            if group_id is not None:
                await store.share_with_group(tx, calendar_id, group_id, access)
                return
            assert user_id is not None
            if user_id == owner_id:
                raise Invalid("email", "owns the calendar; a calendar is not shared with its owner")
            await store.share(tx, calendar_id, user_id, access)

    async def unshare_calendar(self, actor: Principal, calendar: str, sharee: Sharee) -> None:
        """End a share of one of the actor's own calendars; NotFound if there is none."""
        async with self._own_share(actor, "calendar.unshared", calendar, sharee) as share:
            tx, _, calendar_id, (group_id, user_id) = share
            if group_id is not None:
                ended = await store.unshare_group(tx, calendar_id, group_id)
            else:
                assert user_id is not None
                ended = await store.unshare(tx, calendar_id, user_id)
            if not ended:
                raise NotFound("share", sharee.address or sharee.group or "")

    async def share(
        self, actor: Principal, calendar: str, with_user: str, access: str, owner: str | None = None
    ) -> None:
        """Let `with_user` read (or also write) `owner`'s calendar named `calendar`."""
        if access not in ACCESS:
            raise Invalid("access", f"must be one of {', '.join(ACCESS)}")
        username = _username(actor, owner)
        subject = f"{username}/{calendar} with {with_user}"
        async with self.change(actor, "calendar.shared", subject) as tx:
            person = await self._person(tx, actor, username)
            calendar_id = await self._owned(tx, actor, person, calendar)
            reader = await self._person(tx, actor, with_user.strip().lower())
            if reader.id == person.id:
                raise Invalid("user", "owns the calendar; a calendar is not shared with its owner")
            await store.share(tx, calendar_id, reader.id, access)

    async def share_resource_calendar(
        self, actor: Principal, address: str, with_user: str, access: str
    ) -> None:
        """Let a person see (or also write) a resource's calendar."""
        if access not in ACCESS:
            raise Invalid("access", f"must be one of {', '.join(ACCESS)}")
        async with self.change(actor, "calendar.shared", f"{address} with {with_user}") as tx:
            resource_id = await self._resource(tx, actor, address)
            now = self.clock.now()
            calendar_id = await store.calendar_of_resource(tx, actor.tenant_id, resource_id, now)
            reader = await self._person(tx, actor, with_user.strip().lower())
            await store.share(tx, calendar_id, reader.id, access)

    # --- events ----------------------------------------------------------------------

    @cached("calendar", _events_key, list[CalendarEvent])
    async def events(
        self,
        actor: Principal,
        calendar: str,
        range_from: datetime,
        range_till: datetime,
        include_recurring: bool = True,
    ) -> list[CalendarEvent]:
        """Live events overlapping [from, till), by start (see `event_list`)."""
        return (
            await self.event_list(actor, calendar, range_from, range_till, include_recurring)
        ).events

    async def event_list(
        self,
        actor: Principal,
        calendar: str,
        range_from: datetime,
        range_till: datetime,
        include_recurring: bool = True,
    ) -> EventList:
        """Live events overlapping [from, till), by start. A series yields its
        occurrences (each with `recurrence_id`; an overridden one as changed), or with
        `include_recurring` False, itself once if any occurrence falls in the range.
        `truncated` says a series was cut at recurrence.MAX_OCCURRENCES."""
        _range(range_from, range_till, ("since", "until"))
        async with self.db.read() as tx:
            person = await self._person(tx, actor, _username(actor))
            found = await self._calendar(tx, person, calendar, writing=False)
            if found is None:
                return EventList([])
            rows = await store.events_in_range(tx, [found.id], range_from, range_till)
            series = await _series_of(tx, found.id, rows)
            moved = await _moved(tx, rows)
        listed: list[CalendarEvent] = []
        truncated = False
        for row in rows:
            if row.values.series_id is not None:
                parent = series.get(row.values.series_id)
                if include_recurring and parent is not None:
                    listed.append(_override(row, parent))
                continue
            more, cut = _expanded(
                row, range_from, range_till, include_recurring, moved.get(row.id, ())
            )
            listed += more
            truncated = truncated or cut
        return EventList(sorted(listed, key=lambda e: (e.starts_at, int(e.id))), truncated)

    async def event(
        self, actor: Principal, calendar: str, event_id: str, recurrence_id: datetime | None = None
    ) -> CalendarEvent:
        """One event, or with `recurrence_id` one occurrence of a series."""
        async with self.db.read() as tx:
            person = await self._person(tx, actor, _username(actor))
            found = await self._calendar(tx, person, calendar, writing=False)
            row = await _live_event(tx, found, event_id)
            changed = (
                await store.override_of(tx, row.id, recurrence_id)
                if recurrence_id is not None and row.values.rrule
                else None
            )
        if recurrence_id is None:
            return _event(row)
        _require_occurrence(row, recurrence_id)
        if changed is not None:
            return _override(changed, row)
        duration = row.values.ends_at - row.values.starts_at
        return _event(row, recurrence_id, recurrence_id + duration)

    async def create_event(
        self, actor: Principal, calendar: str, draft: EventDraft, invite: bool = False
    ) -> CalendarEvent:
        """A new event or series; a series keeps the organizer's time zone for good, so
        a later change of their preference does not move its occurrences."""
        async with self.db.read() as tx:
            zone = await self._zone(tx, actor, await self._person(tx, actor, _username(actor)))
        values = await _validated(
            EventValues(
                uid=f"{uuid.uuid4()}@{actor.tenant.domain}",
                title=draft.title,
                starts_at=draft.starts_at,
                ends_at=draft.ends_at,
                series_ends_at=None,
                location=draft.location,
                attendees=draft.attendees,
                rrule=draft.rrule,
                status=draft.status,
                timezone=zone,
            )
        )
        data: dict[str, Any] = {}
        username = _username(actor)
        async with self.change(actor, "event.created", f"{username}/{calendar}", data=data) as tx:
            person = await self._person(tx, actor, username)
            found = await self._writable(tx, actor, person, calendar)
            values = replace(values, organizer=person.address)
            event_id = await store.insert_event(tx, found.id, values, self.clock.now())
            created = _event(StoredEvent(event_id, found.id, found.name, values, 0))
            data.update(_data(actor, created, found.id))
        if invite:
            await self._invitations.request(_meeting(created, 0))
        return created

    async def update_event(
        self,
        actor: Principal,
        calendar: str,
        event_id: str,
        changes: EventChanges,
        invite: bool = False,
        recurrence_id: datetime | None = None,
    ) -> CalendarEvent:
        """Change an event, a whole series, or with `recurrence_id` one occurrence of a
        series only (stored as an override, iCalendar's RECURRENCE-ID). Moving a series'
        start moves its EXDATEs and overrides with it, so cancelled and changed
        occurrences stay so."""
        if recurrence_id is not None and changes.rrule is not None:
            raise Invalid("recurrence", "one occurrence has no rule of its own")
        data: dict[str, Any] = {}
        username = _username(actor)
        subject = f"{username}/{calendar}/{event_id}"
        async with self.change(actor, "event.updated", subject, data=data) as tx:
            person = await self._person(tx, actor, username)
            found = await self._writable(tx, actor, person, calendar)
            row = _not_booked(await _live_event(tx, found, event_id))
            now = self.clock.now()
            if recurrence_id is not None:
                updated, sequence = await _override_occurrence(tx, row, recurrence_id, changes, now)
            else:
                values = await _validated(_changed(row.values, changes))
                await store.replace_event(tx, row.id, values, now)
                await _shift_overrides(tx, row, values, now)
                sequence = row.sequence + 1
                updated = _event(StoredEvent(row.id, found.id, found.name, values, sequence))
            data.update(_data(actor, updated, found.id))
        if invite:
            await self._invitations.request(_meeting(updated, sequence))
        return updated

    async def delete_event(
        self,
        actor: Principal,
        calendar: str,
        event_id: str,
        recurrence_id: datetime | None = None,
        notify: bool = False,
    ) -> CalendarEvent:
        """Cancel one occurrence of a series (an EXDATE) or, without `recurrence_id`, the
        event or whole series. Either bumps the SEQUENCE. Returns what was cancelled."""
        data: dict[str, Any] = {}
        username = _username(actor)
        subject = f"{username}/{calendar}/{event_id}"
        async with self.change(actor, "event.deleted", subject, data=data) as tx:
            person = await self._person(tx, actor, username)
            found = await self._writable(tx, actor, person, calendar)
            row = _not_booked(await _live_event(tx, found, event_id))
            values, gone = _cancelled(row, recurrence_id)
            now = self.clock.now()
            await store.replace_event(tx, row.id, values, now)
            if recurrence_id is None:
                await store.cancel_overrides(tx, row.id, now)
            else:
                changed = await store.override_of(tx, row.id, recurrence_id)
                if changed is not None:
                    gone = replace(_override(changed, row), status="cancelled")
                    cancelled = replace(changed.values, status="cancelled")
                    await store.replace_event(tx, changed.id, cancelled, now)
            data.update(_data(actor, gone, found.id))
        if notify:
            await self._invitations.cancel(_meeting(gone, row.sequence + 1))
        return gone

    async def visible_to(self, principal: Principal, event: DomainEvent) -> bool:
        """Whether `principal` may read what an event.* domain event tells of now: the
        calendar it happened in is the one the person reaches by its name (their own,
        or one shared with them), as `event` and `events` read it."""
        calendar_id, name = event.data.get("calendar_id"), event.data.get("calendar")
        if principal.user_id is None or not isinstance(name, str):
            return False
        async with self.db.read() as tx:
            found = await store.reachable(tx, principal.user_id, name)
        return bool(found) and found[0].id == calendar_id

    # --- free/busy -------------------------------------------------------------------

    @cached("freebusy", _freebusy_key, list[BusyPeriod])
    async def freebusy(
        self, actor: Principal, address: str, range_from: datetime, range_till: datetime
    ) -> list[BusyPeriod]:
        """When a person or a resource is taken within [from, till): their calendars'
        events (series expanded) and, for a resource, its bookings, merged into BUSY
        and TENTATIVE periods cut to the range."""
        _range(range_from, range_till, ("start", "end"))
        intervals: list[tuple[datetime, datetime, str]] = []
        async with self.db.read() as tx:
            resource_id, user_id = await self._address(tx, actor, address)
            if resource_id is not None:
                rows = await store.resource_events_in_range(tx, resource_id, range_from, range_till)
                booked = await store.bookings_in_range(tx, resource_id, range_from, range_till)
            else:
                assert user_id is not None
                rows = await store.person_events_in_range(tx, user_id, range_from, range_till)
                booked = []
            moved = await _moved(tx, rows)
        for start, end, status in booked:
            kind = freebusy.kind_of(status)
            if kind is not None:
                intervals.append((start, end, kind))
        for row in rows:
            intervals += _busy(row, range_from, range_till, moved.get(row.id, ()))
        return freebusy.merge(intervals, within=(range_from, range_till))

    # --- helpers ---------------------------------------------------------------------

    async def _person(self, tx: Tx, actor: Principal, username: str) -> _Person:
        found = await store.person(tx, actor.tenant_id, username)
        if found is None:
            raise NotFound("user", username)
        user_id, email = found
        return _Person(user_id, username, email or actor.jid(username))

    async def _zone(self, tx: Tx, actor: Principal, person: _Person) -> str:
        """The zone a new series of the person expands in: their preference, else their
        tenant domain's `timezone` setting, else UTC (also when a preference stored before
        zones were checked names none)."""
        domain_id = await store.domain_id(tx, actor.tenant_id, actor.tenant.domain)
        name = await store.preferred_zone(tx, person.id, TIMEZONE_PROPERTY, domain_id)
        try:
            return recurrence.zone(name).key
        except Invalid:
            return "UTC"

    @asynccontextmanager
    async def _own_share(
        self, actor: Principal, action: str, calendar: str, sharee: Sharee
    ) -> AsyncIterator[tuple[Tx, int, int, tuple[int | None, int | None]]]:
        """The change (audited as `action`) of a share of one of the actor's own
        calendars: its transaction, the owner's and the calendar's ids, and the sharee."""
        username = _username(actor)
        subject = f"{username}/{calendar} with {sharee.address or sharee.group}"
        async with self.change(actor, action, subject) as tx:
            person = await self._person(tx, actor, username)
            calendar_id = await self._owned(tx, actor, person, calendar)
            yield tx, person.id, calendar_id, await self._sharee(tx, actor, sharee)

    async def _sharee(
        self, tx: Tx, actor: Principal, sharee: Sharee
    ) -> tuple[int | None, int | None]:
        """(group id, None) or (None, user id) of whom a share names."""
        if sharee.group is not None:
            found = await store.group_id(tx, actor.tenant_id, sharee.group.strip())
            if found is None:
                raise NotFound("group", sharee.group)
            return found, None
        address = (sharee.address or "").strip()
        if not _ADDRESS.match(address):
            raise Invalid("email", "is not an e-mail address")
        _, user_id = await self._address(tx, actor, address)
        if user_id is None:
            raise Invalid("email", "names a resource; calendars are shared with people")
        return None, user_id

    async def _make_personal(self, actor: Principal, person: _Person) -> None:
        subject = f"{person.username}/{DEFAULT_CALENDAR}"
        async with self.change(actor, "calendar.created", subject) as tx:
            await store.personal_calendar(tx, actor.tenant_id, person.id, self.clock.now())

    async def _owned(self, tx: Tx, actor: Principal, person: _Person, name: str) -> int:
        if name == DEFAULT_CALENDAR:
            return await store.personal_calendar(tx, actor.tenant_id, person.id, self.clock.now())
        found = await store.find_owned(tx, person.id, name)
        if found is None:
            raise NotFound("calendar", name)
        return found

    async def _calendar(
        self, tx: Tx, person: _Person, name: str, writing: bool
    ) -> Reachable | None:
        """The calendar `name` as the person reaches it (their own wins over a shared
        one of the same name); None for their personal calendar not yet made."""
        found = await store.reachable(tx, person.id, name)
        if not found:
            if name == DEFAULT_CALENDAR:
                return None
            raise NotFound("calendar", name)
        if writing and found[0].access != "read-write":
            raise Forbidden("calendar", name, f"calendar {name} is shared with you read-only")
        return found[0]

    async def _writable(self, tx: Tx, actor: Principal, person: _Person, name: str) -> Reachable:
        found = await self._calendar(tx, person, name, writing=True)
        if found is None:
            made = await store.personal_calendar(tx, actor.tenant_id, person.id, self.clock.now())
            return Reachable(made, name, "personal", "read-write")
        return found

    async def _resource(self, tx: Tx, actor: Principal, address: str) -> int:
        local, _, domain = address.strip().lower().rpartition("@")
        found = await store.resource_id(tx, actor.tenant_id, local, domain) if local else None
        if found is None:
            raise NotFound("resource", address)
        return found

    async def _address(
        self, tx: Tx, actor: Principal, address: str
    ) -> tuple[int | None, int | None]:
        """(resource id, None) or (None, user id) of an address of the tenant. A
        resource is looked for first (one statement: the hot case, a room's free/busy);
        resources live only in resource subdomains, so a miss there is NotFound."""
        local, at, domain = address.strip().lower().rpartition("@")
        if not at or not local:
            raise NotFound("address", address)
        found = await store.resource_id(tx, actor.tenant_id, local, domain)
        if found is not None:
            return found, None
        kind = await store.domain_kind(tx, actor.tenant_id, domain)
        if kind is not None and kind != "resource-subdomain":
            person = await store.person(tx, actor.tenant_id, local)
            if person is not None:
                return None, person[0]
        raise NotFound("address", address)


# --- pure helpers --------------------------------------------------------------------


def _username(actor: Principal, user: str | None = None) -> str:
    username = (user or actor.username or "").strip().lower()
    if not username:
        raise Forbidden("calendar", "", "calendars belong to a person; act as one")
    return username


def _range(range_from: datetime, range_till: datetime, fields: tuple[str, str]) -> None:
    """A range asked about; `fields` name its start and end (a period's `since` and
    `until`, or a slot's `start` and `end`)."""
    for moment, field in zip((range_from, range_till), fields, strict=True):
        if moment.tzinfo is None:
            raise Invalid(field, "must carry an offset")
    if range_till <= range_from:
        raise Impossible(fields[1], "must be after the start of the range")


def _text(value: str, field: str, longest: int) -> str:
    value = value.strip()
    if not value:
        raise Invalid(field, "must not be empty")
    if len(value) > longest:
        raise Invalid(field, f"is longer than {longest} characters")
    return value


def _attendees(given: tuple[str, ...]) -> tuple[str, ...]:
    """Trimmed, lower-cased e-mail addresses, each once, in the order given."""
    seen: dict[str, None] = {}
    for raw in given:
        address = raw.strip().lower()
        if not _ADDRESS.match(address) or len(address) > MAX_TEXT:
            raise Invalid("attendees", f"{raw!r} is not an e-mail address")
        seen[address] = None
    return tuple(seen)


def _checked(values: EventValues) -> EventValues:
    """The values validated and normalised, with the series end computed. Raises
    before anything is written, so a refused event leaves nothing behind."""
    title = _text(values.title, "title", MAX_TEXT)
    for moment, field in ((values.starts_at, "start"), (values.ends_at, "end")):
        if moment.tzinfo is None:
            raise Invalid(field, "must carry an offset")
    if values.ends_at <= values.starts_at:
        raise Impossible("end", "must be after the start")
    if values.status not in STATUSES:
        raise Invalid("status", f"must be one of {', '.join(STATUSES)}")
    location = values.location.strip() if values.location else None
    if location and len(location) > MAX_TEXT:
        raise Invalid("location", f"is longer than {MAX_TEXT} characters")
    tz = values.timezone
    rule = recurrence.validate(values.rrule, values.starts_at, tz) if values.rrule else None
    return replace(
        values,
        title=title,
        location=location or None,
        attendees=_attendees(values.attendees),
        rrule=rule,
        exdates=values.exdates if rule else (),
        series_ends_at=recurrence.series_end(values.starts_at, values.ends_at, rule, tz),
    )


async def _validated(values: EventValues) -> EventValues:
    """`_checked`, off the event loop for a series: dateutil may walk a rule that never
    fires for seconds before giving up, and other requests must not wait for that."""
    if values.rrule:
        return await asyncio.to_thread(_checked, values)
    return _checked(values)


def _changed(old: EventValues, changes: EventChanges) -> EventValues:
    starts_at = changes.starts_at or old.starts_at
    if changes.ends_at is not None:
        ends_at = changes.ends_at
    else:  # moving the start alone keeps the duration
        ends_at = starts_at + (old.ends_at - old.starts_at)
    shift = starts_at - old.starts_at
    return replace(
        old,
        title=old.title if changes.title is None else changes.title,
        starts_at=starts_at,
        ends_at=ends_at,
        location=old.location if changes.location is None else changes.location,
        attendees=old.attendees if changes.attendees is None else changes.attendees,
        rrule=old.rrule if changes.rrule is None else changes.rrule or None,
        status=old.status if changes.status is None else changes.status,
        exdates=tuple(moment + shift for moment in old.exdates),
    )


def _cancelled(
    row: StoredEvent, recurrence_id: datetime | None
) -> tuple[EventValues, CalendarEvent]:
    """The row's values after cancelling it (or one occurrence), and what was cancelled."""
    values = row.values
    if recurrence_id is None:
        gone = replace(values, status="cancelled")
        return gone, _event(replace(row, values=gone))
    if values.rrule is None:
        raise Invalid("recurrence_id", "names an occurrence, but the event does not recur")
    _require_occurrence(row, recurrence_id)
    kept = replace(values, exdates=(*values.exdates, recurrence_id))
    duration = values.ends_at - values.starts_at
    return kept, _event(row, recurrence_id, recurrence_id + duration)


def _require_occurrence(row: StoredEvent, moment: datetime) -> None:
    v = row.values
    if not recurrence.is_occurrence(v.starts_at, v.ends_at, v.rrule, v.exdates, moment, v.timezone):
        raise NotFound("occurrence", f"{row.id} at {moment.isoformat()}")


async def _live_event(tx: Tx, calendar: Reachable | None, event_id: str) -> StoredEvent:
    """The calendar's event `event_id` unless it is cancelled (or the id is no id)."""
    key = event_id.strip()
    row = (
        await store.get_event(tx, calendar.id, int(key))
        if calendar is not None and key.isdigit() and len(key) < 19
        else None
    )
    if row is None or row.values.status == "cancelled" or row.values.series_id is not None:
        raise NotFound("event", event_id)  # an override is reached through its series
    return row


def _not_booked(row: StoredEvent) -> StoredEvent:
    if row.values.booking_id is not None:
        raise Conflict(
            "event",
            str(row.id),
            f"the event belongs to booking {row.values.booking_id}; "
            "change or cancel the booking instead",
        )
    return row


def _meeting(event: CalendarEvent, sequence: int) -> Meeting:
    return Meeting(
        uid=event.uid,
        sequence=sequence,
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        organizer=event.organizer or "",
        attendees=event.attendees,
        location=event.location,
        rrule=event.rrule,
        recurrence_id=event.recurrence_id,
    )


def _event(
    row: StoredEvent, starts_at: datetime | None = None, ends_at: datetime | None = None
) -> CalendarEvent:
    """The stored event, or (with `starts_at`) its occurrence at that start."""
    v = row.values
    return CalendarEvent(
        id=str(row.id),
        calendar=row.calendar,
        uid=v.uid,
        title=v.title,
        starts_at=starts_at or v.starts_at,
        ends_at=ends_at or v.ends_at,
        location=v.location,
        organizer=v.organizer,
        attendees=v.attendees,
        rrule=v.rrule,
        status=v.status,
        booking_id=v.booking_id,
        recurrence_id=starts_at,
        partstat=v.partstat,
    )


def _expanded(
    row: StoredEvent,
    range_from: datetime,
    range_till: datetime,
    include_recurring: bool,
    moved: tuple[datetime, ...] = (),
) -> tuple[list[CalendarEvent], bool]:
    """The row's occurrences in the range (overridden ones left out: their overrides
    stand for them), and whether the cut of MAX_OCCURRENCES left some out."""
    v = row.values
    if v.rrule is None:
        return [_event(row)], False
    limit = recurrence.MAX_OCCURRENCES if include_recurring else 1
    found = recurrence.expand(
        v.starts_at,
        v.ends_at,
        v.rrule,
        (*v.exdates, *moved),
        range_from,
        range_till,
        limit,
        v.timezone,
    )
    if not include_recurring:
        return ([_event(row)] if found.found or moved else []), False
    return [_event(row, o.starts_at, o.ends_at) for o in found.found], found.truncated


def _busy(
    row: StoredEvent,
    range_from: datetime,
    range_till: datetime,
    moved: tuple[datetime, ...] = (),
) -> list[tuple[datetime, datetime, str]]:
    v = row.values
    kind = freebusy.kind_of(v.status)
    if kind is None:
        return []
    found = recurrence.occurrences(
        v.starts_at,
        v.ends_at,
        v.rrule,
        (*v.exdates, *moved),
        range_from,
        range_till,
        tz=v.timezone,
    )
    return [(o.starts_at, o.ends_at, kind) for o in found]


def _override(row: StoredEvent, series: StoredEvent) -> CalendarEvent:
    """An overridden occurrence as readers see it: the series' id and rule, its own
    values, and its original start as `recurrence_id`."""
    return replace(
        _event(row),
        id=str(series.id),
        rrule=series.values.rrule,
        recurrence_id=row.values.recurrence_id,
    )


async def _moved(tx: Tx, rows: list[StoredEvent]) -> dict[int, tuple[datetime, ...]]:
    """Per series among `rows`, the original starts of its overridden occurrences."""
    ids = [row.id for row in rows if row.values.rrule and row.values.series_id is None]
    found: dict[int, tuple[datetime, ...]] = {}
    for changed in await store.overrides(tx, ids):
        sid, moment = changed.values.series_id, changed.values.recurrence_id
        if sid is not None and moment is not None:
            found[sid] = (*found.get(sid, ()), moment)
    return found


async def _series_of(tx: Tx, calendar_id: int, rows: list[StoredEvent]) -> dict[int, StoredEvent]:
    """The live series rows the overrides among `rows` belong to."""
    series = {row.id: row for row in rows if row.values.series_id is None}
    for row in rows:
        sid = row.values.series_id
        if sid is not None and sid not in series:
            parent = await store.get_event(tx, calendar_id, sid)
            if parent is not None and parent.values.status != "cancelled":
                series[sid] = parent
    return series


async def _override_occurrence(
    tx: Tx, row: StoredEvent, recurrence_id: datetime, changes: EventChanges, now: datetime
) -> tuple[CalendarEvent, int]:
    """Change one occurrence of the series `row`: its override is made (from the
    occurrence as the series has it) or changed. Returns it and its SEQUENCE."""
    if row.values.rrule is None:
        raise Invalid("recurrence_id", "names an occurrence, but the event does not recur")
    _require_occurrence(row, recurrence_id)
    existing = await store.override_of(tx, row.id, recurrence_id)
    if existing is not None:
        base, sequence = existing.values, existing.sequence + 1
    else:
        duration = row.values.ends_at - row.values.starts_at
        base = replace(
            row.values,
            starts_at=recurrence_id,
            ends_at=recurrence_id + duration,
            rrule=None,
            exdates=(),
            series_id=row.id,
            recurrence_id=recurrence_id,
        )
        sequence = row.sequence
    values = await _validated(replace(_changed(base, changes), rrule=None))
    if existing is not None:
        await store.replace_event(tx, existing.id, values, now)
        override_id = existing.id
    else:
        override_id = await store.insert_event(tx, row.calendar_id, values, now, sequence)
    stored = StoredEvent(override_id, row.calendar_id, row.calendar, values, sequence)
    return _override(stored, row), sequence


async def _shift_overrides(tx: Tx, row: StoredEvent, new: EventValues, now: datetime) -> None:
    """Move the series' overrides' RECURRENCE-IDs with its start, as its EXDATEs move;
    an override whose occurrence the changed rule no longer has is cancelled."""
    old = row.values
    shift = new.starts_at - old.starts_at
    if old.rrule is None or (not shift and new.rrule == old.rrule):
        return
    for changed in await store.overrides(tx, [row.id]):
        moment = changed.values.recurrence_id
        if moment is None:
            continue
        moment += shift
        kept = new.rrule is not None and recurrence.is_occurrence(
            new.starts_at, new.ends_at, new.rrule, new.exdates, moment, new.timezone
        )
        values = replace(changed.values, recurrence_id=moment)
        await store.replace_event(
            tx, changed.id, values if kept else replace(values, status="cancelled"), now
        )


def _data(actor: Principal, event: CalendarEvent, calendar_id: int) -> dict[str, Any]:
    """What an event.* domain event tells listeners (the tenant's WebSocket clients, for
    one): times as ISO 8601 text, so the data reads the same after crossing processes;
    `calendar_id` says whose it is (see `CalendarService.visible_to`)."""
    told: dict[str, Any] = {
        "id": event.id,
        "calendar": event.calendar,
        "calendar_id": calendar_id,
        "domain": actor.tenant.domain,
        "title": event.title,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "organizer": event.organizer,
        "status": event.status,
    }
    if event.rrule:
        told["rrule"] = event.rrule
    if event.recurrence_id is not None:
        told["recurrence_id"] = event.recurrence_id.isoformat()
    return told
