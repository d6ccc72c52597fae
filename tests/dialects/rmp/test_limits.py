"""RMP input no column can hold: refused with a 400 naming the field, never a 500."""

from __future__ import annotations

from tests.conftest import RunningServer, unique
from tests.helpers.rmp import DOMAIN, admin, at, make_resource, refused


def test_nul_characters_are_refused_by_name(server: RunningServer) -> None:
    rmp = admin(server)
    resource = make_resource(rmp)
    booking = {"resourceId": resource, "title": "a\u0000b", "startTime": at(9), "endTime": at(10)}
    refused(rmp.post("/bookings", json=booking), 400, "title")
    refused(rmp.post("/search", json={"query": "x\u0000"}), 400, "query")
    user = {"email": f"{unique('n')}@{DOMAIN}", "password": "pw-123456", "realName": "A\u0000"}
    refused(rmp.post("/users", json=user), 400, "realName")
    refused(rmp.get("/resources", params={"search": "a\u0000"}), 400, "search")
    refused(rmp.get("/bookings", params={"status": "\u0000"}), 400, "status")
    refused(rmp.get("/resources/a%00b@example.org"), 400, "path")


def test_numbers_beyond_the_columns_are_refused(server: RunningServer) -> None:
    rmp = admin(server)
    resource = make_resource(rmp)
    refused(rmp.put(f"/resources/{resource}", json={"capacity": 2**31}), 400, "capacity")
    refused(rmp.put(f"/resources/{resource}", json={"capacity": 2**70}), 400, "capacity")
    kind = resource.partition("@")[2].partition(".")[0]
    bulk = {"pattern": "X {n}", "startNumber": 2**63, "count": 2, "type": kind, "capacity": 1}
    refused(rmp.post("/admin/resources/bulk", json=bulk), 400, "startNumber")
    assert rmp.get(f"/resources/{resource}").json()["resource"]["capacity"] == 8


def test_import_files_with_nul_characters_are_refused(server: RunningServer) -> None:
    rmp = admin(server)
    csv_file = {"file": ("r.csv", b"name,type\nok,x\nbad\x00,x\n")}
    error = refused(rmp.post("/admin/import", files=csv_file), 400, "file")
    assert "line 3" in error["message"]
    json_file = {"file": ("r.json", b'[{"name": "ok", "type": "x"}, {"name": "b\\u0000"}]')}
    refused(rmp.post("/admin/import", files=json_file), 400, "resources[1].name")
