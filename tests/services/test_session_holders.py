"""Who holds a session is remembered only where no change can pass unseen: where every
process hears every change (all of them on Redis), or where the database's change stamp
moves with any commit (SQLite). A logout or a lockout in one process then refuses the
session in the others at once; processes with neither (PostgreSQL without Redis) read
the row every time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from tests.conftest import in_process, unique
from townhall.domain.errors import Unauthenticated
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson

REDIS_URL = "redis://127.0.0.1:6379/0"


async def _person_with_session(services: Services) -> tuple[str, str]:
    tenant = await services.tenants.first()
    name = unique("holder")
    await services.people.create(Principal.system(tenant, "tester"), NewPerson(name, "pw-123456"))
    who = await services.auth.password(tenant, name, "pw-123456")
    return name, await services.auth.start_session(who, "console")


def _pair_on(
    database_url: str, data: str, **extra: str
) -> Callable[[], AsyncIterator[tuple[Services, Services]]]:
    async def pair() -> AsyncIterator[tuple[Services, Services]]:
        from townhall.app import TENANT_DEFAULTS
        from townhall.config import load_settings
        from townhall.services.bootstrap import ensure_initialised
        from townhall.store.migrate import upgrade

        settings = load_settings(
            in_process(database_url, data, TOWNHALL_DB_MAX_CONNECTIONS="8", **extra)
        )
        await asyncio.to_thread(upgrade, database_url)
        both = (Services.build(settings), Services.build(settings))
        await ensure_initialised(both[0], settings, TENANT_DEFAULTS)
        for built in both:
            await built.deps.events.start()
        yield both
        for built in both:
            await built.close()

    return pair


@pytest.fixture
async def deaf_pair(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Services, Services]]:
    """Two server processes on one database without Redis: neither hears the other."""
    async for pair in _pair_on(database_url, str(tmp_path_factory.mktemp("data")))():
        yield pair


@pytest.fixture
async def redis_pair(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Services, Services]]:
    """Two server processes of one deployment on Redis."""
    async for pair in _pair_on(
        database_url,
        str(tmp_path_factory.mktemp("data")),
        TOWNHALL_REDIS_URL=REDIS_URL,
        TOWNHALL_DEPLOYMENT_NAME=unique("holders"),
        TOWNHALL_CACHE="off",
    )():
        yield pair


@pytest.mark.parametrize("change", ["logout", "lockout"])
async def test_processes_that_cannot_hear_each_other_refuse_a_change_elsewhere_at_once(
    deaf_pair: tuple[Services, Services], change: str
) -> None:
    first, second = deaf_pair
    name, token = await _person_with_session(first)
    await second.auth.session(token, "console")
    remembered = second.auth._holders.get((_digest(token), "console")) is not None
    assert remembered == second.deps.db.stamps_changes  # SQLite: the stamp guards it
    if change == "logout":
        await first.auth.end_session(token, "console")  # `second` hears nothing of it
    else:
        actor = Principal.system(await first.tenants.first(), "tester")
        await first.people.set_locked(actor, name, True)
    with pytest.raises(Unauthenticated):  # at once, not after the 2 s memo
        await second.auth.session(token, "console")


async def _refused_soon(services: Services, token: str) -> None:
    """Refused within a second: the change's event, not the 2 s memo running out."""
    for _ in range(20):
        try:
            await services.auth.session(token, "console")
        except Unauthenticated:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the remembered session was still accepted after 1 s")


async def _remembered_elsewhere(first: Services, second: Services) -> tuple[str, str]:
    """A person's session made in `first` and remembered by `second`: (name, token)."""
    name, token = await _person_with_session(first)
    await asyncio.sleep(0.3)  # the creation's and the login's events reach `second` first
    assert (await second.auth.session(token, "console")).username == name
    assert second.auth._holders.get((_digest(token), "console")) is not None
    return name, token


async def test_on_redis_a_lockout_elsewhere_refuses_a_remembered_session_at_once(
    redis_pair: tuple[Services, Services],
) -> None:
    first, second = redis_pair
    name, token = await _remembered_elsewhere(first, second)
    actor = Principal.system(await first.tenants.first(), "tester")
    await first.people.set_locked(actor, name, True)
    await _refused_soon(second, token)


async def test_on_redis_a_logout_elsewhere_refuses_a_remembered_session_at_once(
    redis_pair: tuple[Services, Services],
) -> None:
    first, second = redis_pair
    _, token = await _remembered_elsewhere(first, second)
    await first.auth.end_session(token, "console")
    await _refused_soon(second, token)


def _digest(token: str) -> str:
    from townhall.services.auth import digest

    return digest(token)
