"""Calendars, events, recurrence and free/busy through the service, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.conftest import unique
from townhall.domain.errors import Conflict, Forbidden, Impossible, Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.calendars import EventChanges, EventDraft
from townhall.services.container import Services
from townhall.services.people import NewPerson
from townhall.store import audit
from townhall.store import calendars as calendar_store
from townhall.store.calendars import EventValues
from townhall.store.schema import bookings, calendar_events, domains, resources

DOMAIN = "example.org"
HOUR = timedelta(hours=1)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2031, 3, day, hour, minute, tzinfo=UTC)


async def _person(services: Services) -> Principal:
    """A new person, and an actor acting as them."""
    tenant = await services.tenants.first()
    name = unique("cal")
    person = NewPerson(name, "password-1", email=f"{name}@{DOMAIN}")
    await services.people.create(Principal.system(tenant, "tester"), person)
    return Principal(tenant, name)


async def _audit_count(services: Services, actor: Principal) -> int:
    async with services.deps.db.read() as tx:
        return await audit.count(tx, actor.tenant_id)


def _draft(title: str = "Standup", start: datetime | None = None, **kw: Any) -> EventDraft:
    start = start or at(3)
    return EventDraft(title=title, starts_at=start, ends_at=start + HOUR, **kw)


async def _listed(
    services: Services, actor: Principal, calendar: str = "Calendar", **kw: Any
) -> list[Any]:
    return await services.calendars.events(actor, calendar, at(1, 0), at(31, 0), **kw)  # type: ignore[no-any-return]


async def test_personal_calendar_is_made_once_on_first_use(services: Services) -> None:
    alice = await _person(services)
    before = await _audit_count(services, alice)
    first = await services.calendars.calendars(alice)
    again = await services.calendars.calendars(alice)
    assert [(c.name, c.type, c.access) for c in first] == [("Calendar", "personal", "read-write")]
    assert again == first
    assert await _audit_count(services, alice) == before + 1
    assert await _listed(services, await _person(services)) == []


async def test_create_and_list_in_range(services: Services) -> None:
    alice = await _person(services)
    created = await services.calendars.create_event(
        alice,
        "Calendar",
        _draft(location=" Room 1 ", attendees=("Bob@Example.org", "bob@example.org")),
    )
    assert created.id.isdigit() and created.calendar == "Calendar"
    assert created.organizer == f"{alice.username}@{DOMAIN}"
    assert (created.location, created.attendees) == ("Room 1", ("bob@example.org",))
    assert created.recurrence_id is None and created.rrule is None
    cal = services.calendars
    assert [e.id for e in await _listed(services, alice)] == [created.id]
    # Half-open: a range ending at the start, or starting at the end, misses it.
    assert await cal.events(alice, "Calendar", at(3, 9), at(3, 10)) == []
    assert await cal.events(alice, "Calendar", at(3, 11), at(3, 12)) == []
    assert len(await cal.events(alice, "Calendar", at(3, 10, 59), at(3, 11))) == 1
    assert (await cal.event(alice, "Calendar", created.id)).title == "Standup"


async def test_recurring_series_expands_into_occurrences(services: Services) -> None:
    alice = await _person(services)
    series = await services.calendars.create_event(
        alice, "Calendar", _draft(rrule="freq=weekly;count=4")
    )
    assert series.rrule == "FREQ=WEEKLY;COUNT=4"
    found = await _listed(services, alice)
    assert [e.starts_at for e in found] == [at(3), at(10), at(17), at(24)]
    assert all(e.id == series.id and e.recurrence_id == e.starts_at for e in found)
    assert all(e.ends_at - e.starts_at == HOUR for e in found)
    masters = await _listed(services, alice, include_recurring=False)
    assert [(e.id, e.recurrence_id) for e in masters] == [(series.id, None)]
    later = await services.calendars.events(alice, "Calendar", at(25), at(31))
    assert later == []
    one = await services.calendars.event(alice, "Calendar", series.id, at(17))
    assert (one.starts_at, one.recurrence_id) == (at(17), at(17))
    with pytest.raises(NotFound):
        await services.calendars.event(alice, "Calendar", series.id, at(18))


async def test_endless_series_is_found_far_ahead(services: Services) -> None:
    alice = await _person(services)
    await services.calendars.create_event(alice, "Calendar", _draft(rrule="FREQ=DAILY"))
    far = datetime(2040, 1, 1, tzinfo=UTC)
    found = await services.calendars.events(alice, "Calendar", far, far + timedelta(days=2))
    assert [e.starts_at.day for e in found] == [1, 2]


async def test_cancelling_one_occurrence_keeps_the_others(services: Services) -> None:
    alice = await _person(services)
    series = await services.calendars.create_event(
        alice, "Calendar", _draft(rrule="FREQ=WEEKLY;COUNT=4")
    )
    gone = await services.calendars.delete_event(alice, "Calendar", series.id, at(10))
    assert gone.recurrence_id == at(10)
    assert [e.starts_at for e in await _listed(services, alice)] == [at(3), at(17), at(24)]
    async with services.deps.db.read() as tx:
        sequence = (
            await tx.execute(
                select(calendar_events.c.sequence).where(calendar_events.c.id == int(series.id))
            )
        ).scalar()
    assert sequence == 1
    with pytest.raises(NotFound):
        await services.calendars.delete_event(alice, "Calendar", series.id, at(10))
    with pytest.raises(NotFound):
        await services.calendars.delete_event(alice, "Calendar", series.id, at(11))


async def test_deleting_the_series_removes_every_occurrence(services: Services) -> None:
    alice = await _person(services)
    series = await services.calendars.create_event(alice, "Calendar", _draft(rrule="FREQ=DAILY"))
    single = await services.calendars.create_event(alice, "Calendar", _draft("Lunch", at(5, 12)))
    await services.calendars.delete_event(alice, "Calendar", series.id)
    assert [e.id for e in await _listed(services, alice)] == [single.id]
    with pytest.raises(NotFound):
        await services.calendars.event(alice, "Calendar", series.id)
    with pytest.raises(NotFound):
        await services.calendars.delete_event(alice, "Calendar", series.id)
    with pytest.raises(Invalid) as refused:
        await services.calendars.delete_event(alice, "Calendar", single.id, at(5, 12))
    assert refused.value.field == "recurrence_id"


async def test_update_moves_the_series_and_its_exdates(services: Services) -> None:
    alice = await _person(services)
    series = await services.calendars.create_event(
        alice, "Calendar", _draft(rrule="FREQ=WEEKLY;COUNT=3")
    )
    await services.calendars.delete_event(alice, "Calendar", series.id, at(10))
    changed = await services.calendars.update_event(
        alice, "Calendar", series.id, EventChanges(title="Sync", starts_at=at(3, 14))
    )
    assert (changed.title, changed.starts_at, changed.ends_at) == ("Sync", at(3, 14), at(3, 15))
    found = await _listed(services, alice)
    assert [(e.title, e.starts_at) for e in found] == [("Sync", at(3, 14)), ("Sync", at(17, 14))]
    single = await services.calendars.update_event(
        alice, "Calendar", series.id, EventChanges(rrule="")
    )
    assert single.rrule is None
    assert [e.recurrence_id for e in await _listed(services, alice)] == [None]


async def test_shares_give_read_or_write_access(services: Services) -> None:
    alice, bob, carol = [await _person(services) for _ in range(3)]
    await services.calendars.create_calendar(alice, "Team Calendar")
    await services.calendars.create_event(alice, "Team Calendar", _draft("Planning"))
    await services.calendars.share(alice, "Team Calendar", bob.username, "read-only")
    seen = await services.calendars.calendars(bob)
    assert [(c.name, c.type, c.access) for c in seen] == [
        ("Calendar", "personal", "read-write"),
        ("Team Calendar", "shared", "read-only"),
    ]
    assert [e.title for e in await _listed(services, bob, "Team Calendar")] == ["Planning"]
    with pytest.raises(Forbidden):
        await services.calendars.create_event(bob, "Team Calendar", _draft("Mine"))
    planning = (await _listed(services, bob, "Team Calendar"))[0]
    with pytest.raises(Forbidden):
        await services.calendars.delete_event(bob, "Team Calendar", planning.id)
    with pytest.raises(NotFound):
        await _listed(services, carol, "Team Calendar")

    await services.calendars.share(alice, "Team Calendar", bob.username, "read-write")
    mine = await services.calendars.create_event(bob, "Team Calendar", _draft("Mine", at(4)))
    assert mine.organizer == f"{bob.username}@{DOMAIN}"
    titles = [e.title for e in await _listed(services, alice, "Team Calendar")]
    assert titles == ["Planning", "Mine"]
    # An event id is only reachable through its own calendar.
    with pytest.raises(NotFound):
        await services.calendars.event(bob, "Calendar", mine.id)


async def test_refused_input_stores_nothing(services: Services) -> None:
    alice = await _person(services)
    await services.calendars.calendars(alice)
    before = await _audit_count(services, alice)
    cases: list[tuple[EventDraft, type[Exception], str]] = [
        (_draft("  "), Invalid, "title"),
        (EventDraft("x", at(3), at(3)), Impossible, "end"),
        (EventDraft("x", at(3), at(2)), Impossible, "end"),
        (_draft(rrule="FREQ=SOMETIMES"), Invalid, "recurrence"),
        (_draft(rrule="FREQ=DAILY;COUNT=2;UNTIL=20310310T000000Z"), Invalid, "recurrence"),
        (_draft(attendees=("not an address",)), Invalid, "attendees"),
        (_draft(status="maybe"), Invalid, "status"),
    ]
    for draft, error, field in cases:
        with pytest.raises(error) as refused:
            await services.calendars.create_event(alice, "Calendar", draft)
        assert refused.value.field == field  # type: ignore[attr-defined]
    with pytest.raises(Impossible):
        await services.calendars.events(alice, "Calendar", at(3), at(3))
    created = await services.calendars.create_event(alice, "Calendar", _draft())
    with pytest.raises(Impossible):
        await services.calendars.update_event(
            alice, "Calendar", created.id, EventChanges(ends_at=at(2))
        )
    with pytest.raises(NotFound):
        await services.calendars.create_event(alice, "Nope", _draft())
    with pytest.raises(NotFound):
        await services.calendars.event(alice, "Calendar", "abc")
    assert await _audit_count(services, alice) == before + 1
    assert [e.starts_at for e in await _listed(services, alice)] == [at(3)]


async def test_person_freebusy_merges_events(services: Services) -> None:
    alice = await _person(services)
    cal = services.calendars
    await cal.create_event(alice, "Calendar", _draft("A", at(3, 10)))
    await cal.create_event(alice, "Calendar", _draft("B", at(3, 10, 30)))
    await cal.create_event(alice, "Calendar", _draft("T", at(3, 11), status="tentative"))
    await cal.create_event(alice, "Calendar", _draft("T2", at(3, 14), status="tentative"))
    gone = await cal.create_event(alice, "Calendar", _draft("X", at(3, 16)))
    await cal.delete_event(alice, "Calendar", gone.id)
    await cal.create_event(alice, "Calendar", _draft("D", at(1, 8), rrule="FREQ=DAILY;COUNT=5"))
    periods = await cal.freebusy(alice, f"{alice.username}@{DOMAIN}", at(3, 0), at(4, 0))
    assert [(p.starts_at, p.ends_at, p.type) for p in periods] == [
        (at(3, 8), at(3, 9), "BUSY"),
        (at(3, 10), at(3, 11, 30), "BUSY"),
        (at(3, 11, 30), at(3, 12), "TENTATIVE"),
        (at(3, 14), at(3, 15), "TENTATIVE"),
    ]
    clipped = await cal.freebusy(
        alice, f"{alice.username.upper()}@{DOMAIN}", at(3, 8, 30), at(3, 9)
    )
    assert [(p.starts_at, p.ends_at) for p in clipped] == [(at(3, 8, 30), at(3, 9))]
    with pytest.raises(NotFound):
        await cal.freebusy(alice, f"nobody-{alice.username}@{DOMAIN}", at(3), at(4))
    with pytest.raises(NotFound):
        await cal.freebusy(alice, f"{alice.username}@elsewhere.test", at(3), at(4))
    with pytest.raises(Impossible):
        await cal.freebusy(alice, f"{alice.username}@{DOMAIN}", at(4), at(3))


async def _resource(services: Services, actor: Principal) -> tuple[int, str]:
    """A resource account, written straight to its tables (the resource service is
    another area's); returns its id and address."""
    sub = f"{unique('fb')}.resources.{DOMAIN}"
    await services.domains.create(Principal.system(actor.tenant), sub, "resource-subdomain")
    now = datetime.now(UTC)
    async with services.deps.db.write() as tx:
        domain_id = (await tx.execute(select(domains.c.id).where(domains.c.name == sub))).scalar()
        made = insert(resources).values(
            tenant_id=actor.tenant_id,
            domain_id=domain_id,
            name="room-01",
            display_name="Room 01",
            type="conference-room",
            category="meeting-resources",
            features=[],
            custom_fields={},
            created_at=now,
            updated_at=now,
        )
        resource_id = int((await tx.execute(made.returning(resources.c.id))).scalar_one())
        for number, (start, status) in enumerate(
            [(at(3, 9), "confirmed"), (at(3, 12), "tentative"), (at(3, 15), "cancelled")]
        ):
            await tx.execute(
                insert(bookings).values(
                    id=f"RMP-{resource_id}-{number}",
                    tenant_id=actor.tenant_id,
                    resource_id=resource_id,
                    organizer="x@example.org",
                    title="Booked",
                    starts_at=start,
                    ends_at=start + HOUR,
                    status=status,
                    attendees=[],
                    services=[],
                    created_at=now,
                    updated_at=now,
                )
            )
    return resource_id, f"room-01@{sub}"


async def test_resource_freebusy_merges_bookings_and_booking_events(services: Services) -> None:
    alice = await _person(services)
    resource_id, address = await _resource(services, alice)
    now = datetime.now(UTC)
    async with services.deps.db.write() as tx:
        calendar_id = await calendar_store.calendar_of_resource(
            tx, alice.tenant_id, resource_id, now
        )
        assert calendar_id == await calendar_store.calendar_of_resource(
            tx, alice.tenant_id, resource_id, now
        )
        personal = await calendar_store.personal_calendar(
            tx, alice.tenant_id, await _user_id(services, alice), now
        )
        values = EventValues(
            uid="RMP-x@townhall",
            title="Booked",
            starts_at=at(3, 9, 30),
            ends_at=at(3, 10, 30),
            series_ends_at=at(3, 10, 30),
            booking_id=f"RMP-{resource_id}-0",
        )
        ids = await calendar_store.write_booking_events(tx, [calendar_id, personal], values, now)
    periods = await services.calendars.freebusy(alice, address, at(3, 0), at(4, 0))
    assert [(p.starts_at, p.ends_at, p.type) for p in periods] == [
        (at(3, 9), at(3, 10, 30), "BUSY"),
        (at(3, 12), at(3, 13), "TENTATIVE"),
    ]
    mine = await services.calendars.freebusy(alice, f"{alice.username}@{DOMAIN}", at(3, 0), at(4))
    assert [(p.starts_at, p.type) for p in mine] == [(at(3, 9, 30), "BUSY")]
    # A booking's event changes only through its booking.
    with pytest.raises(Conflict):
        await services.calendars.delete_event(alice, "Calendar", str(ids[1]))
    async with services.deps.db.write() as tx:
        await calendar_store.cancel_booking_events(tx, f"RMP-{resource_id}-0", now)
    assert await _listed(services, alice) == []
    with pytest.raises(NotFound):
        await services.calendars.freebusy(alice, f"room-02@{address.split('@')[1]}", at(3), at(4))


async def test_resource_calendar_shared_shows_as_resource(services: Services) -> None:
    alice = await _person(services)
    _, address = await _resource(services, alice)
    await services.calendars.share_resource_calendar(alice, address, alice.username, "read-only")
    seen = await services.calendars.calendars(alice)
    assert [(c.name, c.type, c.access) for c in seen] == [
        ("Calendar", "personal", "read-write"),
        ("Calendar", "resource", "read-only"),
    ]


async def _user_id(services: Services, actor: Principal) -> int:
    return int((await services.people.get(actor, actor.username or "")).id)
