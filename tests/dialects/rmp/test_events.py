"""RMP WebSocket events: pushed on commit, to the same tenant only, across processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, at, book, make_resource, person
from tests.helpers.symphony import make_bot, session_token
from townhall.config import Settings
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson
from townhall.store import tenants as tenant_store

REDIS_URL = "redis://127.0.0.1:6379/0"


def ws_url(server: RunningServer, token: str | None = None) -> str:
    base = server.url.replace("http://", "ws://") + "/api/v2/events"
    return f"{base}?token={token}" if token else base


def bearer(rmp: Rmp) -> str:
    return str(rmp.headers["Authorization"]).removeprefix("Bearer ")


async def next_of(ws: Any, topic: str, timeout: float = 10) -> dict[str, Any]:
    """The next message of `topic`, skipping others (e.g. `connected`)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.receive_json()
            if message["type"] == topic:
                return message  # type: ignore[no-any-return]


async def test_a_booking_is_pushed_with_its_data(server: RunningServer) -> None:
    rmp = admin(server)
    resource = make_resource(rmp)
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server, bearer(rmp))) as ws:
        hello = await ws.receive_json()
        assert hello["type"] == "connected"
        made = await asyncio.to_thread(book, rmp, resource, at(15, 6), at(16, 6))
        pushed = await next_of(ws, "booking.created")
        assert pushed["data"]["id"] == made.json()["booking"]["id"]
        assert pushed["data"]["resourceId"] == resource and pushed["at"].endswith("Z")
        shown = made.json()["booking"]  # times as REST shows them: UTC with Z
        assert (pushed["data"]["startTime"], pushed["data"]["endTime"]) == (
            shown["startTime"],
            shown["endTime"],
        )
        assert pushed["data"]["startTime"].endswith("Z")


async def test_token_as_first_message_and_bad_tokens(server: RunningServer) -> None:
    rmp = admin(server)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url(server)) as ws:
            await ws.send_json({"token": bearer(rmp)})
            assert (await ws.receive_json())["type"] == "connected"
        async with http.ws_connect(ws_url(server, "not-a-token")) as ws:
            refused = await ws.receive_json()
            assert refused["type"] == "error" and refused["data"]["code"] == "UNAUTHORIZED"
            closing = await ws.receive()
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 4401


async def test_another_tenant_hears_nothing(server: RunningServer, services: Services) -> None:
    domain = f"{unique('other')}.test"
    async with services.deps.db.write() as tx:
        tenant = await tenant_store.create_tenant(tx, domain, domain, services.deps.clock.now())
    owner = NewPerson("owner", "owner-password", name="Owner")
    await services.people.create(Principal.system(tenant), owner)
    outsider = await asyncio.to_thread(Rmp(server).login, f"owner@{domain}", "owner-password")
    rmp = admin(server)
    resource = make_resource(rmp)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url(server, bearer(outsider))) as theirs,
        http.ws_connect(ws_url(server, bearer(rmp))) as ours,
    ):
        await next_of(theirs, "connected")
        await next_of(ours, "connected")
        await asyncio.to_thread(book, rmp, resource, at(17, 6), at(18, 6))
        await next_of(ours, "booking.created")
        with pytest.raises(TimeoutError):
            await next_of(theirs, "booking.created", timeout=1)


async def test_presence_set_through_symphony_is_pushed(
    server: RunningServer, services: Services
) -> None:
    bot = await make_bot(services, frozenset({"INDIVIDUAL"}))
    token = await asyncio.to_thread(session_token, server, bot)
    rmp = admin(server)
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server, bearer(rmp))) as ws:
        await next_of(ws, "connected")
        chosen = await http.post(
            f"{server.url}/pod/v2/user/presence",
            json={"category": "IN_A_MEETING"},
            headers={"sessionToken": token},
        )
        assert chosen.status == 200
        pushed = await next_of(ws, "presence.changed")
        assert pushed["data"] == {"user": f"{bot.username}@example.org", "category": "IN_A_MEETING"}


@pytest.fixture
def second_process(server: RunningServer) -> Iterator[tuple[RunningServer, RunningServer]]:
    if server.database_url.startswith("sqlite"):
        pytest.skip("several processes with Redis fan-out is the PostgreSQL deployment")
    both = [
        start_server(
            server.database_url, server.log.with_name(f"ws{n}.log"), TOWNHALL_REDIS_URL=REDIS_URL
        )
        for n in range(2)
    ]
    try:
        yield both[0], both[1]
    finally:
        for running in both:
            stop_server(running)


async def test_events_cross_processes_through_redis(
    second_process: tuple[RunningServer, RunningServer],
) -> None:
    listening, booking = second_process
    rmp = admin(booking)
    resource = make_resource(rmp)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url(listening, bearer(rmp))) as ws,
    ):
        await next_of(ws, "connected")
        made = await asyncio.to_thread(book, rmp, resource, at(9, 7), at(10, 7))
        pushed = await next_of(ws, "booking.created")
        assert pushed["data"]["id"] == made.json()["booking"]["id"]


