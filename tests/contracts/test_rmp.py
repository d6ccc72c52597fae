"""Contract test: RMP v2 against its own published document (`/api/v2/openapi.json`).

Schemathesis generates requests, valid ones and ones that break the document, for every
operation the document declares, sends them to a real server (SQLite and PostgreSQL)
with an administrator's bearer token, and checks each answer (tests/helpers/contract.py).

Path parameters are pointed at real things, made once for the module (a person, a
resource type, a resource, a booking, a calendar event, an alias domain, a tenant):
random ids would only ever meet "not found". Operations that would end what they are
pointed at (deleting a person, a resource, an event, a tenant; cancelling a booking) get
a fresh one for every example, and those that would end the fuzzing token's own access
(logout, refresh) are sent with a fresh login's tokens: the administrator itself is
never the target of a change, so one example cannot lock the rest out. Body fields
naming a thing (a booking's resource, a new resource's type, a new person's address)
name a real one.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.conftest import RunningServer, unique
from tests.helpers import contract
from tests.helpers.rmp import DOMAIN, Rmp, admin, at, book, make_resource, person, resource_type
from townhall.dialects import kit, rmp

document = contract.schema(rmp.DIALECT)

CALENDAR = "Calendar"
"""The administrator's own calendar, as `GET /calendars` names it."""

_days = itertools.count(30)


def _day() -> int:
    """A day of its own for each booking and event made here (no two overlap)."""
    return next(_days)


@dataclass
class World:
    """The administrator's session and the things the paths point at."""

    server: RunningServer
    admin: Rmp
    token: str
    person: str
    kind: str
    resource: str
    booking: str
    event: str
    alias: str
    tenant: str
    contact: str = ""

    def fresh_person(self) -> str:
        email = f"{unique('victim')}@{DOMAIN}"
        made = self.admin.post(
            "/users",
            json={"email": email, "password": "pw-123456", "realName": "Contract Victim"},
        )
        assert made.status_code == 201, made.text
        return email

    def fresh_resource(self) -> str:
        made = self.admin.post(
            "/resources",
            json={
                "name": unique("Victim room "),
                "type": self.kind,
                "customFields": {"capacity": 4},
            },
        )
        assert made.status_code == 201, made.text
        return str(made.json()["resource"]["id"])

    def fresh_booking(self) -> str:
        day = _day()
        made = book(self.admin, self.resource, at(9, day), at(10, day))
        assert made.status_code == 201, made.text
        return str(made.json()["booking"]["id"])

    def fresh_event(self) -> str:
        day = _day()
        made = self.admin.post(
            f"/calendars/{CALENDAR}/events",
            json={
                "title": "Contract event",
                "startTime": at(9, day),
                "endTime": at(10, day),
                "sendInvitations": False,
            },
        )
        assert made.status_code == 201, made.text
        return str(made.json()["event"]["id"])

    def fresh_tenant(self) -> str:
        domain = f"{unique('tenant')}.test"
        made = self.admin.post("/admin/tenants", json={"domain": domain, "name": "Contract"})
        assert made.status_code == 201, made.text
        return domain

    def catalogue(self) -> bytes:
        """A catalogue file that imports: one new resource of the shared type."""
        room = {
            "name": unique("Imported room "),
            "type": self.kind,
            "category": "meeting-resources",
            "customFields": {"capacity": 2},
        }
        return json.dumps({"resources": [room]}).encode()

    def fresh_contact(self) -> str:
        made = self.admin.post(
            "/contacts", json={"name": "Contract Contact", "email": f"{unique('c')}@x.test"}
        )
        assert made.status_code == 201, made.text
        return str(made.json()["contact"]["uid"])

    def fresh_login(self) -> dict[str, Any]:
        """A new session of the administrator: its tokens may be ended."""
        return admin(self.server).login_answer


