"""Bookings: a resource for a time, never two at once, each written into two calendars.

Two live bookings of one resource never overlap (half-open intervals). On SQLite the
write transaction is `BEGIN IMMEDIATE`, so the overlap check and the insert are atomic
across processes; on PostgreSQL an exclusion constraint refuses the loser of a race,
which is then told which booking won, exactly as if the check had caught it.

A person sees and changes the bookings they organised; an admin those of the resources
under the domains it administers (a server admin every one). The people of the tenant a
booking names as attendees are invited: each holds the booking's event in their own
calendar, with their answer (PARTSTAT), so it takes their time in free/busy; they see
the booking but may not change it (403). Anyone else's booking is not found, so ids do
not tell whether a booking exists.

Booking ids are opaque text the caller names (up to 40 characters): the API that makes a
booking spells its ids its own way, and an import keeps the ids its file gives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from townhall.domain.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Impossible,
    Invalid,
    NotFound,
    SlotTaken,
)
from townhall.domain.events import DomainEvent
from townhall.domain.models import BOOKING_STATUSES, Booking
from townhall.domain.principal import Principal
from townhall.domain.queries import BookingQuery
from townhall.services.base import Deps, Service, Work
from townhall.services.domains import DEFAULT_SETTINGS
from townhall.services.invitations import InvitationService, Meeting
from townhall.store import bookings as store
from townhall.store import calendars as calendar_store
from townhall.store.bookings import ResourceRef
from townhall.store.database import ExclusionViolation, Tx, UniqueViolation

MAX_TITLE = 1023
MAX_ID = 40


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """A new booking, organised by the person who asks for it."""

    id: str
    resource: str
    title: str
    starts_at: datetime
    ends_at: datetime
    attendees: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    status: str = "confirmed"


@dataclass(frozen=True, slots=True)
class BookingChanges:
    """A partial update: None leaves a field as it is. A new `resource` moves the
    booking (checked as a new booking of that resource would be)."""

    resource: str | None = None
    title: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    attendees: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    status: str | None = None


class BookingService(Service):
    def __init__(self, deps: Deps, invitations: InvitationService) -> None:
        super().__init__(deps)
        self._invitations = invitations

    async def create(
        self, actor: Principal, asked: BookingRequest, invite: bool = False
    ) -> Booking:
        check_id(asked.id)
        _check(asked.title, asked.starts_at, asked.ends_at, asked.status, asked.attendees)
        now = self.clock.now()
        booking = Booking(
            id=asked.id,
            resource=asked.resource.strip().lower(),
            title=asked.title.strip(),
            starts_at=asked.starts_at.astimezone(UTC),
            ends_at=asked.ends_at.astimezone(UTC),
            status=asked.status,
            organizer=actor.address,
            attendees=asked.attendees,
            services=asked.services,
            calendar_event_id=None,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self.unit(actor) as work:
                resource = await self._bookable(work, actor, booking)
                invitees = await store.people_addressed(work, actor.tenant_id, booking.attendees)
                try:
                    event_id = await store.insert_with_events(
                        work, actor.tenant_id, resource, actor.user_id, booking, invitees
                    )
                except UniqueViolation:
                    raise AlreadyExists("booking", booking.id) from None
                data = event_data(booking, actor.user_id, invitees)
                work.record("booking.created", booking.id, data)
        except ExclusionViolation:
            raise await self._lost_race(actor, booking) from None
        if invite:
            await self._invitations.request(_meeting(booking, 0))
        # What `get` would read back, without another round trip.
        return replace(booking, calendar_event_id=str(event_id) if event_id else None)

    async def get(self, actor: Principal, booking_id: str) -> Booking:
        async with self.db.read() as tx:
            return (await _visible(tx, actor, booking_id))[0]

    def visible_to(self, principal: Principal, event: DomainEvent) -> bool:
        """Whether `principal` may read the booking a booking.* domain event tells of:
        the rule of `get`, applied to what the event says (see `event_data`)."""
        organizer_id = event.data.get("organizer_id")
        invited = event.data.get("invited_ids")
        if isinstance(invited, list) and principal.user_id in invited:
            return True
        return _may_see(principal, organizer_id, str(event.data.get("domain", "")))

    async def search(
        self, actor: Principal, query: BookingQuery, offset: int, limit: int
    ) -> tuple[list[Booking], int]:
        """The bookings the actor may see that match, one page of them, and how many."""
        if query.status is not None and query.status not in BOOKING_STATUSES:
            raise Invalid("status", f"must be one of {', '.join(BOOKING_STATUSES)}")
        if query.since and query.until and query.until <= query.since:
            raise Impossible("until", "must be after the start of the range")
        visible = store.Visible(
            everyone=actor.is_server_admin,
            person_id=actor.user_id,
            domains=actor.admin_domains,
        )
        async with self.db.read() as tx:
            resource_id = None
            if query.resource is not None:
                resource_id = (await _resources(tx, actor, [query.resource]))[0].id
            return await store.search(
                tx, actor.tenant_id, query, visible, resource_id, offset, limit
            )

    async def update(
        self, actor: Principal, booking_id: str, changes: BookingChanges, invite: bool = False
    ) -> Booking:
        """Change the booking as it is when the change is made: the row is read under a
        lock, so a concurrent cancel either comes first (and this is refused) or waits
        for this to commit (and cancels the changed booking)."""
        try:
            async with self.unit(actor) as work:
                old, organizer_id = await self._lock(work, actor, booking_id)
                if old.status == "cancelled":
                    raise Conflict("booking", booking_id, "a cancelled booking cannot change")
                new = _changed(old, changes, self.clock.now())
                if _same(old, new):
                    return old
                moved = new.resource != old.resource
                if moved and not _may_see(actor, organizer_id, _domain(new.resource)):
                    raise Forbidden(
                        "resource", new.resource, f"you may not move bookings to {new.resource}"
                    )
                if moved or (new.starts_at, new.ends_at) != (old.starts_at, old.ends_at):
                    target = await self._bookable(work, actor, new)
                    if moved:  # the resource's event goes along to the target's calendar
                        source = (await _resources(work, actor, [old.resource]))[0]
                        await store.move(
                            work, actor.tenant_id, booking_id, source, target, new.updated_at
                        )
                await _write(work, new)
                invitees = await _invitees(work, actor, new, organizer_id)
                await store.sync_invitations(work, actor.tenant_id, new, invitees, new.updated_at)
                sequence = await store.sequence(work, booking_id)
                data = event_data(new, organizer_id, invitees)
                work.record("booking.updated", booking_id, data)
        except ExclusionViolation:
            raise await self._lost_race(actor, new) from None
        if invite:
            await self._invitations.request(_meeting(new, sequence))
        return new

    async def cancel(self, actor: Principal, booking_id: str, notify: bool = True) -> Booking:
        """Cancel the booking as it is when the cancel is made (read under a lock, see
        `update`); cancelling a cancelled booking changes nothing."""
        async with self.unit(actor) as work:
            old, organizer_id = await self._lock(work, actor, booking_id)
            if old.status == "cancelled":
                return old
            new = replace(old, status="cancelled", updated_at=self.clock.now())
            await store.update_booking(
                work, booking_id, status="cancelled", updated_at=new.updated_at
            )
            await calendar_store.cancel_booking_events(work, booking_id, new.updated_at)
            sequence = await store.sequence(work, booking_id)
            invitees = await store.invitees_of(work, booking_id)
            work.record("booking.cancelled", booking_id, event_data(new, organizer_id, invitees))
        if notify:
            await self._invitations.cancel(_meeting(new, sequence))
        return new

    async def _lock(self, tx: Tx, actor: Principal, booking_id: str) -> tuple[Booking, int | None]:
        """The booking to change, locked: its organizer's or an admin's of its resource;
        an invited person sees it but changes nothing (403)."""
        return await _visible(tx, actor, booking_id, lock=True, changing=True)

    async def cancel_all_of(self, work: Work, resource_id: int) -> list[Meeting]:
        """Cancel every booking of a resource that has not ended, inside the caller's unit
        of work (a resource going away): each as `cancel` does, recorded as a
        `booking.cancelled` event. Returns the cancellations to send once it commits."""
        now = self.clock.now()
        meetings = []
        for old, organizer_id in await store.live_after(work, resource_id, now):
            new = replace(old, status="cancelled", updated_at=now)
            await store.update_booking(work, old.id, status="cancelled", updated_at=now)
            await calendar_store.cancel_booking_events(work, old.id, now)
            meetings.append(_meeting(new, await store.sequence(work, old.id)))
            invitees = await store.invitees_of(work, old.id)
            work.record("booking.cancelled", old.id, event_data(new, organizer_id, invitees))
        return meetings

    async def send_cancellations(self, meetings: list[Meeting]) -> None:
        for meeting in meetings:
            await self._invitations.cancel(meeting)

    async def conflicts(
        self, actor: Principal, addresses: list[str], starts_at: datetime, ends_at: datetime
    ) -> list[Booking]:
        """Live bookings of any of the resources that overlap [starts_at, ends_at)."""
        if not addresses:
            raise Invalid("resources", "must name at least one resource")
        _check_times(starts_at, ends_at)
        async with self.db.read() as tx:
            found = await _resources(tx, actor, addresses)
            return await store.overlapping(tx, [r.id for r in found], starts_at, ends_at)

    async def _bookable(self, tx: Tx, actor: Principal, booking: Booking) -> ResourceRef:
        """The resource, if the booking obeys its domain's rules and the slot is free."""
        resource = (await _resources(tx, actor, [booking.resource]))[0]
        if not resource.active:
            raise Conflict("resource", booking.resource, f"{booking.resource} is not bookable")
        settings = {**DEFAULT_SETTINGS, **resource.settings}
        if not settings["allow_past_bookings"] and booking.starts_at < self.clock.now():
            raise Invalid("start", "is in the past, which the domain does not allow")
        hours = int(str(settings["max_booking_hours"]))
        if booking.ends_at - booking.starts_at > timedelta(hours=hours):
            raise Invalid("end", f"is more than the domain's {hours} hours after the start")
        if self.db.refuses_overlaps:
            return resource  # the exclusion constraint refuses; `_lost_race` names why
        taken = await store.overlapping(
            tx, [resource.id], booking.starts_at, booking.ends_at, besides=booking.id
        )
        if taken:
            raise SlotTaken(booking.resource, tuple(taken))
        return resource

    async def _lost_race(self, actor: Principal, booking: Booking) -> SlotTaken:
        """The database refused an overlap another process committed first: name it."""
        async with self.db.read() as tx:
            resource = (await _resources(tx, actor, [booking.resource]))[0]
            taken = await store.overlapping(
                tx, [resource.id], booking.starts_at, booking.ends_at, besides=booking.id
            )
        return SlotTaken(booking.resource, tuple(taken))


