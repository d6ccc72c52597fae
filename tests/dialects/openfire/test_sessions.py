"""Openfire `/sessions` and session statistics over the live-connection registry."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import RunningServer, unique
from townhall.domain.errors import Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.presence import NewLiveConnection

JSON = {"Accept": "application/json"}


async def test_registry_as_openfire_sees_it(
    services: Services, client: Any, server: RunningServer, http: requests.Session
) -> None:
    name = unique("online")
    client.users.add_user(name, "password-1")
    actor = Principal(await services.tenants.first(), "xmpp")
    assert client.sessions.get_user_sessions(name) == []
    await services.presence.register(
        actor,
        NewLiveConnection(
            name,
            "phone",
            host_address="192.0.2.7",
            secure=True,
            presence_show="away",
            presence_message="lunch",
            priority=5,
        ),
    )
    [session] = client.sessions.get_user_sessions(name)
    assert session in client.sessions.get_sessions()
    assert session["sessionId"] == f"{name}@example.org/phone"
    assert (session["presenceStatus"], session["presenceMessage"]) == ("Away", "lunch")
    assert (session["priority"], session["secure"], session["sessionStatus"]) == (
        5,
        True,
        "Authenticated",
    )
    assert session["node"] == "Remote"  # registered by another process than the server's
    raw = http.get(f"{server.api}/sessions/{name}", headers=JSON).json()["sessions"][0]
    assert isinstance(raw["creationDate"], int) and raw["creationDate"] > 1_600_000_000_000
    counts = client.system.get_concurrent_sessions()
    assert counts["clusterSessions"] >= 1 and counts["localSessions"] == 0
    assert client.sessions.close_user_sessions(name) is True
    assert client.sessions.get_user_sessions(name) == []


def test_empty_registry_answers(server: RunningServer, http: requests.Session, client: Any) -> None:
    assert client.sessions.get_user_sessions(unique("nobody")) == []
    assert client.sessions.close_user_sessions(unique("nobody")) is True
    ghost = unique("ghost")
    assert http.get(f"{server.api}/sessions/{ghost}").text.endswith("<sessions/>")


async def test_lockout_closes_sessions(services: Services, client: Any) -> None:
    name = unique("kicked")
    client.users.add_user(name, "password-1")
    actor = Principal(await services.tenants.first(), "xmpp")
    await services.presence.register(actor, NewLiveConnection(name, "desk"))
    client.users.lock_user(name)
    assert client.sessions.get_user_sessions(name) == []


async def test_session_wire_shapes_and_unregister(
    services: Services, server: RunningServer, http: requests.Session, client: Any
) -> None:
    name = unique("shaped")
    client.users.add_user(name, "password-1")
    actor = Principal(await services.tenants.first(), "xmpp")
    first = await services.presence.register(actor, NewLiveConnection(name, "r1"))
    await services.presence.register(actor, NewLiveConnection(name, "r2", host_name="pc.example"))
    xml = http.get(f"{server.api}/sessions/{name}").text
    assert xml.startswith(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sessions><session>'
        f"<sessionId>{name}@example.org/r1</sessionId><username>{name}</username>"
        "<resource>r1</resource><node>Remote</node><sessionStatus>Authenticated"
        "</sessionStatus><presenceStatus>Online</presenceStatus><priority>0</priority>"
        "<creationDate>"
    )
    assert "<presenceMessage>" not in xml and "<hostAddress>" not in xml
    assert "</priority><hostName>pc.example</hostName><creationDate>" in xml
    assert "</lastActionDate><secure>false</secure></session>" in xml
    await services.presence.unregister(actor, first)
    await services.presence.unregister(actor, first)  # already gone: fine
    assert [s["resource"] for s in client.sessions.get_user_sessions(name)] == ["r2"]
    assert client.sessions.close_user_sessions(name.upper()) is True
    assert http.get(f"{server.api}/sessions/{name}", headers=JSON).json() == {"sessions": []}


async def test_presence_words(services: Services, client: Any) -> None:
    name = unique("present")
    client.users.add_user(name, "password-1")
    actor = Principal(await services.tenants.first(), "xmpp")
    shows = {None: "Online", "away": "Away", "chat": "Available to Chat"}
    shows |= {"dnd": "Do Not Disturb", "xa": "Extended Away"}
    for show in shows:
        await services.presence.register(
            actor, NewLiveConnection(name, str(show), presence_show=show)
        )
    found = client.sessions.get_user_sessions(name)
    assert {s["resource"]: s["presenceStatus"] for s in found} == {
        str(show): word for show, word in shows.items()
    }
    with pytest.raises(Invalid):
        await services.presence.register(
            actor, NewLiveConnection(name, "odd", presence_show="busy")
        )
    with pytest.raises(NotFound):
        await services.presence.register(actor, NewLiveConnection(unique("nouser"), "r"))
    client.sessions.close_user_sessions(name)