@pytest.fixture(scope="module")
def world(server: RunningServer) -> World:
    session = admin(server)
    kind = resource_type(session)
    resource = make_resource(session)
    day = _day()
    booked = book(session, resource, at(9, day), at(10, day))
    assert booked.status_code == 201, booked.text
    _, someone = person(server)
    alias = f"{unique('alias')}.test"
    made = session.post("/domains", json={"domain": alias, "type": "primary"})
    assert made.status_code == 201, made.text
    world = World(
        server=server,
        admin=session,
        token=str(session.login_answer["token"]),
        person=someone,
        kind=kind,
        resource=resource,
        booking=str(booked.json()["booking"]["id"]),
        event="",
        alias=alias,
        tenant="",
    )
    world.event = world.fresh_event()
    world.tenant = world.fresh_tenant()
    world.contact = world.fresh_contact()
    return world


def test_the_document_is_published(server: RunningServer) -> None:
    assert contract.served(server.url, rmp.DIALECT) == contract.built(rmp.DIALECT)


CONTRACT_OPERATIONS = (
    "POST /auth/login",
    "POST /auth/refresh",
    "GET /auth/admin",
    "POST /auth/logout",
    "GET /calendars",
    "GET /calendars/{calendar}/events",
    "POST /calendars/{calendar}/events",
    "GET /calendars/{calendar}/events/{eventId}",
    "PUT /calendars/{calendar}/events/{eventId}",
    "DELETE /calendars/{calendar}/events/{eventId}",
    "GET /freebusy",
    "GET /resources",
    "GET /resources/{id}",
    "POST /resources",
    "PUT /resources/{id}",
    "DELETE /resources/{id}",
    "GET /resources/{id}/availability",
    "GET /bookings",
    "POST /bookings",
    "GET /bookings/{id}",
    "PUT /bookings/{id}",
    "DELETE /bookings/{id}",
    "POST /bookings/conflicts",
    "GET /resource-types",
    "POST /resource-types",
    "PUT /resource-types/{id}",
    "GET /contacts",
    "GET /contacts/all",
    "POST /contacts",
    "PUT /contacts/{uid}",
    "DELETE /contacts/{uid}",
    "GET /contacts/{uid}/vcard",
    "GET /groups",
    "POST /groups",
    "GET /users",
    "GET /users/{email}",
    "POST /users",
    "PUT /users/{email}",
    "DELETE /users/{email}",
    "POST /users/{email}/password",
    "GET /domains",
    "POST /domains",
    "GET /domains/{domain}/settings",
    "PUT /domains/{domain}/settings",
    "GET /files",
    "GET /files/content",
    "POST /files",
    "DELETE /files",
    "POST /search",
    "GET /analytics/usage",
    "GET /analytics/popular-resources",
    "POST /admin/resources/bulk",
    "GET /admin/statistics",
    "POST /admin/import",
    "GET /admin/export",
    "POST /admin/backup",
    "POST /admin/restore",
    "POST /saas/register",
    "POST /saas/login",
    "GET /saas/subscription",
    "GET /saas/servers",
    "POST /saas/subscription/upgrade",
    "GET /saas/invoices",
    "POST /admin/cache/invalidate",
    "GET /admin/cache/stats",
    "POST /admin/cache/warm",
    "GET /admin/cache/config",
)
"""The HTTP operations of ../shared/contracts/rmp.md's table, as it spells them (the
WebSocket `GET /events` aside)."""


def _shape(operation: str) -> str:
    """An operation with its path parameters unnamed (the contract and the routes
    name them differently: `{eventId}`, `{event_id}`)."""
    return re.sub(r"\{[^}]*\}", "{}", operation)


def test_every_operation_of_the_contract_is_declared_and_served() -> None:
    declared = {
        _shape(f"{method.upper()} {path.removeprefix(rmp.BASE)}")
        for path, operations in contract.built(rmp.DIALECT)["paths"].items()
        for method in operations
    }
    missing = [op for op in CONTRACT_OPERATIONS if _shape(op) not in declared]
    assert missing == [], missing
    assert len(CONTRACT_OPERATIONS) == 67