async def test_another_deployment_on_the_same_redis_hears_nothing(
    second_process: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    """A deployment with its own database shares our Redis: its booking is published
    before our second process's, so if it crossed over, our socket would hear it first
    (Redis delivers one connection's messages in the order they were published)."""
    listening, ours = second_process
    where = tmp_path / "elsewhere"
    where.mkdir()
    theirs = start_server(
        f"sqlite:///{where / 'townhall.db'}", where / "server.log", TOWNHALL_REDIS_URL=REDIS_URL
    )
    try:
        other, rmp = admin(theirs), admin(ours)
        their_resource, our_resource = make_resource(other), make_resource(rmp)
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(ws_url(listening, bearer(admin(listening)))) as ws,
        ):
            await next_of(ws, "connected")
            made = await asyncio.to_thread(book, other, their_resource, at(9, 13), at(10, 13))
            assert made.status_code == 201, made.text
            made = await asyncio.to_thread(book, rmp, our_resource, at(9, 13), at(10, 13))
            mine = made.json()["booking"]["id"]
            assert await own_next(ws, "booking.created", mine) == [mine]
    finally:
        stop_server(theirs)


def test_the_deployment_is_named_by_its_database_unless_set() -> None:
    one, same = Settings(database_url="sqlite:///a.db"), Settings(database_url="sqlite:///a.db")
    assert one.deployment_name == same.deployment_name
    assert one.deployment_name != Settings(database_url="sqlite:///b.db").deployment_name
    assert "a.db" not in one.deployment_name  # a digest, not the URL (it may hold a password)
    named = Settings(database_url="sqlite:///a.db", deployment_name="blue")
    assert named.deployment_name == "blue"


async def test_bulk_creation_pushes_one_event_per_resource(server: RunningServer) -> None:
    rmp = admin(server)
    kind = make_resource(rmp).partition("@")[2].partition(".")[0]
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server, bearer(rmp))) as ws:
        assert (await ws.receive_json())["type"] == "connected"
        bulk = {"pattern": "Pushed {n}", "startNumber": 1, "count": 2, "type": kind, "capacity": 3}
        made = await asyncio.to_thread(rmp.post, "/admin/resources/bulk", json=bulk)
        assert made.status_code == 201, made.text
        pushed = [(await next_of(ws, "resource.created"))["data"]["id"] for _ in range(2)]
        assert pushed == made.json()["resources"]


async def test_messages_carry_rmp_bodies(server: RunningServer) -> None:
    """Services publish domain data; the socket renders RMP's keys, as before."""
    rmp = admin(server)
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server, bearer(rmp))) as ws:
        await next_of(ws, "connected")
        resource = await asyncio.to_thread(make_resource, rmp)
        domain = resource.partition("@")[2]
        pushed = await next_of(ws, "resource.created")
        assert pushed["data"] == {"id": resource, "domain": domain}
        made = await asyncio.to_thread(book, rmp, resource, at(15, 8), at(16, 8))
        booking = made.json()["booking"]
        pushed = await next_of(ws, "booking.created")
        assert pushed["data"] == {
            "id": booking["id"],
            "resourceId": resource,
            "domain": domain,
            "title": "Team Meeting",
            "startTime": at(15, 8),
            "endTime": at(16, 8),
            "status": "confirmed",
            "organizer": f"admin@{DOMAIN}",
        }
        series = {
            "title": "Stand-up",
            "startTime": at(9, 9),
            "endTime": at(9.25, 9),
            "recurrence": "FREQ=DAILY;COUNT=3",
            "sendInvitations": False,
        }
        created = await asyncio.to_thread(rmp.post, "/calendars/Calendar/events", json=series)
        assert created.status_code == 201, created.text
        pushed = await next_of(ws, "event.created")
        assert pushed["data"] == {
            "id": created.json()["event"]["id"],
            "calendar": "Calendar",
            "domain": DOMAIN,
            "title": "Stand-up",
            "startTime": at(9, 9),
            "endTime": at(9.25, 9),
            "organizer": f"admin@{DOMAIN}",
            "status": "confirmed",
            "recurrence": "FREQ=DAILY;COUNT=3",
        }


# -- who hears what, and for how long -----------------------------------------------------

EVENT = {"title": "Private", "sendInvitations": False}


async def own_next(ws: Any, topic: str, own: str) -> list[str]:
    """The ids of `topic` messages up to and including the one with id `own`: the socket
    hears events in the order they happen, so whatever it heard before its own was
    published before it."""
    heard = []
    while True:
        pushed = await next_of(ws, topic)
        heard.append(pushed["data"]["id"])
        if pushed["data"]["id"] == own:
            return heard


async def closed_with(ws: Any) -> tuple[int | None, str]:
    """The close code and reason the server ended the socket with (messages before the
    close are skipped); a bound guards against a socket that is never closed."""
    async with asyncio.timeout(30):
        while True:
            message = await ws.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return ws.close_code, str(message.extra or "")


