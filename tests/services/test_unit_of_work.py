"""Service-layer rules, in process, on both databases: audit, events, atomicity."""

from __future__ import annotations

import pytest

from tests.conftest import unique
from townhall.domain.errors import AlreadyExists, Conflict, Invalid, NotFound, Unauthenticated
from townhall.domain.events import DomainEvent
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson, PersonChanges
from townhall.store import audit


async def _actor(services: Services) -> Principal:
    tenant = await services.tenants.first()
    return Principal.system(tenant, "tester")


async def _audit_count(services: Services, actor: Principal) -> int:
    async with services.deps.db.read() as tx:
        return await audit.count(tx, actor.tenant_id)


async def test_a_change_is_audited_and_published_once_committed(services: Services) -> None:
    actor = await _actor(services)
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    before = await _audit_count(services, actor)
    name = unique("svc")
    await services.people.create(actor, NewPerson(name, "password-1", properties={"a": "1"}))
    assert await _audit_count(services, actor) == before + 1
    assert [(e.topic, e.subject) for e in heard] == [("user.created", name)]

    with pytest.raises(AlreadyExists):
        await services.people.create(actor, NewPerson(name.upper(), "password-1"))
    assert await _audit_count(services, actor) == before + 1
    assert len(heard) == 1


async def test_failed_update_changes_nothing(services: Services) -> None:
    actor = await _actor(services)
    first, second = unique("one"), unique("two")
    await services.people.create(
        actor, NewPerson(first, "password-1", name="First", properties={"k": "v"})
    )
    await services.people.create(actor, NewPerson(second, "password-1"))
    with pytest.raises(AlreadyExists):
        await services.people.update(
            actor, first, PersonChanges(username=second, name="Changed", properties={})
        )
    user = await services.people.get(actor, first)
    assert (user.name, user.properties) == ("First", {"k": "v"})


async def test_rename_keeps_identity_and_password(services: Services) -> None:
    actor = await _actor(services)
    old, new = unique("old"), unique("new")
    created = await services.people.create(actor, NewPerson(old, "secret-pw"))
    await services.people.update(actor, old, PersonChanges(username=new))
    renamed = await services.people.get(actor, new)
    assert renamed.id == created.id
    assert (await services.auth.password(actor.tenant, new, "secret-pw")).username == new
    with pytest.raises(NotFound):
        await services.people.get(actor, old)


async def test_usernames_are_folded_and_checked(services: Services) -> None:
    actor = await _actor(services)
    name = unique("Mixed")
    user = await services.people.create(actor, NewPerson(f"  {name} ", "password-1"))
    assert user.username == name.lower()
    for bad in ("", "a b", "a@b", "a/b", "a:b"):
        with pytest.raises(Invalid) as caught:
            await services.people.create(actor, NewPerson(bad, "password-1"))
        assert caught.value.field == "username"


async def test_locked_accounts_cannot_log_in_and_last_admin_stays(services: Services) -> None:
    actor = await _actor(services)
    name = unique("locked")
    await services.people.create(actor, NewPerson(name, "password-1"))
    await services.people.set_locked(actor, name, True)
    with pytest.raises(Unauthenticated):
        await services.auth.password(actor.tenant, name, "password-1")
    await services.people.set_locked(actor, name, False)
    assert (await services.auth.password(actor.tenant, name, "password-1")).username == name
    with pytest.raises(Unauthenticated):
        await services.auth.password(actor.tenant, name, "wrong")
    with pytest.raises(Conflict):
        await services.people.set_locked(actor, "admin", True)
    with pytest.raises(Conflict):
        await services.people.delete(actor, "admin")


async def test_one_unit_records_several_changes_or_none(services: Services) -> None:
    """Each recorded change is audited inside the transaction and published after it, in
    order; a unit that fails records nothing and publishes nothing; one that records
    nothing writes no audit row."""
    from townhall.services.base import Service

    unit = Service(services.deps)
    actor = await _actor(services)
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    before = await _audit_count(services, actor)
    async with unit.unit(actor) as work:
        work.record("test.first", "a", {"n": 1})
        work.record("test.second", "b", {"n": 2})
        assert heard == []  # nothing is published before the commit
    assert [(e.topic, e.subject, e.data) for e in heard] == [
        ("test.first", "a", {"n": 1}),
        ("test.second", "b", {"n": 2}),
    ]
    assert await _audit_count(services, actor) == before + 2
    with pytest.raises(RuntimeError):
        async with unit.unit(actor) as work:
            work.record("test.third", "c")
            raise RuntimeError("refused after recording")
    async with unit.unit(actor):
        pass
    assert len(heard) == 2
    assert await _audit_count(services, actor) == before + 2
