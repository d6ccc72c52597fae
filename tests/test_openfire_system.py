"""Openfire `/system`, `/clustering`, `/logs/security`, `/messages` and the OpenAPI docs."""

from __future__ import annotations

import time

import pytest
import requests
from openfire_restapi import exceptions as ofx

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique

JSON = {"Accept": "application/json"}


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


def test_secret_mode_and_disabled_api(server: RunningServer, http: requests.Session) -> None:
    props = f"{server.api}/system/properties"
    secret = unique("s3cret")
    http.post(props, json={"key": "plugin.restapi.secret", "value": secret}, headers=JSON)
    http.post(props, json={"key": "plugin.restapi.httpAuth", "value": "secret"}, headers=JSON)
    try:
        assert http.get(f"{server.api}/users/admin", headers=JSON).status_code == 401
        r = requests.get(f"{server.api}/users/admin", headers={"Authorization": secret, **JSON})
        assert r.status_code == 200
        # Turn the API off: everything but the health checks is a bare 403.
        requests.post(
            props,
            json={"key": "plugin.restapi.enabled", "value": "false"},
            headers={"Authorization": secret, **JSON},
        )
        r = requests.get(f"{server.api}/users/admin", headers={"Authorization": secret})
        assert r.status_code == 403 and r.content == b""
        assert requests.get(f"{server.api}/system/liveness").status_code == 200
        assert requests.get(f"{server.api}/system/readiness").status_code == 200
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
    assert r.status_code == 400


def test_clustering_without_redis(client, server: RunningServer, http: requests.Session) -> None:  # type: ignore[no-untyped-def]
    assert client.clustering.get_status() == "Disabled"
    assert client.clustering.get_nodes() == {}
    assert http.get(f"{server.api}/clustering/nodes").text.endswith("<clusterNodes/>")
    with pytest.raises(ofx.ClusterNodeNotFoundException):
        client.clustering.get_node("no-such-node")


def test_security_log_reads_the_audit_trail(
    client, server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    name = unique("audited")
    client.users.add_user(name, "pw")
    logs = client.security.get_audit_logs(username="admin", limit=5)
    assert any(log["summary"] == f"user.created: {name}" for log in logs)
    assert all(log["username"] == "admin" for log in logs)
    newest = http.get(f"{server.api}/logs/security?limit=1", headers=JSON).json()["logs"]
    assert len(newest) == 1 and isinstance(newest[0]["timestamp"], int)
    future = int(time.time()) + 3600
    assert http.get(f"{server.api}/logs/security?startTime={future}", headers=JSON).json() == {
        "logs": []
    }
    assert http.get(f"{server.api}/logs/security?limit=abc").status_code == 404


def test_broadcast_and_unread(client, server: RunningServer, http: requests.Session) -> None:  # type: ignore[no-untyped-def]
    assert client.messages.send_broadcast("Maintenance at noon") is True
    r = http.post(f"{server.api}/messages/users", json={"body": ""}, headers=JSON)
    assert r.status_code == 400 and r.json()["message"] == "Message content/body is null or empty"
    assert client.messages.get_unread_messages("john@example.org") == 0
    r = http.get(f"{server.api}/archive/messages/unread/John@Example.org", headers=JSON)
    assert r.json() == {"jid": "John@Example.org", "count": 0}


def test_openapi_documents(server: RunningServer, http: requests.Session) -> None:
    r = requests.get(f"{server.api}/openapi.yaml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/yaml")
    assert "/plugins/restapi/v1/users/{username}" in r.text
    assert requests.get(f"{server.api}/openapi.json").status_code == 401
    paths = http.get(f"{server.api}/openapi.json").json()["paths"]
    assert all(p.startswith("/plugins/restapi/v1") for p in paths)
    assert requests.get(f"{server.url}/docs").status_code == 200
    assert ADMIN_PASSWORD not in r.text