async def test_a_plain_user_hears_only_bookings_rest_shows_them(server: RunningServer) -> None:
    rmp = admin(server)
    resource = make_resource(rmp)
    (alice, _), (bob, _) = person(server), person(server)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url(server, bearer(alice))) as theirs,
        http.ws_connect(ws_url(server, bearer(rmp))) as admins,
    ):
        await next_of(theirs, "connected")
        await next_of(admins, "connected")
        bobs = (await asyncio.to_thread(book, bob, resource, at(9, 11), at(10, 11))).json()
        assert (
            await asyncio.to_thread(alice.get, f"/bookings/{bobs['booking']['id']}")
        ).status_code == 404
        alices = (await asyncio.to_thread(book, alice, resource, at(11, 11), at(12, 11))).json()
        mine = alices["booking"]["id"]
        assert await own_next(theirs, "booking.created", mine) == [mine]
        assert await own_next(admins, "booking.created", mine) == [bobs["booking"]["id"], mine]


async def test_a_plain_user_hears_only_calendar_events_rest_shows_them(
    server: RunningServer, services: Services
) -> None:
    (alice, alice_address), (bob, bob_address) = person(server), person(server)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url(server, bearer(alice))) as theirs,
    ):
        await next_of(theirs, "connected")
        times = {"startTime": at(9, 12), "endTime": at(10, 12)}
        bobs = await asyncio.to_thread(
            bob.post, "/calendars/Calendar/events", json={**EVENT, **times}
        )
        assert bobs.status_code == 201, bobs.text
        hidden = bobs.json()["event"]["id"]
        assert (
            await asyncio.to_thread(alice.get, f"/calendars/Calendar/events/{hidden}")
        ).status_code == 404
        # Bob shares a calendar with Alice: from then on she reads it, and hears of it.
        tenant = await services.tenants.first()
        assert tenant is not None
        owner = Principal.system(tenant)
        bob_user = bob_address.partition("@")[0]
        await services.calendars.create_calendar(owner, "Team", owner=bob_user)
        await services.calendars.share(
            owner, "Team", alice_address.partition("@")[0], "read-only", owner=bob_user
        )
        shared = await asyncio.to_thread(
            bob.post, "/calendars/Team/events", json={**EVENT, **times}
        )
        assert shared.status_code == 201, shared.text
        seen = shared.json()["event"]["id"]
        assert (
            await asyncio.to_thread(alice.get, f"/calendars/Team/events/{seen}")
        ).status_code == 200
        assert await own_next(theirs, "event.created", seen) == [seen]


async def test_logout_closes_the_socket(server: RunningServer) -> None:
    alice, _ = person(server)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url(server, bearer(alice))) as ws,
    ):
        await next_of(ws, "connected")
        assert (await asyncio.to_thread(alice.post, "/auth/logout")).status_code == 200
        code, reason = await closed_with(ws)
        assert code == 4001 and reason


async def test_a_lockout_closes_the_socket(server: RunningServer) -> None:
    alice, address = person(server)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url(server, bearer(alice))) as ws,
    ):
        await next_of(ws, "connected")
        username = address.partition("@")[0]
        locked = await asyncio.to_thread(
            requests.post, f"{server.api}/lockouts/{username}", auth=("admin", ADMIN_PASSWORD)
        )
        assert locked.status_code == 201, locked.text
        code, reason = await closed_with(ws)
        assert code == 4001 and reason, server.log.read_text()[-4000:]  # once seen: 1006


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose access tokens live 3 s and whose sockets wait 1 s for a token."""
    where = tmp_path_factory.mktemp("short")
    running = start_server(
        f"sqlite:///{where / 'townhall.db'}",
        where / "server.log",
        TOWNHALL_ACCESS_TOKEN_TTL_SECONDS="3",
        TOWNHALL_EVENTS_AUTH_TIMEOUT_SECONDS="1",
    )
    yield running
    stop_server(running)


async def test_an_expired_token_closes_the_socket(short_lived: RunningServer) -> None:
    rmp = admin(short_lived)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url(short_lived, bearer(rmp))) as ws,
    ):
        await next_of(ws, "connected")
        code, reason = await closed_with(ws)
        assert code == 4002 and "expired" in reason
    refused = await asyncio.to_thread(rmp.get, "/auth/admin")
    assert refused.status_code == 401  # REST refuses the token too


async def test_a_socket_without_a_token_is_closed(short_lived: RunningServer) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(short_lived)) as ws:
        code, reason = await closed_with(ws)
        assert code == 4008 and reason


async def test_a_holder_told_to_change_their_password_gets_no_socket(
    server: RunningServer,
) -> None:
    _, email = person(server)
    reset = admin(server).post(
        f"/users/{email}/password", json={"newPassword": "temporary-pw", "requireChange": True}
    )
    assert reset.status_code == 200, reset.text
    told = Rmp(server).login(email, "temporary-pw")
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server)) as ws:
        await ws.send_json({"token": bearer(told)})
        refusal = await ws.receive_json(timeout=10)
        assert refusal["data"]["code"] == "PASSWORD_CHANGE_REQUIRED"
        code, reason = await closed_with(ws)
        assert code == 4403 and "password" in reason
