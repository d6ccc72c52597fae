"""RMP bulk creation, import and export over HTTP, against running servers (both databases).

The round trip exports a populated server and imports the file into a server whose
database is new and empty, then compares the two exports.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import (
    ADMIN_PASSWORD,
    PG_ADMIN_URL,
    RunningServer,
    _pg,
    start_server,
    stop_server,
    unique,
)
from tests.helpers.rmp import DOMAIN, Rmp, admin, at, book, person, refused

FIELDS = [
    {"name": "capacity", "type": "number", "required": True},
    {"name": "features", "type": "multiselect", "options": ["projector", "whiteboard"]},
    {"name": "floor", "type": "select", "options": ["1st", "2nd"]},
    {"name": "label", "type": "text"},
]


def _type(rmp: Rmp) -> str:
    kind = unique("bulk-room")
    made = rmp.post(
        "/resource-types",
        json={"id": kind, "name": "Bulk room", "category": "meeting-resources", "fields": FIELDS},
    )
    assert made.status_code == 201, made.text
    return kind


def _upload(
    rmp: Rmp, content: str | bytes, name: str = "rooms.csv", **form: str
) -> requests.Response:
    data = content.encode() if isinstance(content, str) else content
    return rmp.post("/admin/import", files={"file": (name, data)}, data=form)


def _exists(rmp: Rmp, address: str) -> bool:
    found = rmp.get(f"/resources/{address}")
    assert found.status_code in (200, 404), found.text
    return found.status_code == 200


# --- bulk creation ---------------------------------------------------------------------


def test_bulk_numbers_names_and_string_custom_fields(server: RunningServer) -> None:
    rmp = admin(server)
    kind = _type(rmp)
    made = rmp.post(
        "/admin/resources/bulk",
        json={
            "pattern": "Room {nn}",
            "startNumber": 9,
            "count": 3,
            "type": kind,
            "customFields": {"capacity": 8, "label": "R-{nnn}", "floor": "1st"},
        },
    )
    assert made.status_code == 201, made.text
    domain = f"{kind}.resources.{DOMAIN}"
    expected = [f"room-{n}@{domain}" for n in ("09", "10", "11")]
    assert made.json() == {"success": True, "created": 3, "resources": expected}
    shown = rmp.get(f"/resources/room-10@{domain}").json()["resource"]
    assert shown["name"] == "Room 10" and shown["capacity"] == 8
    assert shown["customFields"] == {"label": "R-010", "floor": "1st"}


def test_bulk_is_all_or_nothing(server: RunningServer) -> None:
    rmp = admin(server)
    kind = _type(rmp)
    domain = f"{kind}.resources.{DOMAIN}"
    single = rmp.post("/resources", json={"name": "Desk 3", "type": kind, "capacity": 1})
    assert single.status_code == 201, single.text
    bulk = {"pattern": "Desk {n}", "startNumber": 1, "count": 4, "type": kind, "capacity": 1}
    refused(rmp.post("/admin/resources/bulk", json=bulk), 409)  # desk-3 is taken
    assert not _exists(rmp, f"desk-1@{domain}") and not _exists(rmp, f"desk-4@{domain}")

    broken = {**bulk, "pattern": "Seat {n}", "customFields": {"floor": "9th"}}
    error = refused(rmp.post("/admin/resources/bulk", json=broken), 400, "customFields.floor")
    numbers = [e["number"] for e in error["details"]["errors"]]
    assert numbers == [1, 2, 3, 4]
    assert not _exists(rmp, f"seat-1@{domain}")


def test_bulk_refuses_bad_requests(server: RunningServer) -> None:
    rmp = admin(server)
    kind = _type(rmp)
    base = {"pattern": "Pod {n}", "startNumber": 1, "count": 2, "type": kind, "capacity": 2}
    refused(rmp.post("/admin/resources/bulk", json={**base, "count": 0}), 400, "count")
    refused(rmp.post("/admin/resources/bulk", json={**base, "count": 1001}), 400, "count")
    refused(rmp.post("/admin/resources/bulk", json={**base, "pattern": "Pod"}), 400, "pattern")
    refused(rmp.post("/admin/resources/bulk", json={**base, "startNumber": "1"}), 400)
    refused(rmp.post("/admin/resources/bulk", json={**base, "startNumber": -1}), 400)
    refused(rmp.post("/admin/resources/bulk", json={**base, "type": "no-such-type"}), 404)
    someone, _ = person(server)
    refused(someone.post("/admin/resources/bulk", json=base), 403)
    assert not _exists(rmp, f"pod-1@{kind}.resources.{DOMAIN}")


# --- import ----------------------------------------------------------------------------


def test_csv_import_dry_run_then_real(server: RunningServer) -> None:
    rmp = admin(server)
    kind = _type(rmp)
    domain = f"{kind}.resources.{DOMAIN}"
    content = (
        "name,type,capacity,features,floor,building\r\n"
        f"Lab A,{kind},6,projector;whiteboard,2nd,North\r\n"
        f'"Lab, B",{kind},4,,1st,7\r\n'
    )
    dry = _upload(rmp, content, dryRun="true")
    assert dry.status_code == 200, dry.text
    answer = dry.json()
    assert answer["dryRun"] is True
    assert answer["imported"] == {"types": 0, "resources": 2, "bookings": 0}
    assert answer["resources"] == [f"lab-a@{domain}", f"lab-b@{domain}"]
    assert not _exists(rmp, f"lab-a@{domain}")

    real = _upload(rmp, content)
    assert real.status_code == 201, real.text
    assert real.json()["dryRun"] is False
    shown = rmp.get(f"/resources/lab-a@{domain}").json()["resource"]
    assert shown["capacity"] == 6 and shown["features"] == ["projector", "whiteboard"]
    assert shown["customFields"] == {"floor": "2nd", "building": "North"}
    other = rmp.get(f"/resources/lab-b@{domain}").json()["resource"]
    assert other["name"] == "Lab, B" and other["customFields"]["building"] == 7


def test_csv_errors_are_row_numbered_and_nothing_is_created(server: RunningServer) -> None:
    rmp = admin(server)
    kind = _type(rmp)
    domain = f"{kind}.resources.{DOMAIN}"
    content = (
        "name,type,capacity,floor\n"
        f"Good 1,{kind},4,1st\n"
        f"Bad floor,{kind},4,9th\n"
        f"Good 2,{kind},4,2nd\n"
        f"No capacity,{kind},,1st\n"
        "Unknown type,no-such-type,4,1st\n"
        f"Good 1,{kind},5,1st\n"
    )
    for dry_run in ("true", "false"):
        error = refused(_upload(rmp, content, dryRun=dry_run), 400, "customFields.floor")
        rows = [(e["row"], e["field"]) for e in error["details"]["errors"]]
        assert rows == [(3, "customFields.floor"), (5, "capacity"), (6, "type"), (7, "id")]
        assert "resources row 3" in error["message"]
    assert not _exists(rmp, f"good-1@{domain}") and not _exists(rmp, f"good-2@{domain}")


def test_malformed_files_are_refused(server: RunningServer) -> None:
    rmp = admin(server)
    kind = _type(rmp)
    too_many = f"name,type,capacity\nOne,{kind},1\nTwo,{kind},1,extra\n"
    error = refused(_upload(rmp, too_many), 400)
    assert [(e["row"], e["field"]) for e in error["details"]["errors"]] == [(3, "file")]
    assert not _exists(rmp, f"one@{kind}.resources.{DOMAIN}")
    refused(_upload(rmp, b"name,type\n\xff\xfe,x\n"), 400, "file")
    refused(_upload(rmp, "{not json", name="rooms.json"), 400, "file")
    refused(_upload(rmp, '{"resources": 5}', name="rooms.json"), 400, "resources")
    refused(_upload(rmp, "", name="rooms.csv"), 400, "file")
    refused(_upload(rmp, "name\nx\n", format="xml"), 400, "format")
    refused(rmp.post("/admin/import", json={"file": "x"}), 400, "file")
    refused(_upload(rmp, "name\nx\n", dryRun="perhaps"), 400, "dryRun")
    bad_row = f'[{{"name": "J", "type": "{kind}", "capacity": "big"}}]'
    error = refused(_upload(rmp, bad_row, name="r.json"), 400, "capacity")
    assert error["details"]["errors"][0]["row"] == 1


def test_json_import_checks_bookings_against_each_other(server: RunningServer) -> None:
    rmp = admin(server)
    kind = _type(rmp)
    domain = f"{kind}.resources.{DOMAIN}"
    room = f"hall@{domain}"
    booking = {
        "resourceId": room,
        "title": "Imported",
        "startTime": "2031-05-01T09:00:00Z",
        "endTime": "2031-05-01T10:00:00Z",
        "organizer": f"admin@{DOMAIN}",
    }
    document = {
        "resources": [{"id": room, "name": "Hall", "type": kind, "capacity": 50}],
        "bookings": [
            {**booking, "id": unique("IMP-")},
            {**booking, "id": unique("IMP-"), "startTime": "2031-05-01T09:30:00Z"},
            {**booking, "id": unique("IMP-"), "endTime": "2031-05-01T08:00:00Z"},
            {**booking, "id": unique("IMP-"), "startTime": "2031-05-01T09:00:00"},
        ],
    }
    error = refused(_upload(rmp, json.dumps(document), name="x.json"), 400)
    found = [(e["section"], e["row"], e["field"]) for e in error["details"]["errors"]]
    assert found == [
        ("bookings", 4, "startTime"),
        ("bookings", 3, "endTime"),
        ("bookings", 2, "startTime"),
    ]
    assert not _exists(rmp, room)
    document["bookings"] = document["bookings"][:1]
    made = _upload(rmp, json.dumps(document), name="x.json")
    assert made.status_code == 201, made.text
    taken = book(rmp, room, "2031-05-01T09:15:00Z", "2031-05-01T09:45:00Z")
    assert taken.status_code == 409, taken.text


def test_domain_admins_import_and_export_only_their_domains(server: RunningServer) -> None:
    root = admin(server)
    kind = _type(root)
    mine = f"{kind}.resources.{DOMAIN}"
    boss, email = person(server)
    made = root.post(
        "/domains", json={"domain": mine, "type": "resource-subdomain", "adminEmail": email}
    )
    assert made.status_code == 201, made.text
    boss = Rmp(server).login(email, "pw-123456")
    allowed = _upload(boss, f"id,name,type,capacity\nown@{mine},Own,{kind},2\n")
    assert allowed.status_code == 201, allowed.text
    outside = f"id,name,type,capacity\nx@other.resources.{DOMAIN},X,{kind},2\n"
    refused(_upload(boss, outside), 403)
    exported = boss.get("/admin/export").json()
    assert [r["id"] for r in exported["resources"]] == [f"own@{mine}"]
    someone, _ = person(server)
    refused(someone.get("/admin/export"), 403)
    refused(_upload(someone, "name\nx\n"), 403)


# --- export and the round trip ---------------------------------------------------------


@contextmanager
def _empty_server(like: RunningServer, tmp_path: Path) -> Iterator[RunningServer]:
    """A server of the same database kind as `like`, on a new, empty database."""
    name = f"townhall_test_{uuid.uuid4().hex[:12]}"
    if like.database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / f'{name}.db'}"
    else:
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    running = start_server(url, tmp_path / f"{name}.log")
    try:
        yield running
    finally:
        stop_server(running)
        if not url.startswith("sqlite"):
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _populate(rmp: Rmp) -> None:
    category = {"id": "labs", "name": "Labs", "icon": "bi-beaker"}
    made = rmp.post(
        "/resource-types",
        json={
            "id": "lab",
            "name": "Lab",
            "category": "labs",
            "fields": FIELDS,
            "categories": [category],
        },
    )
    assert made.status_code == 201, made.text
    unused = {"id": "van", "name": "Van", "category": "vehicles", "fields": []}
    assert rmp.post("/resource-types", json=unused).status_code == 201
    for body in (
        {"name": "Lab 1", "type": "lab", "capacity": 4, "features": ["projector"]},
        {"name": "Lab 2", "type": "lab", "capacity": 6, "customFields": {"floor": "2nd"}},
        {"name": "Old lab", "type": "lab", "capacity": 2, "active": False, "customFields": {}},
    ):
        assert rmp.post("/resources", json=body).status_code == 201
    lab = f"lab-1@lab.resources.{DOMAIN}"
    kept = book(rmp, lab, at(9), at(10), attendees=["guest@example.net"], services=["coffee"])
    assert kept.status_code == 201, kept.text
    dropped = book(rmp, lab, at(11), at(12))
    assert rmp.delete(f"/bookings/{dropped.json()['booking']['id']}").status_code == 200


def _csv_records(raw: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw)))


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_into_an_empty_server_reproduces_the_data(
    server: RunningServer, tmp_path: Path, fmt: str
) -> None:
    with (
        _empty_server(server, tmp_path) as source,
        _empty_server(server, tmp_path) as target,
    ):
        rmp = Rmp(source).login(f"admin@{DOMAIN}", ADMIN_PASSWORD)
        _populate(rmp)
        exported = rmp.get("/admin/export", params={"format": fmt, "includeBookings": "true"})
        assert exported.status_code == 200, exported.text
        expected_type = "application/json" if fmt == "json" else "text/csv; charset=utf-8"
        assert exported.headers["content-type"] == expected_type
        assert f"resources.{fmt}" in exported.headers["content-disposition"]

        other = Rmp(target).login(f"admin@{DOMAIN}", ADMIN_PASSWORD)
        imported = _upload(other, exported.content, name=f"export.{fmt}")
        assert imported.status_code == 201, imported.text
        assert imported.json()["imported"] == {"types": 2, "resources": 3, "bookings": 2}
        again = other.get("/admin/export", params={"format": fmt, "includeBookings": "true"})

        if fmt == "json":
            first, second = exported.json(), again.json()
            first.pop("exportedAt"), second.pop("exportedAt")
            assert second == first
            statuses = sorted(b["status"] for b in first["bookings"])
            assert statuses == ["cancelled", "confirmed"]
        else:
            assert _csv_records(again.text) == _csv_records(exported.text)
            assert {r["record"] for r in _csv_records(exported.text)} == {
                "category",
                "type",
                "resource",
                "booking",
            }
        lab = f"lab-1@lab.resources.{DOMAIN}"
        assert book(other, lab, at(9, 1), at(10, 1)).status_code == 409


def test_export_without_bookings_and_refusals(server: RunningServer) -> None:
    rmp = admin(server)
    exported = rmp.get("/admin/export").json()
    assert "bookings" not in exported and isinstance(exported["resources"], list)
    refused(rmp.get("/admin/export", params={"format": "xml"}), 400, "format")
    refused(rmp.get("/admin/export", params={"includeBookings": "yes!"}), 400, "includeBookings")
    refused(requests.get(f"{server.url}/api/v2/admin/export"), 401)
