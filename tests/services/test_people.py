"""The people service: one create path, one rule set, changes that change nothing are
not recorded, and a refusal leaves nothing behind."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from townhall.domain import roles
from townhall.domain.errors import Forbidden, Invalid, NotFound
from townhall.domain.events import DomainEvent
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson, PersonChanges
from townhall.store import audit


async def _system(services: Services) -> Principal:
    return Principal.system(await services.tenants.first(), "tester")


async def _audit_count(services: Services, actor: Principal) -> int:
    async with services.deps.db.read() as tx:
        return await audit.count(tx, actor.tenant_id)


async def test_repeating_a_state_records_nothing(services: Services) -> None:
    actor = await _system(services)
    name = unique("noop")
    await services.people.create(actor, NewPerson(name, "password-1", name="Same"))
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    before = await _audit_count(services, actor)
    for _ in range(3):
        await services.people.set_locked(actor, name, False)
    await services.people.update(actor, name, PersonChanges(name="Same"))
    assert await _audit_count(services, actor) == before
    assert heard == []
    await services.people.set_locked(actor, name, True)
    await services.people.set_locked(actor, name, True)
    assert await _audit_count(services, actor) == before + 1
    assert [e.topic for e in heard] == ["user.locked"]


async def test_a_refused_creation_leaves_no_person_and_no_group(services: Services) -> None:
    actor = await _system(services)
    name, group = unique("atomic"), unique("grp")
    with pytest.raises(Invalid) as caught:
        await services.people.create(
            actor, NewPerson(name, "password-1", groups=[group, "g" * 201])
        )
    assert caught.value.field == "group_name"
    with pytest.raises(NotFound):
        await services.people.get(actor, name)
    assert not await services.groups.exists(actor, group)


async def test_one_email_rule_for_every_path(services: Services) -> None:
    actor = await _system(services)
    with pytest.raises(Invalid) as caught:
        await services.people.create(
            actor, NewPerson(unique("bad"), "password-1", email="not an e-mail")
        )
    assert caught.value.field == "email"
    person = await services.people.create(actor, NewPerson(unique("good"), "password-1"))
    with pytest.raises(Invalid):
        await services.people.update(actor, person.id, PersonChanges(email="nope@"))
    assert (await services.people.get(actor, person.id)).email is None


async def test_only_a_server_admin_changes_a_server_admin(services: Services) -> None:
    system = await _system(services)
    boss = await services.people.create(
        system, NewPerson(unique("boss"), "password-1", roles=frozenset({roles.SERVER_ADMIN}))
    )
    clerk = Principal(system.tenant, "clerk", roles=frozenset({roles.USER_PROVISIONING}))
    try:
        with pytest.raises(Forbidden):
            await services.people.update(clerk, boss.id, PersonChanges(name="Renamed"))
        with pytest.raises(Forbidden):
            await services.people.set_locked(clerk, boss.username, True)
        with pytest.raises(Forbidden):
            await services.people.create(
                clerk, NewPerson(unique("up"), "password-1", roles=frozenset({roles.SERVER_ADMIN}))
            )
        assert (await services.people.get(system, boss.id)).name == ""
    finally:  # the server tests count on `admin` being the only server admin
        await services.people.delete(system, boss.id)


async def test_property_updates_merge_and_replacement_replaces(services: Services) -> None:
    actor = await _system(services)
    name = unique("props")
    await services.people.create(
        actor, NewPerson(name, "password-1", properties={"a": "1", "b": "2"})
    )
    await services.people.update(actor, name, PersonChanges(property_updates={"a": None, "c": "3"}))
    assert (await services.people.get(actor, name)).properties == {"b": "2", "c": "3"}
    await services.people.update(actor, name, PersonChanges(properties={"z": None}))
    assert (await services.people.get(actor, name)).properties == {"z": None}


async def test_the_listing_shows_what_the_search_finds(services: Services) -> None:
    """The lean read model of long lists (`listing`) holds, for every page and filter,
    the people `search` finds, in its order, with the same properties and total; and
    the Openfire list drawn from its rows is byte for byte the one drawn from people."""
    from townhall.dialects.openfire import wire
    from townhall.dialects.openfire.entities import USERS
    from townhall.dialects.openfire.users import LISTED, user_data
    from townhall.domain.queries import PersonFilter

    actor = await _system(services)
    tag = unique("lst")
    made = [f"{tag}{i}" for i in (3, 1, 4, 0, 2)]
    for i, name in enumerate(made):
        properties = {"b": f"<&\"'{i}>", "a": None} if i % 2 == 0 else {}
        email = f"{name}@example.org" if i != 2 else None
        await services.people.create(
            actor, NewPerson(name, None, name=f"N {i} &", email=email, properties=properties)
        )
    filters = [
        PersonFilter(),
        PersonFilter(username_contains=tag),
        PersonFilter(property_key="b"),
        PersonFilter(property_key="a", property_value=None),
        PersonFilter(name_contains="n 1"),
    ]
    pages = [(0, None), (0, 2), (2, 2), (4, 2), (0, 0), (100, 3)]
    for where in filters:
        for offset, limit in pages:
            people, total = await services.people.search(actor, where, offset, limit)
            listed, listed_total = await services.people.listing(actor, where, offset, limit)
            assert listed_total == total, (where, offset, limit)
            assert [p.username for p in listed] == [p.username for p in people]
            for fmt in ("json", "xml"):
                old = wire.render(USERS, [user_data(p) for p in people], fmt)  # type: ignore[arg-type]
                assert wire.render_rows(USERS, LISTED, listed, fmt) == old  # type: ignore[arg-type]
    mine, _ = await services.people.listing(actor, PersonFilter(username_contains=tag))
    assert [p.username for p in mine] == sorted(made)
    by_name = {p.username: p for p in mine}
    assert by_name[made[0]].properties == (("a", None), ("b", "<&\"'0>"))
    assert by_name[made[1]].properties == ()
    assert by_name[made[2]].email is None


async def test_the_card_of_a_person_follows_their_changes(services: Services) -> None:
    """The single-user read model holds what `get` holds that lists print, and a
    change shows at once though the card is cached."""
    actor = await _system(services)
    name = unique("card")
    await services.people.create(
        actor, NewPerson(name, None, name="Before", properties={"b": "2", "a": None})
    )
    card = await services.people.card(actor, name)
    person = await services.people.get(actor, name)
    assert (card.username, card.name, card.email) == (person.username, "Before", None)
    assert card.properties == (("a", None), ("b", "2"))
    await services.people.update(
        actor, name, PersonChanges(name="After", email=f"{name}@example.org", properties={})
    )
    card = await services.people.card(actor, name)
    assert (card.name, card.email, card.properties) == ("After", f"{name}@example.org", ())
    await services.people.delete(actor, name)
    with pytest.raises(NotFound):
        await services.people.card(actor, name)