async def _visible(
    tx: Tx, actor: Principal, booking_id: str, lock: bool = False, changing: bool = False
) -> tuple[Booking, int | None]:
    """The booking and its organizer's id, if the actor may see it (`_may_see`, or
    invited to it); `changing` refuses one the actor only is invited to."""
    found = await store.find(tx, actor.tenant_id, booking_id, lock)
    if found is not None:
        booking, organizer_id = found
        if _may_see(actor, organizer_id, _domain(booking.resource)):
            return found
        if actor.user_id is not None and await store.is_invited(tx, booking_id, actor.user_id):
            if changing:
                raise Forbidden(
                    "booking",
                    booking_id,
                    "you are invited to this booking; only its organizer "
                    "or an admin of its resource changes it",
                )
            return found
    raise NotFound("booking", booking_id)


def _domain(resource: str) -> str:
    return resource.partition("@")[2]


async def _invitees(
    tx: Tx, actor: Principal, booking: Booking, organizer_id: int | None
) -> list[int]:
    """The people of the tenant the booking invites (its organizer holds no invitation)."""
    found = await store.people_addressed(tx, actor.tenant_id, booking.attendees)
    return [i for i in found if i != organizer_id]


def _may_see(actor: Principal, organizer_id: object, resource_domain: str) -> bool:
    """A booking is its organizer's, and of the admins of its resource's domain."""
    mine = organizer_id is not None and organizer_id == actor.user_id
    return mine or actor.administers(resource_domain)


