"""RMP resource types and resources over HTTP, against a running server (both databases)."""

from __future__ import annotations

from typing import Any

from tests.conftest import RunningServer, unique
from tests.helpers.rmp import (
    DOMAIN,
    ROOM_FIELDS,
    Rmp,
    admin,
    at,
    book,
    create_resource,
    person,
    refused,
    resource_type,
)


def test_types_and_categories_as_the_reference_shows(server: RunningServer) -> None:
    rmp = admin(server)
    category = unique("equipment")
    kind = unique("laptop")
    made = rmp.post(
        "/resource-types",
        json={
            "id": kind,
            "name": "Laptop",
            "category": category,
            "fields": [{"name": "os", "type": "select", "options": ["linux", "mac"]}],
            "categories": [{"id": category, "name": "Equipment", "icon": "bi-laptop"}],
        },
    )
    assert made.status_code == 201, made.text
    assert made.json() == {
        "success": True,
        "type": {
            "id": kind,
            "name": "Laptop",
            "category": category,
            "fields": [{"name": "os", "type": "select", "options": ["linux", "mac"]}],
        },
    }
    listed = rmp.get("/resource-types").json()
    assert listed["success"] is True
    assert {"id": category, "name": "Equipment", "icon": "bi-laptop"} in listed["categories"]
    assert made.json()["type"] in listed["types"]