def test_every_route_is_declared() -> None:
    """Every HTTP operation the dialect serves is in the document, but the document's own
    route (the WebSocket `/api/v2/events` is no HTTP route)."""
    app = Litestar(route_handlers=rmp.DIALECT.routers(), dependencies=kit.providers())
    served = {
        f"{method} {route.path_format}"
        for route in app.routes
        if isinstance(route, HTTPRoute)
        and route.path.startswith(rmp.PREFIXES)
        and route.path_format != "/api/v2/openapi.json"
        for handler in route.route_handlers
        for method in handler.http_methods - {"HEAD", "OPTIONS"}
    }
    declared = {
        f"{method.upper()} {path}"
        for path, operations in contract.built(rmp.DIALECT)["paths"].items()
        for method in operations
    }
    assert declared == served
    assert len(declared) == 75  # the contract's 64, the cache's, calendars' and jobs' extras


Pick = Callable[[World], str]

# Path parameters, by operation path and parameter name: the shared thing, or (FRESH) a
# new one for each example, for operations that end what they are pointed at.
SHARED: dict[str, Pick] = {
    "email": lambda w: w.person,
    "type_id": lambda w: w.kind,
    "resource_id": lambda w: w.resource,
    "booking_id": lambda w: w.booking,
    "calendar": lambda w: CALENDAR,
    "event_id": lambda w: w.event,
    "uid": lambda w: w.contact,
}
BY_PATH: dict[tuple[str, str], Pick] = {
    ("/api/v2/domains/{domain}/settings", "domain"): lambda w: w.alias,
    ("/api/v2/admin/tenants/{domain}/routes", "domain"): lambda w: w.tenant,
}
FRESH: dict[tuple[str, str], Pick] = {
    ("DELETE /api/v2/users/{email}", "email"): World.fresh_person,
    ("DELETE /api/v2/resources/{resource_id}", "resource_id"): World.fresh_resource,
    ("DELETE /api/v2/bookings/{booking_id}", "booking_id"): World.fresh_booking,
    ("DELETE /api/v2/calendars/{calendar}/events/{event_id}", "event_id"): World.fresh_event,
    ("DELETE /api/v2/admin/tenants/{domain}", "domain"): World.fresh_tenant,
    ("DELETE /api/v2/contacts/{uid}", "uid"): World.fresh_contact,
}
# Body fields naming a thing that must exist (or, for a new person, an address in a
# domain of the tenant): pointed at a real one where the generated body has the field as
# text, so valid bodies get past "not found".
BODIES: dict[str, dict[str, Callable[[World], Any]]] = {
    "POST /api/v2/bookings": {"resourceId": lambda w: w.resource},
    "POST /api/v2/bookings/conflicts": {"resources": lambda w: [w.resource]},
    "POST /api/v2/users": {"email": lambda w: f"{unique('fuzzed')}@{DOMAIN}"},
    "POST /api/v2/resources": {"type": lambda w: w.kind},
    "PUT /api/v2/resources/{resource_id}": {"type": lambda w: w.kind},
    "POST /api/v2/admin/resources/bulk": {"type": lambda w: w.kind},
}
# Uploaded files (multipart fields): a file that imports, where a form has one.
FILES: dict[str, dict[str, Callable[[World], bytes]]] = {
    "POST /api/v2/admin/import": {"file": World.catalogue},
}
# Operations that end the token they are sent with: a fresh login's token, by which kind.
OWN_TOKEN = {"POST /api/v2/auth/logout": "token", "POST /api/v2/auth/refresh": "refreshToken"}


def _point(case: schemathesis.Case, world: World) -> dict[str, str]:
    label = case.operation.label
    path = case.operation.path
    for name in list(case.path_parameters or {}):
        pick = FRESH.get((label, name)) or BY_PATH.get((path, name)) or SHARED.get(name)
        if pick is not None:
            case.path_parameters[name] = pick(world)  # type: ignore[index]
    if isinstance(case.body, dict):
        for field, real in BODIES.get(label, {}).items():
            if isinstance(case.body.get(field), str | list):
                case.body[field] = real(world)
        for field, made in FILES.get(label, {}).items():
            if field in case.body and case.media_type == "multipart/form-data":
                case.body[field] = made(world)
    token = world.token
    if label in OWN_TOKEN:
        token = str(world.fresh_login()[OWN_TOKEN[label]])
    return {"Authorization": f"Bearer {token}"}


@document.parametrize()
@contract.EXAMPLES
def test_every_operation(case: schemathesis.Case, server: RunningServer, world: World) -> None:
    contract.call(case, server.url, _point(case, world))
