"""Service-layer rules, in process, on both databases: audit, events, atomicity."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import unique
from townhall.domain.errors import AlreadyExists, Conflict, Invalid, NotFound
from townhall.domain.events import DomainEvent
from townhall.services.base import Actor
from townhall.services.users import UserChanges
from townhall.store import audit


async def _actor(services: Any) -> Actor:
    tenant = await services.tenants.first()
    return Actor(tenant, "tester")


async def _audit_count(services: Any, actor: Actor) -> int:
    async with services.deps.db.read() as tx:
        return await audit.count(tx, actor.tenant_id)


async def test_a_change_is_audited_and_published_once_committed(services: Any) -> None:
    actor = await _actor(services)
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    before = await _audit_count(services, actor)
    name = unique("svc")
    await services.users.create(actor, name, "pw", properties={"a": "1"})
    assert await _audit_count(services, actor) == before + 1
    assert [(e.topic, e.subject) for e in heard] == [("user.created", name)]

    with pytest.raises(AlreadyExists):
        await services.users.create(actor, name.upper(), "pw")
    assert await _audit_count(services, actor) == before + 1
    assert len(heard) == 1


async def test_failed_update_changes_nothing(services: Any) -> None:
    actor = await _actor(services)
    first, second = unique("one"), unique("two")
    await services.users.create(actor, first, "pw", name="First", properties={"k": "v"})
    await services.users.create(actor, second, "pw")
    with pytest.raises(AlreadyExists):
        await services.users.update(
            actor, first, UserChanges(new_username=second, name="Changed", properties={})
        )
    user = await services.users.get(actor, first)
    assert (user.name, user.properties) == ("First", {"k": "v"})


async def test_rename_keeps_identity_and_password(services: Any) -> None:
    actor = await _actor(services)
    old, new = unique("old"), unique("new")
    created = await services.users.create(actor, old, "secret-pw")
    await services.users.update(actor, old, UserChanges(new_username=new))
    renamed = await services.users.get(actor, new)
    assert renamed.id == created.id
    assert await services.users.authenticate(actor.tenant, new, "secret-pw") is not None
    with pytest.raises(NotFound):
        await services.users.get(actor, old)


async def test_usernames_are_folded_and_checked(services: Any) -> None:
    actor = await _actor(services)
    name = unique("Mixed")
    user = await services.users.create(actor, f"  {name} ", "pw")
    assert user.username == name.lower()
    for bad in ("", "a b", "a@b", "a/b", "a:b"):
        with pytest.raises(Invalid) as caught:
            await services.users.create(actor, bad, "pw")
        assert caught.value.field == "username"


async def test_locked_accounts_cannot_log_in_and_last_admin_stays(services: Any) -> None:
    actor = await _actor(services)
    name = unique("locked")
    await services.users.create(actor, name, "pw")
    await services.users.set_locked(actor, name, True)
    assert await services.users.authenticate(actor.tenant, name, "pw") is None
    await services.users.set_locked(actor, name, False)
    assert await services.users.authenticate(actor.tenant, name, "pw") is not None
    assert await services.users.authenticate(actor.tenant, name, "wrong") is None
    with pytest.raises(Conflict):
        await services.users.set_locked(actor, "admin", True)
    with pytest.raises(Conflict):
        await services.users.delete(actor, "admin")
