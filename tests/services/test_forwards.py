"""The forward service: an alias of the tenant's own domains and its recipients, only for
the tenant's admins, audited and published only when something changed."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select

from tests.conftest import unique
from townhall.domain.errors import Forbidden, Invalid, NotFound
from townhall.domain.events import DomainEvent
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.forwards import MAX_RECIPIENTS
from townhall.services.people import NewPerson
from townhall.services.tenants import NewTenant
from townhall.store.schema import audit_log, mail_aliases


async def _tenant(services: Services) -> tuple[Principal, str]:
    """A new tenant of its own (its system principal) and its domain."""
    operator = Principal.system(await services.tenants.first(), "tester")
    domain = f"{unique('fwd')}.test"
    created = await services.tenants.create(operator, NewTenant(domain))
    return Principal.system(created.tenant, "tester"), domain


async def _actions(services: Services, actor: Principal) -> list[tuple[str, str]]:
    """(action, summary) of the tenant's audit rows, oldest first."""
    query = (
        select(audit_log.c.action, audit_log.c.summary)
        .where(audit_log.c.tenant_id == actor.tenant_id, audit_log.c.action.like("mail.%"))
        .order_by(audit_log.c.id)
    )
    async with services.deps.db.read() as tx:
        return [(r.action, r.summary) for r in await tx.execute(query)]


def _other_admin(admin: Principal) -> Principal:
    return Principal.system(admin.tenant, "someone-else")


async def test_create_read_change_and_delete_a_forward(services: Services) -> None:
    admin, domain = await _tenant(services)
    sales = f"sales@{domain}"
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    created = await services.forwards.replace(
        admin, f"Sales@{domain.upper()}", ["Alice@Example.TEST", "bob@example.test"]
    )
    assert created is True
    assert await services.forwards.recipients(admin, sales) == [
        "alice@example.test",
        "bob@example.test",
    ]
    assert await services.forwards.exists(admin, sales)
    assert await services.forwards.exists(admin, sales, "BOB@example.test")
    assert not await services.forwards.exists(admin, sales, "carol@example.test")
    assert not await services.forwards.exists(admin, f"nobody@{domain}")

    after = await services.forwards.add(admin, sales, ["carol@example.test", "alice@example.test"])
    assert after == ["alice@example.test", "bob@example.test", "carol@example.test"]
    assert await services.forwards.replace(admin, sales, ["dave@example.test"]) is False
    assert await services.forwards.recipients(admin, sales) == ["dave@example.test"]
    await services.forwards.add(admin, f"info@{domain}", ["erin@example.test"])
    assert await services.forwards.all(admin) == {
        f"info@{domain}": ["erin@example.test"],
        sales: ["dave@example.test"],
    }

    await services.forwards.delete_recipient(admin, f"info@{domain}", "erin@example.test")
    assert not await services.forwards.exists(admin, f"info@{domain}")
    await services.forwards.delete(admin, sales)
    with pytest.raises(NotFound):
        await services.forwards.recipients(admin, sales)
    assert await services.forwards.all(admin) == {}
    assert [e.topic for e in heard if e.tenant_id == admin.tenant_id] == [
        "mail.forward.created",
        "mail.forward.changed",
        "mail.forward.changed",
        "mail.forward.created",
        "mail.forward.deleted",
        "mail.forward.deleted",
    ]
    assert (await _actions(services, admin))[0] == (
        "mail.forward.created",
        f"mail.forward.created: {sales}",
    )


async def test_a_change_that_changes_nothing_records_nothing(services: Services) -> None:
    admin, domain = await _tenant(services)
    alias = f"team@{domain}"
    await services.forwards.replace(admin, alias, ["a@example.test", "b@example.test"])
    before = await _actions(services, admin)
    same = ["b@example.test", "A@example.test"]
    assert await services.forwards.replace(admin, alias, same) is False
    await services.forwards.add(admin, alias, ["a@example.test"])
    assert await services.forwards.delete_all(_other_admin(admin)) == [alias]
    assert await services.forwards.delete_all(admin) == []
    actions = await _actions(services, admin)
    assert actions[: len(before)] == before
    assert [a for a, _ in actions[len(before) :]] == ["mail.forward.deleted"]


async def test_the_alias_must_be_in_a_domain_of_the_tenant(services: Services) -> None:
    admin, _ = await _tenant(services)
    _, theirs = await _tenant(services)
    for alias in (f"sales@{theirs}", "sales@not-hosted.test", "no address"):
        with pytest.raises(Invalid) as caught:
            await services.forwards.replace(admin, alias, ["a@example.test"])
        assert caught.value.field == "alias"
    with pytest.raises(NotFound):
        await services.forwards.delete(admin, f"sales@{theirs}")
    assert await services.forwards.all(admin) == {}


