"""Symphony connections and presence."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import RunningServer
from tests.helpers.symphony import Bot, make_bot, session_token
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.presence import NewLiveConnection
from townhall.store import audit

JSON = {"Accept": "application/json"}


async def test_connections_are_implicit_in_one_pod(
    bdk: Any, admin_bot: Bot, services: Services, http: requests.Session, server: RunningServer
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


async def test_presence(
    bdk: Any, admin_bot: Bot, services: Services, server: RunningServer
) -> None:
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


def _contacts(server: RunningServer, http: requests.Session, owner: str) -> dict[str, Any]:
    """The owner's Openfire roster by contact JID."""
    found = http.get(f"{server.api}/users/{owner}/roster", headers=JSON).json()["rosterItem"]
    return {item["jid"]: item for item in found}


async def test_a_connection_is_a_pair_of_contacts(
    bdk: Any, admin_bot: Bot, services: Services, http: requests.Session, server: RunningServer
) -> None:
    """Connecting through Symphony writes both people's roster entries, as Openfire sees
    them; removing one through Openfire takes back, on the other's entry, what it
    mirrored (XMPP's unsubscribe), while the pod's implicit connection stands."""
    other = await make_bot(services, frozenset({"INDIVIDUAL"}))
    me, them = f"{admin_bot.username}@example.org", f"{other.username}@example.org"
    r = http.post(
        f"{server.api}/users/{other.username}/roster",
        json={"jid": me, "nickname": "Boss", "groups": ["Work"]},
        headers=JSON,
    )
    assert r.status_code == 201
    await bdk.connections().create_connection(other.uid)
    assert _contacts(server, http, admin_bot.username)[them] == {
        "jid": them,
        "subscriptionType": 3,
        "groups": [],
    }
    # An entry already there keeps its nickname and groups and becomes two-way.
    assert _contacts(server, http, other.username)[me] == {
        "jid": me,
        "nickname": "Boss",
        "subscriptionType": 3,
        "groups": ["Work"],
    }
    r = http.delete(f"{server.api}/users/{admin_bot.username}/roster/{them}")
    assert r.status_code == 200
    assert them not in _contacts(server, http, admin_bot.username)
    assert _contacts(server, http, other.username)[me]["subscriptionType"] == 0
    assert (await bdk.connections().get_connection(other.uid)).status == "ACCEPTED"
    # Accepting again makes both entries two-way again.
    await bdk.connections().accept_connection(other.uid)
    assert _contacts(server, http, admin_bot.username)[them]["subscriptionType"] == 3
    assert _contacts(server, http, other.username)[me]["subscriptionType"] == 3
    # Removing a one-way ("to") entry takes only the mirrored "from" off the other side.
    r = http.put(
        f"{server.api}/users/{admin_bot.username}/roster/{them}",
        json={"subscriptionType": 1},
        headers=JSON,
    )
    assert r.status_code == 200
    assert http.delete(f"{server.api}/users/{admin_bot.username}/roster/{them}").ok
    assert _contacts(server, http, other.username)[me]["subscriptionType"] == 1


async def _audit_rows(services: Services, actor: Principal) -> int:
    async with services.deps.db.read() as tx:
        return int(await audit.count(tx, actor.tenant_id))


async def test_changes_that_change_nothing_record_nothing(services: Services) -> None:
    tenant = await services.tenants.first()
    one = await make_bot(services, frozenset({"INDIVIDUAL"}))
    two = await make_bot(services, frozenset({"INDIVIDUAL"}))
    caller = Principal(tenant, one.username, one.uid)
    await services.presence.choose(caller, "BUSY")
    await services.contacts.connect(caller, two.uid)
    before = await _audit_rows(services, caller)
    assert (await services.presence.choose(caller, "busy")).category == "BUSY"
    await services.contacts.connect(caller, two.uid)
    await services.contacts.update(caller, one.username, f"{two.username}@example.org", None, 3)
    await services.presence.close_connections(caller, one.username)
    await services.presence.close_connections(caller, "nobody-at-all")
    await services.presence.unregister(caller, 987654321)
    assert await _audit_rows(services, caller) == before
    await services.presence.choose(caller, "AWAY")
    assert await _audit_rows(services, caller) == before + 1


def test_the_presence_page_refuses_an_empty_list(server: RunningServer, admin_bot: Bot) -> None:
    """`lastUserId` and `limit` are one integer each: a value with none (`,`) is a 400
    naming it, not a failure indexing an empty list (found by the contract fuzz)."""
    headers = {"sessionToken": session_token(server, admin_bot)}
    for query in ("lastUserId=,", "limit=,", "lastUserId=1,2", "limit= "):
        r = requests.get(f"{server.url}/pod/v2/users/presence?{query}", headers=headers)
        assert r.status_code == 400, (query, r.text)
        assert query.split("=")[0] in r.json()["message"]
