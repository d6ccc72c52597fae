"""RMP WebSocket events: pushed on commit, to the same tenant only, across processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import RunningServer, start_server, stop_server, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, at, book, make_resource
from tests.helpers.symphony import make_bot, session_token
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
            "startTime": at(15, 8).replace("Z", "+00:00"),
            "endTime": at(16, 8).replace("Z", "+00:00"),
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
            "startTime": at(9, 9).replace("Z", "+00:00"),
            "endTime": at(9.25, 9).replace("Z", "+00:00"),
            "organizer": f"admin@{DOMAIN}",
            "status": "confirmed",
            "recurrence": "FREQ=DAILY;COUNT=3",
        }
