"""Tenant isolation, probed through every read operation each API publishes.

Two tenants made with the operator's CLI. Tenant A holds a person, a group, a chat room,
a resource, a booking and a calendar event, each named with a marker. For every GET
operation of every API's published document, tenant B's administrator calls it with each
path parameter filled by A's identifier of that kind (or, where the kind is unknown, by
A's person's name and number); no answer may carry A's marker, and none may be a 5xx.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import requests

from tests.conftest import RunningServer, unique
from tests.helpers import contract
from tests.helpers.rmp import Rmp, at, book, make_resource
from tests.helpers.symphony import Bot, key_pair
from tests.test_tenants import Made, _create
from townhall.app import APIS
from townhall.dialects.kit import Dialect
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson

MARK = unique("isolationmark")
KINDS = (
    (r"context", "context"),
    (r"email|address", "email"),
    (r"booking", "booking"),
    (r"resource", "resource"),
    (r"group", "group"),
    (r"room|stream|^id$|^sid$", "room"),
    (r"service", "service"),
    (r"domain|host", "domain"),
    (r"calendar", "calendar"),
    (r"event", "event"),
    (r"uid|userid", "uid"),
)
"""Path parameter names (lowercased, searched in order) and the kind of thing they name."""


@dataclass
class Probe:
    """Tenant A's identifiers by kind, and tenant B's credentials per API."""

    held: dict[str, str]
    credentials: dict[str, tuple[dict[str, str], tuple[str, str] | None]]

    def values_for(self, parameter: str) -> list[str]:
        lowered = parameter.lower()
        for pattern, kind in KINDS:
            if re.search(pattern, lowered):
                return [self.held[kind]]
        return [self.held["username"], self.held["uid"]]


async def _held_by(server: RunningServer, services: Services, a: Made) -> dict[str, str]:
    """A's things, made through A's own APIs."""
    rmp_a = Rmp(server).login(f"admin@{a.domain}", a.password)
    person = unique("isoperson")  # identifiers carry no marker: a 404 may echo them
    email = f"{person}@{a.domain}"
    made = rmp_a.post("/users", json={"email": email, "password": "pw-1234567", "realName": MARK})
    assert made.status_code == 201, made.text
    resource = make_resource(rmp_a)
    renamed = rmp_a.put(f"/resources/{resource}", json={"name": f"{MARK} room"})
    assert renamed.status_code == 200, renamed.text
    booking = book(rmp_a, resource, at(9, day=5), at(10, day=5), title=MARK)
    assert booking.status_code == 201, booking.text
    times = {"startTime": at(9, 6), "endTime": at(10, 6)}
    event = rmp_a.post("/calendars/Calendar/events", json={"title": MARK, **times})
    assert event.status_code == 201, event.text
    as_a = {
        "headers": {"Host": a.domain, "Accept": "application/json"},
        "auth": ("admin", a.password),
    }
    group, room = unique("isogroup"), unique("isoroom")
    made = requests.post(
        f"{server.api}/groups",
        json={"name": group, "description": MARK, "admins": [], "members": []},
        **as_a,
    )
    assert made.status_code == 201, made.text
    chatroom = {"roomName": room, "naturalName": MARK, "description": MARK}
    made = requests.post(f"{server.api}/chatrooms", json=chatroom, **as_a)
    assert made.status_code == 201, made.text
    tenant = await services.tenants.routed(a.domain)
    assert tenant is not None
    found = await services.people.get(Principal.system(tenant), person)
    return {
        "email": email,
        "username": person,
        "uid": str(found.id),
        "booking": booking.json()["booking"]["id"],
        "resource": resource,
        "group": group,
        "room": room,
        "service": "conference",
        "domain": a.domain,
        "calendar": "Calendar",
        "event": event.json()["event"]["id"],
        "context": str(tenant.id),
    }


async def _credentials_of(
    server: RunningServer, services: Services, b: Made
) -> dict[str, tuple[dict[str, str], tuple[str, str] | None]]:
    """B's administrator on each API: RMP's bearer, Openfire's Basic, a Symphony session."""
    token = Rmp(server).login(f"admin@{b.domain}", b.password).login_answer["token"]
    tenant = await services.tenants.routed(b.domain)
    assert tenant is not None
    private, public = key_pair()
    bot = await services.people.create(
        Principal.system(tenant),
        NewPerson(
            "probebot",
            roles=frozenset({"ADMINISTRATOR"}),
            account_type="SYSTEM",
            keys={"current": (public, None)},
        ),
    )
    signed = Bot("probebot", bot.id, private, public).jwt()
    session = requests.post(
        f"{server.url}/login/pubkey/authenticate",
        json={"token": signed},
        headers={"Host": b.domain},
    )
    assert session.status_code == 200, session.text
    host = {"Host": b.domain, "Accept": "application/json"}
    return {
        "rmp": ({**host, "Authorization": f"Bearer {token}"}, None),
        "openfire": (host, ("admin", b.password)),
        "symphony": ({**host, "sessionToken": session.json()["token"]}, None),
        "oxaas": ({"Accept": "application/json"}, ("admin", b.password)),
    }


def _reads(dialect: Dialect) -> list[tuple[str, list[str]]]:
    """Every GET path of the dialect's document, with its path parameters."""
    document = contract.built(dialect)
    found = []
    for path, operations in document["paths"].items():
        if "get" in operations:
            params = [p["name"] for p in operations["get"]["parameters"] if p["in"] == "path"]
            found.append((path, params))
    return found


def _probe(server: RunningServer, probe: Probe, dialect: Dialect) -> tuple[int, list[Any]]:
    headers, auth = probe.credentials[dialect.name]
    tried, leaks = 0, []
    for path, params in _reads(dialect):
        for values in itertools.product(*(probe.values_for(p) for p in params)):
            url = path
            for name, value in zip(params, values, strict=True):
                url = url.replace("{" + name + "}", requests.utils.quote(value, safe="@"))
            answer = requests.get(server.url + url, headers=headers, auth=auth, timeout=30)
            tried += 1
            if answer.status_code >= 500 or MARK in answer.text:
                leaks.append((url, answer.status_code, answer.text[:300]))
    return tried, leaks


async def test_no_read_of_any_api_shows_another_tenants_things(
    server: RunningServer, services: Services
) -> None:
    a, b = _create(server), _create(server)
    probe = Probe(await _held_by(server, services, a), await _credentials_of(server, services, b))
    # A's own administrator does see the marker: the probe can tell a leak when it meets
    # one. (Checked first: B's Basic credentials on A's contexts count as failed logins
    # of A's `admin`, which the login limit then holds back.)
    own = Rmp(server).login(f"admin@{a.domain}", a.password)
    assert MARK in own.get(f"/users/{probe.held['email']}").text
    tried = {}
    for dialect in APIS:
        tried[dialect.name], leaks = _probe(server, probe, dialect)
        assert not leaks, leaks
    print(f"isolation probe, reads tried per API: {tried}")
    assert all(tried.values()), tried
