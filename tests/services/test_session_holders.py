"""Who holds a session is remembered only where every process hears every change: a
lockout or a logout refuses a remembered session at once, and processes that cannot
hear each other (several workers, no Redis) read the session's row on every request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.conftest import ADMIN_PASSWORD, unique
from townhall.domain.errors import Unauthenticated
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson


async def _person_with_session(services: Services) -> tuple[str, str]:
    tenant = await services.tenants.first()
    name = unique("holder")
    await services.people.create(Principal.system(tenant, "tester"), NewPerson(name, "pw-123456"))
    who = await services.auth.password(tenant, name, "pw-123456")
    return name, await services.auth.start_session(who, "console")


async def test_a_lockout_refuses_a_remembered_session_at_once(services: Services) -> None:
    name, token = await _person_with_session(services)
    assert (await services.auth.session(token, "console")).username == name
    assert (await services.auth.session(token, "console")).username == name  # remembered
    actor = Principal.system(await services.tenants.first(), "tester")
    await services.people.set_locked(actor, name, True)
    with pytest.raises(Unauthenticated):
        await services.auth.session(token, "console")


async def test_a_logout_refuses_a_remembered_session_at_once(services: Services) -> None:
    _, token = await _person_with_session(services)
    await services.auth.session(token, "console")
    await services.auth.end_session(token, "console")
    with pytest.raises(Unauthenticated):
        await services.auth.session(token, "console")


@pytest.fixture
async def deaf_pair(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Services, Services]]:
    """Two workers of one deployment without Redis: neither hears the other's events."""
    from townhall.config import load_settings
    from townhall.store.migrate import upgrade

    settings = load_settings(
        {
            "TOWNHALL_DATABASE_URL": database_url,
            "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "TOWNHALL_DOMAIN": "example.org",
            "TOWNHALL_ARGON2_TIME_COST": "1",
            "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
            "TOWNHALL_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "TOWNHALL_WORKERS": "2",
            "TOWNHALL_DB_MAX_CONNECTIONS": "8",
        }
    )
    await asyncio.to_thread(upgrade, database_url)
    pair = (Services.build(settings), Services.build(settings))
    yield pair
    for built in pair:
        await built.close()


async def test_workers_that_cannot_hear_each_other_read_the_row_every_time(
    services: Services, deaf_pair: tuple[Services, Services]
) -> None:
    first, second = deaf_pair
    assert not first.deps.events.reaches_every_process
    _, token = await _person_with_session(services)
    await second.auth.session(token, "console")
    await first.auth.end_session(token, "console")  # `second` hears nothing of it
    with pytest.raises(Unauthenticated):
        await second.auth.session(token, "console")
