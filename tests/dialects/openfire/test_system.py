"""Openfire `/system`, `/clustering`, `/logs/security`, `/messages` and the OpenAPI docs."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from openfire_restapi import exceptions as ofx

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from townhall.domain.errors import Invalid, NotFound
from townhall.domain.events import DomainEvent
from townhall.domain.principal import Principal
from townhall.services.cluster import ClusterService
from townhall.services.container import Services
from townhall.store import audit
from townhall.store.database import open_database

JSON = {"Accept": "application/json"}
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def test_properties_with_official_client(client) -> None:  # type: ignore[no-untyped-def]
    key = unique("town.prop.")
    assert client.system.add_prop(key, "one") is True
    assert client.system.get_prop(key) == "one"
    assert client.system.get_props()[key] == "one"
    assert client.system.update_prop(key, "two") is True
    assert client.system.get_prop(key) == "two"
    assert client.system.delete_prop(key) is True
    with pytest.raises(ofx.PropertyNotFoundException):
        client.system.get_prop(key)
    with pytest.raises(ofx.PropertyNotFoundException):
        client.system.update_prop(key, "x")


def test_property_wire_and_secrets(server: RunningServer, http: requests.Session) -> None:
    key = unique("wire.")
    r = http.post(
        f"{server.api}/system/properties",
        data=f'<property key="{key}" value="a &amp; b"/>',
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 201
    r = http.get(f"{server.api}/system/properties/{key}")
    assert r.text.endswith(f'<property key="{key}" value="a &amp; b"/>')
    listed = http.get(f"{server.api}/system/properties", headers=JSON).json()["property"]
    keys = [p["key"] for p in listed]
    assert keys == sorted(keys) and {"key": key, "value": "a & b"} in listed
    assert {"key": "plugin.restapi.secret", "value": "********"} in listed
    r = http.put(
        f"{server.api}/system/properties/{key}", json={"key": "other", "value": "x"}, headers=JSON
    )
    assert r.status_code == 400
    assert r.json()["message"] == "Path property name and entity property name doesn't match"
    missing = unique("missing.")
    r = http.put(
        f"{server.api}/system/properties/{missing}",
        json={"key": "from-body", "value": "x"},
        headers=JSON,
    )
    assert r.status_code == 404 and r.json()["resource"] == "from-body"
    assert (
        http.get(f"{server.api}/system/properties/{key}", headers=JSON).json()["value"] == "a & b"
    )


def test_property_list_shapes_and_registered_keys(
    client: Any, server: RunningServer, http: requests.Session
) -> None:
    key = unique("Shape.")
    assert client.system.add_prop(key, "first") is True
    assert client.system.add_prop(key, "second") is True  # POST overwrites
    xml = http.get(f"{server.api}/system/properties").text
    assert xml.startswith(XML_HEAD + "<properties><property key=")
    assert f'<property key="{key}" value="second"/>' in xml
    # Registered but unset: listed without a value, yet a single GET does not find it.
    assert '<property key="plugin.restapi.allowedIPs"/>' in xml
    listed = http.get(f"{server.api}/system/properties", headers=JSON).json()
    assert {"key": "plugin.restapi.allowedIPs"} in listed["property"]
    assert client.system.get_props()["plugin.restapi.allowedIPs"] is None
    r = http.get(f"{server.api}/system/properties/plugin.restapi.allowedIPs", headers=JSON)
    assert (r.status_code, r.json()) == (
        404,
        {
            "resource": "plugin.restapi.allowedIPs",
            "message": "Could not find property",
            "exception": "PropertyNotFoundException",
        },
    )


def test_property_errors(client: Any, server: RunningServer, http: requests.Session) -> None:
    props = f"{server.api}/system/properties"
    missing = unique("gone.")
    r = http.delete(f"{props}/{missing}", headers=JSON)
    assert r.status_code == 404 and r.json()["message"] == "Could not find property"
    with pytest.raises(ofx.PropertyNotFoundException):
        client.system.delete_prop(missing)
    # A body without a key: 404 (no resource) for a missing property, else the mismatch.
    r = http.put(f"{props}/{missing}", json={"value": "x"}, headers=JSON)
    assert (r.status_code, r.json()) == (
        404,
        {"message": "Could not find property for update", "exception": "PropertyNotFoundException"},
    )
    key = unique("kept.")
    client.system.add_prop(key, "v")
    r = http.put(f"{props}/{key}", json={"value": "x"}, headers=JSON)
    assert r.status_code == 400
    assert r.json()["message"] == "Path property name and entity property name doesn't match"
    r = http.post(props, json={"value": "x"}, headers=JSON)
    assert r.status_code == 400 and r.json()["resource"] == "key"
    r = http.put(
        f"{props}/{key}",
        data=f'<property key="{key}" value="by xml"/>',
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 200 and "content-type" not in r.headers and r.content == b""
    assert client.system.get_prop(key) == "by xml"


async def test_writing_a_property_as_it_is_records_nothing(services: Services) -> None:
    actor = Principal.system(await services.tenants.first(), "tester")
    key = unique("same.")
    await services.properties.set(actor, key, "v")
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    async with services.deps.db.read() as tx:
        before = await audit.count(tx, actor.tenant_id)
    await services.properties.set(actor, key, "v")
    await services.properties.update(actor, key, "v")
    assert heard == []
    await services.properties.update(actor, key, None)
    await services.properties.set(actor, key, None)
    assert [(e.topic, e.subject) for e in heard] == [("property.set", key)]
    async with services.deps.db.read() as tx:
        assert await audit.count(tx, actor.tenant_id) == before + 1
    with pytest.raises(NotFound):
        await services.properties.update(actor, unique("gone."), "v")
    with pytest.raises(Invalid) as caught:
        await services.properties.set(actor, "", "v")
    assert (caught.value.field, caught.value.kind) == ("key", "property")


def test_secret_is_writable_never_readable(client: Any) -> None:
    assert client.system.get_prop("plugin.restapi.secret") == "********"
    assert client.system.get_props()["plugin.restapi.secret"] == "********"


def test_secret_mode_and_disabled_api(
    client: Any, server: RunningServer, http: requests.Session
) -> None:
    props = f"{server.api}/system/properties"
    secret = unique("s3cret")
    http.post(props, json={"key": "plugin.restapi.secret", "value": secret}, headers=JSON)
    http.post(props, json={"key": "plugin.restapi.httpAuth", "value": "secret"}, headers=JSON)
    try:
        assert http.get(f"{server.api}/users/admin", headers=JSON).status_code == 401
        r = requests.get(f"{server.api}/users/admin", headers={"Authorization": secret, **JSON})
        assert r.status_code == 200
        assert (
            requests.get(f"{server.api}/users/admin", headers={"Authorization": "x"}).status_code
            == 401
        )
        # And back to basic through the API itself: it applies at once.
        r = requests.put(
            f"{props}/plugin.restapi.httpAuth",
            json={"key": "plugin.restapi.httpAuth", "value": "basic"},
            headers={"Authorization": secret},
        )
        assert r.status_code == 200
        assert http.get(f"{server.api}/users/admin", headers=JSON).status_code == 200
        assert (
            requests.get(f"{server.api}/users/admin", headers={"Authorization": secret}).status_code
            == 401
        )
        # Turn the API off: everything but the health checks is a bare 403.
        assert client.system.add_prop("plugin.restapi.enabled", "false") is True
        r = http.get(f"{server.api}/users/admin", headers=JSON)
        assert r.status_code == 403 and r.content == b""
        assert "content-type" not in r.headers
        assert http.get(f"{server.api}/no/such/path").status_code == 403
        with pytest.raises(ofx.ImproperlyConfiguredException):
            client.system.get_props()
        assert requests.get(f"{server.api}/system/liveness").status_code == 200
        assert requests.get(f"{server.api}/system/readiness").status_code == 200
        assert client.system.check_readiness() is True
    finally:
        _restore(server)
    assert http.get(f"{server.api}/users/admin", headers=JSON).status_code == 200


def _restore(server: RunningServer) -> None:
    """Back to basic auth and enabled, from whatever state the test left."""
    from tests.conftest import reset_auth_properties

    reset_auth_properties(server)
    time.sleep(1.1)  # the server's auth-settings cache


def test_health_checks(client, server: RunningServer) -> None:  # type: ignore[no-untyped-def]
    assert client.system.check_liveness() is True
    assert client.system.check_deadlock_liveness() is True
    assert client.system.check_properties_liveness() is True
    assert client.system.check_readiness() is True
    assert client.system.check_server_readiness() is True
    assert client.system.check_cluster_readiness() is True
    assert client.system.check_plugins_readiness() is True
    assert client.system.check_connections_readiness("WEBADMIN", False) is True
    assert client.system.check_connections_readiness("SOCKET_C2S", True) is False
    r = requests.get(f"{server.api}/system/readiness/connections?connectionType=WEBADMIN")
    assert r.status_code == 400
    r = requests.get(
        f"{server.api}/system/readiness/connections?connectionType=NOPE&encrypted=true"
    )
    assert r.status_code == 400 and r.content == b""
    for path in ("liveness", "readiness", "readiness/connections", "liveness/properties/"):
        r = requests.get(f"{server.api}/system/{path}")
        assert (r.status_code, r.content) == (200, b"")
        assert "content-type" not in r.headers


async def test_readiness_fails_without_a_database(services: Services) -> None:
    dead = open_database("postgresql://postgres@127.0.0.1:1/none")
    try:
        cluster = ClusterService(dataclasses.replace(services.deps, db=dead))
        assert await cluster.database_answers() is False
    finally:
        await dead.dispose()
    assert await services.cluster.database_answers() is True


def test_session_statistics_shapes(
    client: Any, server: RunningServer, http: requests.Session
) -> None:
    counts = client.system.get_concurrent_sessions()
    assert set(counts) == {"localSessions", "clusterSessions"}
    xml = http.get(f"{server.api}/system/statistics/sessions").text
    assert xml.startswith(XML_HEAD + "<sessions><localSessions>")
    assert "</localSessions><clusterSessions>" in xml


def test_clustering_without_redis(client, server: RunningServer, http: requests.Session) -> None:  # type: ignore[no-untyped-def]
    assert client.clustering.get_status() == "Disabled"
    assert http.get(f"{server.api}/clustering/status", headers=JSON).json() == {
        "status": "Disabled"
    }
    assert http.get(f"{server.api}/clustering/nodes", headers=JSON).json() == {"clusterNodes": []}
    r = http.get(f"{server.api}/clustering/nodes/nope", headers=JSON)
    assert (r.status_code, r.json()) == (
        404,
        {
            "resource": "nope",
            "message": "Could not find a cluster node with this NodeID.",
            "exception": "ClusterNodeNotFoundException",
        },
    )
    assert client.clustering.get_nodes() == {}
    assert http.get(f"{server.api}/clustering/nodes").text.endswith("<clusterNodes/>")
    with pytest.raises(ofx.ClusterNodeNotFoundException):
        client.clustering.get_node("no-such-node")


def test_security_log_reads_the_audit_trail(
    client, server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    name = unique("audited")
    client.users.add_user(name, "password-1")
    logs = client.security.get_audit_logs(username="admin", limit=5)
    assert any(log["summary"] == f"user.created: {name}" for log in logs)
    assert all(log["username"] == "admin" for log in logs)
    newest = http.get(f"{server.api}/logs/security?limit=1", headers=JSON).json()["logs"]
    assert len(newest) == 1 and isinstance(newest[0]["timestamp"], int)
    future = int(time.time()) + 3600
    assert http.get(f"{server.api}/logs/security?startTime={future}", headers=JSON).json() == {
        "logs": []
    }
    for bad in ("limit=abc", "offset=1.5", "startTime=1e9", "limit=2147483648", "endTime=%201"):
        assert http.get(f"{server.api}/logs/security?{bad}").status_code == 404, bad
    far = "startTime=1&endTime=99999999999999&limit=99999999&offset=%2B0"
    r = http.get(f"{server.api}/logs/security?{far}", headers=JSON)
    assert r.status_code == 200 and r.json()["logs"]
    assert http.get(f"{server.api}/logs/security?startTime=99999999999999").status_code == 200
    window = http.get(
        f"{server.api}/logs/security?username=admin&startTime=1&endTime=0&limit=3", headers=JSON
    ).json()["logs"]
    ids = [log["logId"] for log in window]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    skipped = http.get(
        f"{server.api}/logs/security?username=admin&offset=1&limit=2", headers=JSON
    ).json()["logs"]
    assert [log["logId"] for log in skipped] == ids[1:]
    xml = http.get(f"{server.api}/logs/security?limit=1").text
    assert xml.startswith(XML_HEAD + "<logs><log><logId>")
    hour = timedelta(hours=1)
    assert client.security.get_audit_logs(start_time=datetime.now() + hour) == []
    assert client.security.get_audit_logs(end_time=datetime.now() - hour) == []
    [one] = client.security.get_audit_logs(start_time=datetime.now() - hour, limit=1)
    assert isinstance(one["timestamp"], datetime)


def test_broadcast_and_unread(client, server: RunningServer, http: requests.Session) -> None:  # type: ignore[no-untyped-def]
    text = unique("Maintenance at noon ")
    assert client.messages.send_broadcast(text) is True
    [logged] = http.get(f"{server.api}/logs/security?limit=1", headers=JSON).json()["logs"]
    assert (logged["summary"], logged["details"]) == ("message.broadcast: all users", text)
    for body in ({"body": ""}, {}, {"body": None}):
        r = http.post(f"{server.api}/messages/users", json=body, headers=JSON)
        assert r.json() == {
            "resource": "body",
            "message": "Message content/body is null or empty",
            "exception": "IllegalArgumentException",
        }
        assert r.status_code == 400
    r = http.post(
        f"{server.api}/messages/users",
        data="<message/>",
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 400 and "<exception>IllegalArgumentException</exception>" in r.text
    with pytest.raises(ofx.IllegalArgumentException):
        client.messages.send_broadcast("")
    r = http.post(
        f"{server.api}/messages/users",
        data="<message><body> </body></message>",
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 201  # whitespace is a body, as for the plugin
    assert client.messages.get_unread_messages("john@example.org") == 0
    r = http.get(f"{server.api}/archive/messages/unread/John@Example.org", headers=JSON)
    assert r.json() == {"jid": "John@Example.org", "count": 0}
    r = http.get(f"{server.api}/archive/messages/unread/a%40b.example")
    assert r.text == XML_HEAD + "<archive><jid>a@b.example</jid><count>0</count></archive>"


def test_openapi_documents(server: RunningServer, http: requests.Session) -> None:
    r = requests.get(f"{server.api}/openapi.yaml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/yaml")
    assert "/plugins/restapi/v1/users/{username}" in r.text
    assert requests.get(f"{server.api}/openapi.json").status_code == 401
    paths = http.get(f"{server.api}/openapi.json").json()["paths"]
    assert all(p.startswith("/plugins/restapi/v1") for p in paths)
    assert requests.get(f"{server.url}/docs").status_code == 200
    assert ADMIN_PASSWORD not in r.text
    assert "/plugins/restapi/v1/system/properties/{key}" in paths
    assert not any(p.startswith("/plugins/restapi/v1/openapi") for p in paths)


def test_an_empty_shared_secret_is_refused_naming_it(
    server: RunningServer, http: requests.Session
) -> None:
    props = f"{server.api}/system/properties"
    key = "plugin.restapi.secret"
    secret = unique("kept-secret")
    assert http.post(props, json={"key": key, "value": secret}, headers=JSON).status_code == 201
    for value in ("", "  ", None):
        made = http.post(props, json={"key": key, "value": value}, headers=JSON)
        assert made.status_code == 400, made.text
        assert made.json()["resource"] == key and key in made.json()["message"]
        changed = http.put(f"{props}/{key}", json={"key": key, "value": value}, headers=JSON)
        assert changed.status_code == 400 and changed.json()["resource"] == key
    service = f"{server.url}/plugins/restapi/v1/userservice"
    answer = requests.get(service, params={"secret": secret, "type": "grouplist"})
    assert answer.text.startswith("<result>")  # the secret stayed what it was