def test_update_type(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp)
    changed = rmp.put(f"/resource-types/{kind}", json={"name": "Board Room"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["type"]["name"] == "Board Room"
    assert changed.json()["type"]["fields"][0] == ROOM_FIELDS[0]
    bad = rmp.put(f"/resource-types/{kind}", json={"fields": [{"name": "x", "type": "date"}]})
    refused(bad, 400, "fields[0].type")
    refused(rmp.put(f"/resource-types/{unique('nope')}", json={"name": "x"}), 404)
    create_resource(rmp, kind, "On the third", floor="3rd")
    narrower = [*ROOM_FIELDS[:2], {"name": "floor", "type": "select", "options": ["1st"]}]
    refused(rmp.put(f"/resource-types/{kind}", json={"fields": narrower}), 409)


def test_bad_type_is_refused_naming_the_field(server: RunningServer) -> None:
    rmp = admin(server)
    fields = [{"name": "a", "type": "text"}, {"name": "b", "type": "colour"}]
    body = {"id": unique("bad"), "name": "Bad", "category": "misc", "fields": fields}
    refused(rmp.post("/resource-types", json=body), 400, "fields[1].type")
    fields[1] = {"name": "b", "type": "select"}
    refused(rmp.post("/resource-types", json=body), 400, "fields[1].options")
    fields[1] = {"name": "b", "type": "text", "required": "yes"}
    refused(rmp.post("/resource-types", json=body), 400, "fields[1].required")
    refused(rmp.post("/resource-types", json={"name": "x", "category": "misc"}), 400, "id")
    listed = rmp.get("/resource-types").json()["types"]
    assert body["id"] not in [t["id"] for t in listed]


def test_create_and_read_a_resource(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp)
    made = create_resource(rmp, kind, "Conference Room 01", features=["projector"], floor="3rd")
    assert made == {
        "id": f"conference-room-01@{kind}.resources.{DOMAIN}",
        "name": "Conference Room 01",
        "type": kind,
        "category": "meeting-resources",
        "capacity": 10,
        "features": ["projector"],
        "customFields": {"floor": "3rd"},
        **({"active": made["active"]} if "active" in made else {}),
    }
    detail = rmp.get(f"/resources/{made['id']}")
    assert detail.status_code == 200 and detail.json() == {"success": True, "resource": made}
    upper = rmp.get(f"/resources/{made['id'].upper()}")
    assert upper.json()["resource"]["id"] == made["id"]
    refused(rmp.get(f"/resources/nothing@{kind}.resources.{DOMAIN}"), 404)
    domains = rmp.get("/domains").json()["domains"]
    sub = next(d for d in domains if d["name"] == f"{kind}.resources.{DOMAIN}")
    assert (sub["type"], sub["parent"], sub["resources"]) == ("resource-subdomain", DOMAIN, 1)


def test_resource_id_and_domain_may_be_given(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp)
    sub = f"{unique('confroom')}.resources.{DOMAIN}"
    body = {"name": "Room 1", "type": kind, "category": "meeting-resources"}
    made = rmp.post("/resources", json={**body, "id": f"room-01@{sub}", "capacity": 6})
    assert made.status_code == 201, made.text
    assert (made.json()["resource"]["id"], made.json()["resource"]["capacity"]) == (
        f"room-01@{sub}",
        6,
    )
    again = rmp.post("/resources", json={**body, "id": f"room-01@{sub}", "capacity": 6})
    refused(again, 409)
    stray = rmp.post("/resources", json={**body, "domain": DOMAIN, "capacity": 6})
    refused(stray, 400, "domain")


def test_bad_resources_are_refused_naming_the_field(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp)
    base = {"name": "Broken", "type": kind, "category": "meeting-resources"}
    no_capacity = refused(rmp.post("/resources", json={**base, "customFields": {}}), 400)
    assert no_capacity["details"]["field"] in ("capacity", "customFields.capacity")
    bad_floor = {**base, "customFields": {"capacity": 3, "floor": "9th"}}
    refused(rmp.post("/resources", json=bad_floor), 400, "customFields.floor")
    bad_feature = {**base, "customFields": {"capacity": 3, "features": ["laser"]}}
    assert refused(rmp.post("/resources", json=bad_feature), 400)["details"]["field"] in (
        "features",
        "customFields.features",
    )
    refused(rmp.post("/resources", json={**base, "name": 5}), 400, "name")
    refused(rmp.post("/resources", data=b"{", headers={"Content-Type": "application/json"}), 400)
    listed = rmp.get("/resources", params={"type": kind}).json()
    assert (listed["resources"], listed["total"]) == ([], 0)


def test_list_filters_and_pages(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp)
    made = [create_resource(rmp, kind, f"Room {n}") for n in range(5)]
    first = rmp.get("/resources", params={"type": kind, "limit": 2}).json()
    assert (first["total"], first["page"], first["pages"]) == (5, 1, 3)
    assert [r["id"] for r in first["resources"]] == [r["id"] for r in made[:2]]
    last = rmp.get("/resources", params={"type": kind, "limit": 2, "page": 3}).json()
    assert [r["id"] for r in last["resources"]] == [made[4]["id"]]
    refused(rmp.get("/resources", params={"type": kind, "limit": 2, "page": 4}), 400, "page")
    refused(rmp.get("/resources", params={"limit": 501}), 400, "limit")
    other = rmp.get("/resources", params={"category": unique("empty")}).json()
    assert (other["resources"], other["total"], other["pages"]) == ([], 0, 0)


def test_available_leaves_out_booked_resources(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp)
    busy, free = create_resource(rmp, kind, "A busy"), create_resource(rmp, kind, "B free")
    assert book(rmp, busy["id"], at(9, day=3), at(10, day=3)).status_code == 201
    window = {"type": kind, "available": "true", "startTime": at(9, 3), "endTime": at(10, 3)}
    listed = rmp.get("/resources", params=window).json()
    assert [r["id"] for r in listed["resources"]] == [free["id"]]
    later = {**window, "startTime": at(10, 3), "endTime": at(11, 3)}
    assert rmp.get("/resources", params=later).json()["total"] == 2
    now = rmp.get("/resources", params={"type": kind, "available": "true"})
    assert now.status_code == 200, now.text
    assert now.json()["total"] == 2


def test_update_and_delete(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp)
    made = create_resource(rmp, kind, "Huddle", features=["whiteboard"], floor="1st")
    path = f"/resources/{made['id']}"
    changed = rmp.put(path, json={"name": "Huddle 2", "customFields": {"capacity": 12}})
    assert changed.status_code == 200, changed.text
    resource = changed.json()["resource"]
    assert (resource["name"], resource["capacity"], resource["features"]) == (
        "Huddle 2",
        12,
        ["whiteboard"],
    )
    assert resource["customFields"] == {"floor": "1st"}
    refused(rmp.put(path, json={"customFields": {"floor": "attic"}}), 400, "customFields.floor")
    assert rmp.get(path).json()["resource"]["name"] == "Huddle 2"
    gone = rmp.delete(path)
    assert gone.status_code == 200 and gone.json()["success"] is True
    refused(rmp.get(path), 404)
    refused(rmp.delete(path), 404)


def test_people_read_resources_admins_change_them(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp)
    made = create_resource(rmp, kind, "Shared room")
    someone, _ = person(server)
    assert someone.get(f"/resources/{made['id']}").json()["resource"] == made
    assert made["id"] in [
        r["id"] for r in someone.get("/resources", params={"type": kind}).json()["resources"]
    ]
    body = {"name": "Mine", "type": kind, "category": "meeting-resources", "capacity": 1}
    refused(someone.post("/resources", json=body), 403)
    refused(someone.put(f"/resources/{made['id']}", json={"name": "Mine now"}), 403)
    refused(someone.delete(f"/resources/{made['id']}"), 403)
    refused(
        someone.post("/resource-types", json={"id": unique("t"), "name": "T", "category": "c"}), 403
    )
    refused(Rmp(server).get("/resources"), 401)


def test_list_by_capacity_features_and_text(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp)
    both = ["projector", "whiteboard"]
    big = create_resource(rmp, kind, "Big room", capacity=12, features=both)
    create_resource(rmp, kind, "Small room", capacity=4, features=both)
    create_resource(rmp, kind, "Bare room", capacity=20)

    def ids(**params: Any) -> list[str]:
        found = rmp.get("/resources", params={"type": kind, **params})
        assert found.status_code == 200, found.text
        return [r["name"] for r in found.json()["resources"]]

    assert ids(minCapacity=8) == ["Bare room", "Big room"]
    assert ids(minCapacity=8, features="projector,whiteboard") == ["Big room"]
    assert ids(features="projector") == ["Big room", "Small room"]
    assert ids(search="SMALL") == ["Small room"]
    assert ids(search=big["id"].partition("@")[0]) == ["Big room"]
    refused(rmp.get("/resources", params={"minCapacity": "many"}), 400, "minCapacity")


def test_renaming_a_type_keeps_its_resources_categories(server: RunningServer) -> None:
    rmp = admin(server)
    kind = resource_type(rmp, category="misc")
    own = create_resource(rmp, kind, unique("Own category "))  # in meeting-resources
    assert own["category"] == "meeting-resources"
    renamed = rmp.put(f"/resource-types/{kind}", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    shown = rmp.get(f"/resources/{own['id']}").json()["resource"]
    assert shown["category"] == "meeting-resources"
