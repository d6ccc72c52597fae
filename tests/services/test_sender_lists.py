"""Sender black and white lists: what a pattern means, who keeps a person's lists, and
that every real change is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from tests.conftest import unique
from townhall.domain.errors import Forbidden, Invalid, NotFound, QuotaExceeded
from townhall.domain.models import Person
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson
from townhall.services.sender_lists import MAX_PATTERNS, matches
from townhall.services.tenants import NewTenant
from townhall.store import mail as mail_store
from townhall.store.schema import audit_log, mail_sender_rules


async def _tenant(services: Services) -> Principal:
    operator = Principal.system(await services.tenants.first(), "tester")
    created = await services.tenants.create(operator, NewTenant(f"{unique('lists')}.test"))
    return Principal.system(created.tenant, "tester")


async def _person(services: Services, admin: Principal) -> tuple[Person, Principal]:
    """A person of the tenant and the principal they call as."""
    name = unique("p")
    person = await services.people.create(admin, NewPerson(name, "password-1"))
    return person, Principal(admin.tenant, name, person.id)


async def _actions(services: Services, admin: Principal) -> list[tuple[str, str | None]]:
    query = (
        select(audit_log.c.action, audit_log.c.details)
        .where(audit_log.c.tenant_id == admin.tenant_id, audit_log.c.action.like("mail.%"))
        .order_by(audit_log.c.id)
    )
    async with services.deps.db.read() as tx:
        return [(r.action, r.details) for r in await tx.execute(query)]


def test_patterns_match_senders_with_wildcards_bare_domains_and_any_case() -> None:
    assert matches("spammer@bad.test", "Spammer@BAD.test")
    assert not matches("spammer@bad.test", "other@bad.test")
    assert matches("*@bad.test", "anyone@bad.test")
    assert matches("bad.test", "anyone@bad.test")
    assert not matches("bad.test", "anyone@sub.bad.test")
    assert matches("*.bad.test", "anyone@sub.bad.test")
    assert not matches("bad.test", "anyone@notbad.test")
    assert matches("news-*@*.example", "news-daily@mail.example")
    assert not matches("news-*@*.example", "news-daily@mail.example.org")
    assert matches("*", "x@y.test")
    assert not matches("*", "")  # the null sender of bounces is on no list
    assert not matches("a.b@c.test", "aXb@c.test")  # a dot is a dot, not a wildcard


async def test_add_read_filter_and_remove_patterns(services: Services) -> None:
    admin = await _tenant(services)
    person, _ = await _person(services, admin)
    assert await services.sender_lists.add(admin, person.id, "black", " Spammer@Bad.TEST ")
    assert await services.sender_lists.add(admin, person.username, "black", "worse.test")
    assert await services.sender_lists.add(admin, person.id, "black", "*@junk.test")
    assert await services.sender_lists.add(admin, person.id, "white", "friend@bad.test")
    assert not await services.sender_lists.add(admin, person.id, "black", "spammer@bad.test")
    assert await services.sender_lists.patterns(admin, person.id, "black") == [
        "*@junk.test",
        "spammer@bad.test",
        "worse.test",
    ]
    assert await services.sender_lists.patterns(admin, person.id, "white") == ["friend@bad.test"]
    assert await services.sender_lists.matching(admin, person.id, "black", "*BAD*") == [
        "spammer@bad.test"
    ]
    assert await services.sender_lists.matching(admin, person.id, "black", "*.test") == [
        "*@junk.test",
        "spammer@bad.test",
        "worse.test",
    ]
    assert await services.sender_lists.matching(admin, person.id, "black", "worse") == []

    await services.sender_lists.remove(admin, person.id, "black", "SPAMMER@bad.test")
    with pytest.raises(NotFound):
        await services.sender_lists.remove(admin, person.id, "black", "spammer@bad.test")
    assert sorted(await services.sender_lists.clear(admin, person.id, "black")) == [
        "*@junk.test",
        "worse.test",
    ]
    assert await services.sender_lists.clear(admin, person.id, "black") == []
    assert await services.sender_lists.patterns(admin, person.id, "black") == []
    assert await services.sender_lists.patterns(admin, person.id, "white") == ["friend@bad.test"]
    assert await _actions(services, admin) == [
        ("mail.sender_rule.added", "black list: spammer@bad.test"),
        ("mail.sender_rule.added", "black list: worse.test"),
        ("mail.sender_rule.added", "black list: *@junk.test"),
        ("mail.sender_rule.added", "white list: friend@bad.test"),
        ("mail.sender_rule.removed", "black list: spammer@bad.test"),
        ("mail.sender_rule.removed", "black list: *@junk.test"),
        ("mail.sender_rule.removed", "black list: worse.test"),
    ]


async def test_patterns_and_lists_are_checked(services: Services) -> None:
    admin = await _tenant(services)
    person, _ = await _person(services, admin)
    for wrong in ("", "   ", "two@at@signs.test", "with space@bad.test", "x@bad_test", "@"):
        with pytest.raises(Invalid) as caught:
            await services.sender_lists.add(admin, person.id, "black", wrong)
        assert caught.value.field == "pattern"
    with pytest.raises(Invalid) as caught:
        await services.sender_lists.add(admin, person.id, "grey", "bad.test")
    assert caught.value.field == "list"
    with pytest.raises(Invalid) as caught:
        await services.sender_lists.matching(admin, person.id, "black", "")
    assert caught.value.field == "filter"
    assert await services.sender_lists.patterns(admin, person.id, "black") == []
    with pytest.raises(NotFound):
        await services.sender_lists.patterns(admin, unique("ghost"), "black")


async def test_a_list_is_bounded(services: Services) -> None:
    admin = await _tenant(services)
    person, _ = await _person(services, admin)
    now = services.deps.clock.now()
    full = [
        {"user_id": person.id, "list": "black", "pattern": f"s{i}@bad.test", "created_at": now}
        for i in range(MAX_PATTERNS)
    ]
    async with services.deps.db.write() as tx:
        await tx.execute(insert(mail_sender_rules), full)
    with pytest.raises(QuotaExceeded):
        await services.sender_lists.add(admin, person.id, "black", "one-more@bad.test")
    assert await services.sender_lists.add(admin, person.id, "white", "one-more@bad.test")


async def test_a_person_keeps_their_own_lists_only(services: Services) -> None:
    admin = await _tenant(services)
    alice, as_alice = await _person(services, admin)
    bob, _ = await _person(services, admin)
    assert await services.sender_lists.add(as_alice, alice.id, "black", "bad.test")
    assert await services.sender_lists.patterns(as_alice, alice.username, "black") == ["bad.test"]
    await services.sender_lists.add(admin, bob.id, "white", "friend.test")
    for call in (
        services.sender_lists.patterns(as_alice, bob.id, "white"),
        services.sender_lists.add(as_alice, bob.username, "black", "x.test"),
        services.sender_lists.remove(as_alice, bob.id, "white", "friend.test"),
        services.sender_lists.clear(as_alice, bob.id, "white"),
        services.sender_lists.patterns(as_alice, unique("ghost"), "white"),
    ):
        with pytest.raises(Forbidden):
            await call
    assert await services.sender_lists.patterns(admin, bob.id, "white") == ["friend.test"]
    other = await _tenant(services)
    with pytest.raises(NotFound):  # another tenant's admin does not reach her
        await services.sender_lists.patterns(other, alice.id, "black")


async def test_a_persons_lists_go_with_the_person(services: Services) -> None:
    admin = await _tenant(services)
    person, _ = await _person(services, admin)
    await services.sender_lists.add(admin, person.id, "black", "bad.test")
    await services.people.delete(admin, person.id)
    async with services.deps.db.read() as tx:
        assert await mail_store.rules_of(tx, [person.id]) == {}