async def test_recipients_are_addresses_and_bounded(services: Services) -> None:
    admin, domain = await _tenant(services)
    alias = f"list@{domain}"
    for wrong in ([], ["not an address"], ["ok@example.test", "x@"]):
        with pytest.raises(Invalid) as caught:
            await services.forwards.replace(admin, alias, wrong)
        assert caught.value.field == "recipient"
    many = [f"r{i}@example.test" for i in range(MAX_RECIPIENTS)]
    with pytest.raises(Invalid) as caught:
        await services.forwards.replace(admin, alias, [*many, "one-more@example.test"])
    assert caught.value.field == "recipient"
    await services.forwards.replace(admin, alias, many[:60])
    with pytest.raises(Invalid) as caught:
        await services.forwards.add(admin, alias, [*many[40:], "one-more@example.test"])
    assert caught.value.field == "recipient"
    assert await services.forwards.recipients(admin, alias) == many[:60]
    assert len(await services.forwards.add(admin, alias, many[40:])) == MAX_RECIPIENTS


async def test_deleting_what_is_not_there_is_not_found(services: Services) -> None:
    admin, domain = await _tenant(services)
    alias = f"ops@{domain}"
    with pytest.raises(NotFound):
        await services.forwards.delete(admin, alias)
    await services.forwards.replace(admin, alias, ["a@example.test"])
    with pytest.raises(NotFound) as caught:
        await services.forwards.delete_recipient(admin, alias, "b@example.test")
    assert caught.value.kind == "recipient"
    assert await services.forwards.recipients(admin, alias) == ["a@example.test"]


async def test_only_the_tenants_admins_see_or_change_forwards(services: Services) -> None:
    admin, domain = await _tenant(services)
    alias = f"board@{domain}"
    await services.forwards.replace(admin, alias, ["a@example.test"])
    name = unique("person")
    person = await services.people.create(admin, NewPerson(name, "password-1"))
    caller = Principal(admin.tenant, name, person.id)
    before = await _actions(services, admin)
    refused = [
        services.forwards.recipients(caller, alias),
        services.forwards.exists(caller, alias),
        services.forwards.all(caller),
        services.forwards.replace(caller, alias, ["b@example.test"]),
        services.forwards.add(caller, alias, ["b@example.test"]),
        services.forwards.delete_recipient(caller, alias, "a@example.test"),
        services.forwards.delete(caller, alias),
        services.forwards.delete_all(caller),
    ]
    for call in refused:
        with pytest.raises(Forbidden):
            await call
    assert await services.forwards.recipients(admin, alias) == ["a@example.test"]
    assert await _actions(services, admin) == before
    other, _ = await _tenant(services)
    assert await services.forwards.all(other) == {}


async def test_two_requests_adding_at_once_never_pass_the_bound(services: Services) -> None:
    admin, domain = await _tenant(services)
    alias = f"crowd@{domain}"
    first = [f"a{i}@example.test" for i in range(60)]
    second = [f"b{i}@example.test" for i in range(60)]
    outcomes = await asyncio.gather(
        services.forwards.add(admin, alias, first),
        services.forwards.add(admin, alias, second),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, Invalid)]
    assert len(refused) == 1 and refused[0].field == "recipient"
    kept = await services.forwards.recipients(admin, alias)
    assert kept in (first, second)
    assert [a for a, _ in await _actions(services, admin)] == ["mail.forward.created"]


async def test_rows_left_by_a_former_holder_of_the_domain_give_way(services: Services) -> None:
    """A forward row of another tenant in this tenant's domain (left from when the name
    was theirs) routes nothing and does not stop this tenant's own forward."""
    admin, domain = await _tenant(services)
    former, _ = await _tenant(services)
    alias = f"sales@{domain}"
    async with services.deps.db.write() as tx:
        await tx.execute(
            insert(mail_aliases).values(
                tenant_id=former.tenant_id,
                alias=alias,
                recipient="old@example.test",
                created_at=services.deps.clock.now(),
            )
        )
    stale = await services.mail_routing.resolve(alias, "x@y.test")
    assert not stale.accepted and stale.external == ()
    assert not await services.forwards.exists(admin, alias)
    await services.forwards.replace(admin, alias, ["old@example.test"])
    route = await services.mail_routing.resolve(alias, "x@y.test")
    assert route.external == ("old@example.test",)
    assert await services.forwards.all(former) == {}
