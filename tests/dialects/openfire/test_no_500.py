"""Openfire: input no handler was written for is a 4xx in the plugin's error body, never
a 500; a refused oversized body closes its connection; the IP allow-list believes a
forwarding header only from a configured proxy; a stored vCard is always well formed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.helpers.databases import backend_of, fresh_database

JSON = {"Accept": "application/json"}
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000
DEEP_ARRAY = b"[" * 1000 + b"]" * 1000


def _log_after(server: RunningServer, mark: int) -> str:
    return server.log.read_bytes()[mark:].decode(errors="replace")


def _refused(answer: requests.Response, status: int, resource: str) -> None:
    assert answer.status_code == status, (answer.url, answer.status_code, answer.text)
    body = answer.json()
    assert body["exception"] and body["message"], body
    assert body.get("resource") == resource, body


def test_deeply_nested_bodies_are_refused_naming_the_body(
    server: RunningServer, http: requests.Session
) -> None:
    mark = server.log.stat().st_size
    headers = {**JSON, "Content-Type": "application/json"}
    for path in ("/users", "/chatrooms", "/groups", "/system/properties", "/messages/users"):
        for deep in (DEEP_OBJECT, DEEP_ARRAY):
            _refused(http.post(f"{server.api}{path}", data=deep, headers=headers), 400, "body")
    log = _log_after(server, mark)
    assert "Traceback" not in log and "RecursionError" not in log, log[-2000:]


def test_dates_beyond_what_a_date_holds_are_refused_by_name(
    server: RunningServer, http: requests.Session
) -> None:
    mark = server.log.stat().st_size
    headers = {**JSON, "Content-Type": "application/json"}
    for date in ("1e300", '"99999999999999999999"', '"0001-01-01T00:00:00+14:00"'):
        room = f'{{"roomName": "{unique("d")}", "naturalName": "n", "creationDate": {date}}}'
        answer = http.post(f"{server.api}/chatrooms", data=room, headers=headers)
        _refused(answer, 400, "creationDate")
    log = _log_after(server, mark)
    assert "Traceback" not in log, log[-2000:]


@pytest.mark.parametrize("path", ["/users", "/groups", "/chatrooms"])
def test_paging_beyond_what_a_database_counts_is_refused_by_name(
    server: RunningServer, http: requests.Session, path: str
) -> None:
    mark = server.log.stat().st_size
    for name in ("start", "limit"):
        for value in ("9223372036854775808", "1e23", "-1", "-9223372036854775809", "x"):
            answer = http.get(f"{server.api}{path}", params={name: value}, headers=JSON)
            _refused(answer, 400, name)
    # The largest start a database counts to is a readable page (an empty one).
    biggest = {"start": "9223372036854775807", "limit": "100000"}
    assert http.get(f"{server.api}{path}", params=biggest, headers=JSON).status_code == 200
    log = _log_after(server, mark)
    assert "Traceback" not in log, log[-2000:]


def test_a_connection_that_sent_an_oversized_body_is_closed(server: RunningServer) -> None:
    """The refusal closes the connection (the rest of the body is never read), so the
    client's next request goes on a new one instead of being dropped."""
    with requests.Session() as session:
        session.auth = ("admin", ADMIN_PASSWORD)
        body = {"username": unique("big"), "password": "p", "name": "x" * (1024 * 1024 + 10)}
        refused = session.post(f"{server.api}/users", json=body, headers=JSON)
        assert refused.status_code == 413
        assert refused.headers.get("connection", "").lower() == "close"
        for _ in range(3):
            assert session.get(f"{server.api}/users/admin", headers=JSON).status_code == 200
    rmp = requests.Session()
    login = {"email": "admin@example.org", "password": "x" * (1024 * 1024 + 10)}
    refused = rmp.post(f"{server.url}/api/v2/auth/login", json=login)
    assert refused.status_code == 413 and refused.headers.get("connection") == "close"
    assert rmp.get(f"{server.url}/readyz").status_code == 200


VCARD = '<vCard xmlns="vcard-temp"><FN>{}</FN></vCard>'


def test_a_vcard_with_entities_is_refused_and_what_is_stored_is_well_formed(
    server: RunningServer, http: requests.Session
) -> None:
    from lxml import etree

    name = unique("vc")
    made = http.post(f"{server.api}/users", json={"username": name, "password": "pw-123456"})
    assert made.status_code == 201, made.text
    url = f"{server.api}/users/{name}/vcard"
    xml = {"Content-Type": "application/xml", "Accept": "application/xml"}
    assert http.put(url, data=VCARD.format("Jane &amp; Joe"), headers=xml).status_code == 200
    for doctype, use in (
        ('<!DOCTYPE vCard [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),
        ('<!DOCTYPE vCard [<!ENTITY who "Jane">]>', "&who;"),
        ('<!DOCTYPE vCard SYSTEM "http://127.0.0.1:1/vcard.dtd">', "&remote;"),
    ):
        answer = http.put(url, data=doctype + VCARD.format(use), headers={**xml, **JSON})
        _refused(answer, 400, "vcard")
    served = http.get(url, headers=xml)
    assert served.status_code == 200
    etree.fromstring(served.content)  # well formed
    assert served.text == VCARD.format("Jane &amp; Joe")


@pytest.fixture
def own_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The allow-list is server-wide: these servers get a database of their own."""
    with fresh_database(backend_of(database_url), tmp_path) as url:
        yield url


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    own_database: str, tmp_path: Path
) -> None:
    direct = start_server(own_database, tmp_path / "direct.log")
    proxied = None
    try:
        api = direct.api
        auth = ("admin", ADMIN_PASSWORD)
        allow = {"key": "plugin.restapi.allowedIPs", "value": "10.0.0.1"}
        assert requests.post(f"{api}/system/properties", json=allow, auth=auth).status_code == 201
        forged = {**JSON, "X-Forwarded-For": "10.0.0.1"}
        assert requests.get(f"{api}/users/admin", headers=forged, auth=auth).status_code == 401
        assert requests.get(f"{api}/users/admin", headers=JSON, auth=auth).status_code == 401
        trusted = "10.9.0.0/16, 127.0.0.1"
        proxied = start_server(own_database, tmp_path / "p.log", TOWNHALL_TRUSTED_PROXIES=trusted)
        api = proxied.api
        assert requests.get(f"{api}/users/admin", headers=forged, auth=auth).status_code == 200
        # The client is the first address from the right that is not a trusted proxy.
        chained = {**JSON, "X-Forwarded-For": "10.0.0.1, 10.9.3.4"}
        assert requests.get(f"{api}/users/admin", headers=chained, auth=auth).status_code == 200
        spoofed = {**JSON, "X-Forwarded-For": "10.0.0.1, 192.0.2.7"}
        assert requests.get(f"{api}/users/admin", headers=spoofed, auth=auth).status_code == 401
        other = {**JSON, "X-Forwarded-For": "10.0.0.2"}
        assert requests.get(f"{api}/users/admin", headers=other, auth=auth).status_code == 401
        # The proxy itself is not on the list.
        assert requests.get(f"{api}/users/admin", headers=JSON, auth=auth).status_code == 401
    finally:
        stop_server(direct)
        if proxied is not None:
            stop_server(proxied)