async def _resources(tx: Tx, actor: Principal, addresses: list[str]) -> list[ResourceRef]:
    found = await store.resource_refs(tx, actor.tenant_id, addresses)
    by_address = {r.address: r for r in found}
    for address in addresses:
        if address.strip().lower() not in by_address:
            raise NotFound("resource", address)
    return [by_address[a.strip().lower()] for a in addresses]


def _changed(old: Booking, changes: BookingChanges, now: datetime) -> Booking:
    """The booking with the changes applied, checked."""
    if changes.resource is not None and not changes.resource.strip():
        raise Invalid("resource", "must name the resource to move the booking to")
    new = replace(
        old,
        resource=changes.resource.strip().lower() if changes.resource else old.resource,
        title=(changes.title if changes.title is not None else old.title).strip(),
        starts_at=changes.starts_at or old.starts_at,
        ends_at=changes.ends_at or old.ends_at,
        attendees=changes.attendees if changes.attendees is not None else old.attendees,
        services=changes.services if changes.services is not None else old.services,
        status=changes.status or old.status,
        updated_at=now,
    )
    _check(new.title, new.starts_at, new.ends_at, new.status, new.attendees)
    return new


def _same(old: Booking, new: Booking) -> bool:
    """Whether an update would change nothing (so nothing is written or told)."""
    return replace(new, updated_at=old.updated_at) == old


