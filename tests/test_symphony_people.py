"""Symphony connections and presence."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import RunningServer
from tests.symphony import Bot, make_bot, session_token
from townhall.domain.principal import Principal
from townhall.services.presence import NewLiveConnection

JSON = {"Accept": "application/json"}


async def test_connections_are_implicit_in_one_pod(
    bdk: Any, admin_bot: Bot, services: Any, http: requests.Session, server: RunningServer
) -> None:
    from symphony.bdk.core.service.connection.model.connection_status import ConnectionStatus

    other = await make_bot(services, frozenset({"INDIVIDUAL"}))
    created = await bdk.connections().create_connection(other.uid)
    assert (created.user_id, created.status) == (other.uid, "ACCEPTED")
    info = await bdk.connections().get_connection(other.uid)
    assert info.status == "ACCEPTED"
    listed = await bdk.connections().list_connections(ConnectionStatus.ALL, [other.uid])
    assert [(c.user_id, c.status) for c in listed] == [(other.uid, "ACCEPTED")]
    assert await bdk.connections().list_connections(ConnectionStatus.PENDING_INCOMING) == []
    # The accepted connection is a two-way roster entry on the Openfire side.
    roster = http.get(f"{server.api}/users/{admin_bot.username}/roster", headers=JSON).json()
    assert {"jid": f"{other.username}@example.org", "subscriptionType": 3, "groups": []} in roster[
        "rosterItem"
    ]
    headers = {"sessionToken": session_token(server, admin_bot)}
    r = requests.post(
        f"{server.url}/pod/v1/connection/reject", json={"userId": other.uid}, headers=headers
    )
    assert r.status_code == 400
    r = requests.get(f"{server.url}/pod/v1/connection/user/987654321/info", headers=headers)
    assert r.status_code == 404
    r = requests.get(f"{server.url}/pod/v1/connection/list?status=nonsense", headers=headers)
    assert r.status_code == 400


async def test_presence(bdk: Any, admin_bot: Bot, services: Any, server: RunningServer) -> None:
    from symphony.bdk.core.service.presence.presence_service import PresenceStatus

    other = await make_bot(services, frozenset({"INDIVIDUAL"}))
    assert (await bdk.presence().get_user_presence(other.uid, True)).category == "OFFLINE"
    actor = Principal(await services.tenants.first(), "xmpp")
    connection_id = await services.presence.register(
        actor, NewLiveConnection(other.username, "laptop")
    )
    assert (await bdk.presence().get_user_presence(other.uid, True)).category == "AVAILABLE"
    await services.presence.unregister(actor, connection_id)
    mine = await bdk.presence().set_presence(PresenceStatus.BUSY, True)
    assert (mine.category, mine.user_id) == ("BUSY", admin_bot.uid)
    assert (await bdk.presence().get_presence()).category == "BUSY"
    everyone = await bdk.presence().get_all_presence(0, 5000)
    assert {p.user_id: p.category for p in everyone}[admin_bot.uid] == "BUSY"
    headers = {"sessionToken": session_token(server, admin_bot)}
    r = requests.get(f"{server.url}/pod/v1/user/{admin_bot.uid}/presence", headers=headers)
    assert r.json() == {"category": "BUSY"}
    r = requests.post(
        f"{server.url}/pod/v2/user/presence", json={"category": "DANCING"}, headers=headers
    )
    assert r.status_code == 400
    assert (
        requests.get(f"{server.url}/pod/v3/user/987654321/presence", headers=headers).status_code
        == 404
    )

