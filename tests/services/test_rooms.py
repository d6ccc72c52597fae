"""The room service: one set of membership rules whichever way a room is addressed, and
changes that change nothing are not recorded."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import unique
from townhall.domain import roles
from townhall.domain.errors import Conflict, Forbidden
from townhall.domain.events import DomainEvent
from townhall.domain.models import Affiliations, RoomSettings
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson
from townhall.services.rooms import RoomChanges, RoomSpec
from townhall.store import audit

SERVICE = "conference"


async def _system(services: Services) -> Principal:
    return Principal.system(await services.tenants.first(), "tester")


async def _audit_count(services: Services, actor: Principal) -> int:
    async with services.deps.db.read() as tx:
        return await audit.count(tx, actor.tenant_id)


async def _person(services: Services, actor: Principal) -> Principal:
    """A person with no administrative role, as the principal it signs in as."""
    name = unique("person")
    person = await services.people.create(actor, NewPerson(name, "password-1"))
    return Principal(actor.tenant, name, person.id, frozenset({roles.INDIVIDUAL}))


async def test_a_grant_that_changes_nothing_records_nothing(services: Services) -> None:
    actor = await _system(services)
    room = unique("noop")
    await services.rooms.save(actor, SERVICE, RoomSpec(room, RoomSettings(), Affiliations()))
    await services.rooms.grant(actor, SERVICE, room, "member", "m@x.org")
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    before = await _audit_count(services, actor)

    await services.rooms.grant(actor, SERVICE, room, "member", "m@x.org")
    await services.rooms.grant(actor, SERVICE, room, "member", "M@X.org/phone")  # the same JID
    await services.rooms.set_affiliated(actor, SERVICE, room, "member", ["m@x.org"], False)
    assert await _audit_count(services, actor) == before
    assert heard == []

    await services.rooms.grant(actor, SERVICE, room, "admin", "m@x.org")
    assert await _audit_count(services, actor) == before + 1
    assert [e.topic for e in heard] == ["room.affiliation.granted"]


async def test_a_membership_change_that_changes_nothing_records_nothing(services: Services) -> None:
    actor = await _system(services)
    owner, member = await _person(services, actor), await _person(services, actor)
    created = await services.rooms.create(owner, RoomChanges(natural_name="Quiet"))
    assert created.stream_id is not None
    await services.rooms.set_member(owner, created.stream_id, member.person_id, "member")
    stranger = await services.people.create(actor, NewPerson(unique("stranger"), "password-1"))
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    before = await _audit_count(services, actor)

    await services.rooms.set_member(owner, created.stream_id, member.person_id, "member")
    await services.rooms.update(owner, created.stream_id, RoomChanges(natural_name="Quiet"))
    await services.rooms.set_active(owner, created.stream_id, True)
    await services.rooms.set_member(owner, created.stream_id, stranger.id, None)  # not in it
    assert await _audit_count(services, actor) == before
    assert heard == []


async def test_only_an_owner_or_an_admin_changes_a_room_however_addressed(
    services: Services,
) -> None:
    actor = await _system(services)
    owner, other = await _person(services, actor), await _person(services, actor)
    created = await services.rooms.create(owner, RoomChanges(natural_name="Mine"))
    assert created.stream_id is not None
    with pytest.raises(Forbidden):
        await services.rooms.set_member(other, created.stream_id, other.person_id, "member")
    with pytest.raises(Forbidden):  # the same room by name
        await services.rooms.grant(other, created.service, created.name, "member", "x@y.org")
    with pytest.raises(Forbidden):
        await services.rooms.update(other, created.stream_id, RoomChanges(natural_name="Theirs"))
    await services.rooms.grant(owner, created.service, created.name, "member", "x@y.org")
    await services.rooms.set_member(actor, created.stream_id, other.person_id, "member")
    found = await services.rooms.get(actor, created.service, created.name)
    assert found.settings.natural_name == "Mine"
    assert found.affiliations.jids["member"] == ("x@y.org", other.address)


async def test_one_last_owner_rule_for_affiliations_and_membership(services: Services) -> None:
    actor = await _system(services)
    owner = await _person(services, actor)
    created = await services.rooms.create(owner, RoomChanges(natural_name="Kept"))
    assert created.stream_id is not None
    for refused in (
        services.rooms.set_member(owner, created.stream_id, owner.person_id, None),
        services.rooms.set_member(owner, created.stream_id, owner.person_id, "member"),
        services.rooms.revoke(actor, created.service, created.name, "owner", owner.address),
        services.rooms.grant(actor, created.service, created.name, "admin", owner.address),
        services.rooms.set_affiliated(actor, created.service, created.name, "owner", [], True),
    ):
        with pytest.raises(Conflict) as caught:
            await refused
        assert caught.value.kind == "room_owner"
    members = await services.rooms.members(actor, created.stream_id)
    assert [(m.user_id, m.affiliation) for m in members] == [(owner.person_id, "owner")]


async def test_concurrent_removals_never_leave_a_room_without_an_owner(services: Services) -> None:
    """Two owners removed at once: each removal alone would keep an owner, together they
    would not; the room row's lock makes one of them see the other and be refused."""
    actor = await _system(services)
    first, second = await _person(services, actor), await _person(services, actor)
    for _ in range(10):
        created = await services.rooms.create(first, RoomChanges(natural_name="Two owners"))
        stream_id = created.stream_id
        await services.rooms.set_member(first, stream_id, second.person_id, "owner")
        outcomes = await asyncio.gather(
            services.rooms.set_member(actor, stream_id, first.person_id, None),
            services.rooms.set_member(actor, stream_id, second.person_id, None),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(refused) == 1, outcomes
        owners = [m for m in await services.rooms.members(actor, stream_id) if m.owner]
        assert len(owners) == 1


async def test_a_refused_save_in_a_new_service_leaves_neither_and_the_next_one_works(
    services: Services,
) -> None:
    """A save that names a service not there yet makes it; refused (a party listed
    twice), it leaves no service and no room, and the known services a process keeps
    do not remember the one rolled back: the next save makes both."""
    actor = await _system(services)
    service, room = unique("svc"), unique("room")
    twice = Affiliations(jids={"owner": ("a@example.org",), "member": ("a@example.org",)})
    with pytest.raises(Conflict):
        await services.rooms.save(actor, service, RoomSpec(room, RoomSettings(), twice))
    assert service not in {s.name for s in await services.rooms.list_services(actor)}
    before = await _audit_count(services, actor)
    assert await services.rooms.save(actor, service, RoomSpec(room, RoomSettings(), Affiliations()))
    assert await services.rooms.get(actor, service, room)
    assert await _audit_count(services, actor) == before + 1
    # Saved again, the room is overwritten, not made twice (the unique name tells).
    again = RoomSpec(room, RoomSettings(description="second"), Affiliations())
    assert not await services.rooms.save(actor, service, again)
    assert (await services.rooms.get(actor, service, room)).settings.description == "second"