async def _write(tx: Tx, new: Booking) -> None:
    """Store a changed booking and carry the change to its events."""
    await store.update_booking(
        tx,
        new.id,
        title=new.title,
        starts_at=new.starts_at,
        ends_at=new.ends_at,
        attendees=list(new.attendees),
        services=list(new.services),
        status=new.status,
        updated_at=new.updated_at,
    )
    await calendar_store.update_booking_events(
        tx,
        new.id,
        new.updated_at,
        title=new.title,
        starts_at=new.starts_at,
        ends_at=new.ends_at,
        attendees=new.attendees,
        status=new.status,
        location=new.resource,
    )


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Impossible("end", "must be after the start")


def check_id(booking_id: str) -> None:
    if not booking_id.strip() or len(booking_id) > MAX_ID:
        raise Invalid("id", f"must be 1 to {MAX_ID} characters")


def _check(
    title: str, starts_at: datetime, ends_at: datetime, status: str, attendees: tuple[str, ...]
) -> None:
    if not title.strip():
        raise Invalid("title", "must not be empty")
    if len(title) > MAX_TITLE:
        raise Invalid("title", f"is longer than {MAX_TITLE} characters")
    _check_times(starts_at, ends_at)
    if status not in ("confirmed", "tentative"):
        raise Invalid("status", "must be confirmed or tentative")
    check_attendees(attendees)


def check_attendees(attendees: tuple[str, ...]) -> None:
    for index, attendee in enumerate(attendees):
        local, at, domain = attendee.rpartition("@")
        if not (local and at and "." in domain):
            raise Invalid(f"attendees[{index}]", f"{attendee!r} is not an e-mail address")


def _meeting(booking: Booking, sequence: int) -> Meeting:
    return Meeting(
        uid=store.event_uid(booking.id),
        sequence=sequence,
        title=booking.title,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        organizer=booking.organizer,
        attendees=booking.attendees,
        location=booking.resource,
    )


def event_data(
    booking: Booking, organizer_id: int | None = None, invited: list[int] | None = None
) -> dict[str, object]:
    """What a booking event tells listeners (the tenant's WebSocket clients, for one):
    times as ISO 8601 text, so the data reads the same after crossing processes, and the
    organizer's and invited people's ids, which `BookingService.visible_to` decides by
    (without them, only the resource's admins see the event)."""
    return {
        "id": booking.id,
        "organizer_id": organizer_id,
        "invited_ids": list(invited or ()),
        "resource": booking.resource,
        "domain": booking.resource.partition("@")[2],
        "title": booking.title,
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "status": booking.status,
        "organizer": booking.organizer,
    }
