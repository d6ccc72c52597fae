"""RMP bookings: create, list, update, cancel, conflicts, availability; against a server."""

from __future__ import annotations

from tests.conftest import RunningServer
from tests.helpers.rmp import DOMAIN, admin, at, book, make_resource, person, refused


def test_create_answers_the_reference_shape_and_writes_two_events(server: RunningServer) -> None:
    resource = make_resource(admin(server))
    rmp, email = person(server)
    made = book(rmp, resource, at(14), at(15), attendees=["b@example.net"])
    assert made.status_code == 201, made.text
    booking = made.json()["booking"]
    assert booking["id"].startswith("RMP-") and len(booking["id"].split("-")[2]) == 9
    assert booking["resourceId"] == resource
    assert (booking["startTime"], booking["endTime"]) == (at(14), at(15))
    assert booking["status"] == "confirmed" and booking["organizer"] == email
    assert booking["attendees"] == ["b@example.net"] and booking["calendarEventId"]
    assert rmp.get(f"/bookings/{booking['id']}").json()["booking"] == booking


def test_half_open_intervals_and_the_409_names_the_winner(server: RunningServer) -> None:
    resource = make_resource(admin(server))
    rmp, _ = person(server)
    first = book(rmp, resource, at(9), at(10)).json()["booking"]
    assert book(rmp, resource, at(10), at(11)).status_code == 201  # touching is fine
    assert book(rmp, resource, at(8), at(9)).status_code == 201
    lost = refused(book(rmp, resource, at(9.5), at(10.5)), 409)
    assert lost["code"] == "BOOKING_CONFLICT"
    assert first["id"] in [c["bookingId"] for c in lost["details"]["conflicts"]]
    inside = refused(book(rmp, resource, at(9.25), at(9.75)), 409)
    assert [c["bookingId"] for c in inside["details"]["conflicts"]] == [first["id"]]


def test_a_conflict_names_times_as_precise_as_stored(server: RunningServer) -> None:
    resource = make_resource(admin(server))
    rmp, _ = person(server)
    ends = at(10).replace("Z", ".250000Z")
    first = book(rmp, resource, at(9), ends).json()["booking"]
    assert first["endTime"] == ends
    assert rmp.get(f"/bookings/{first['id']}").json()["booking"]["endTime"] == ends
    lost = refused(book(rmp, resource, at(10), at(11)), 409)  # 10:00 is before 10:00.25
    assert [c["bookingId"] for c in lost["details"]["conflicts"]] == [first["id"]]
    assert book(rmp, resource, ends, at(11)).status_code == 201


def test_cancel_frees_the_slot_and_update_rechecks(server: RunningServer) -> None:
    resource = make_resource(admin(server))
    rmp, _ = person(server)
    one = book(rmp, resource, at(9), at(10)).json()["booking"]
    two = book(rmp, resource, at(11), at(12)).json()["booking"]
    moved = rmp.put(f"/bookings/{two['id']}", json={"startTime": at(9.5), "endTime": at(10.5)})
    refused(moved, 409)
    assert rmp.get(f"/bookings/{two['id']}").json()["booking"]["startTime"] == at(11)
    cancelled = rmp.delete(f"/bookings/{one['id']}", params={"sendCancellation": "false"})
    assert cancelled.status_code == 200 and cancelled.json()["booking"]["status"] == "cancelled"
    moved = rmp.put(f"/bookings/{two['id']}", json={"startTime": at(9.5), "title": "Moved"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["booking"]["title"] == "Moved"
    assert moved.json()["booking"]["startTime"] == at(9.5)
    refused(rmp.put(f"/bookings/{one['id']}", json={"title": "again"}), 409)


def test_conflict_check_and_availability(server: RunningServer) -> None:
    rmp = admin(server)
    first, second = make_resource(rmp), make_resource(rmp)
    taken = book(rmp, first, at(13), at(14)).json()["booking"]
    check = rmp.post(
        "/bookings/conflicts",
        json={"resources": [first, second], "startTime": at(13.5), "endTime": at(15)},
    ).json()
    assert check["success"] is True and check["hasConflicts"] is True
    assert check["conflicts"] == [
        {
            "resourceId": first,
            "bookingId": taken["id"],
            "title": "Team Meeting",
            "startTime": at(13),
            "endTime": at(14),
        }
    ]
    free = rmp.get(
        f"/resources/{second}/availability", params={"startTime": at(13), "endTime": at(14)}
    )
    assert free.json() == {
        "success": True,
        "resourceId": second,
        "available": True,
        "conflicts": [],
    }
    busy = rmp.get(
        f"/resources/{first}/availability", params={"startTime": at(13), "endTime": at(14)}
    )
    assert busy.json()["available"] is False
    missing = {"resources": [f"nope@x.resources.{DOMAIN}"], "startTime": at(1), "endTime": at(2)}
    refused(rmp.post("/bookings/conflicts", json=missing), 404)


def test_lists_show_people_their_own_and_admins_everything(server: RunningServer) -> None:
    resource = make_resource(admin(server))
    ann, ann_email = person(server)
    bob, _ = person(server)
    mine = book(ann, resource, at(9, day=2), at(10, day=2)).json()["booking"]
    theirs = book(bob, resource, at(11, day=2), at(12, day=2)).json()["booking"]
    listed = ann.get("/bookings").json()
    assert [b["id"] for b in listed["bookings"]] == [mine["id"]]
    assert (listed["total"], listed["page"], listed["pages"]) == (1, 1, 1)
    refused(ann.get(f"/bookings/{theirs['id']}"), 404)
    refused(ann.delete(f"/bookings/{theirs['id']}"), 404)
    everything = admin(server).get("/bookings", params={"resourceId": resource, "limit": 1}).json()
    assert everything["total"] == 2 and everything["pages"] == 2
    assert [b["id"] for b in everything["bookings"]] == [mine["id"]]
    second = admin(server).get("/bookings", params={"resourceId": resource, "limit": 1, "page": 2})
    assert [b["id"] for b in second.json()["bookings"]] == [theirs["id"]]
    window = {"resourceId": resource, "startDate": at(10.5, day=2), "endDate": at(13, day=2)}
    assert [b["id"] for b in admin(server).get("/bookings", params=window).json()["bookings"]] == [
        theirs["id"]
    ]
    assert ann.get("/bookings", params={"status": "cancelled"}).json()["total"] == 0
    refused(admin(server).get("/bookings", params={"resourceId": resource, "page": 3}), 400, "page")
    refused(ann.get("/bookings", params={"status": "odd"}), 400, "status")
    assert ann_email


def test_bad_input_names_the_field_and_stores_nothing(server: RunningServer) -> None:
    rmp = admin(server)
    resource = make_resource(rmp)
    refused(book(rmp, resource, at(10), at(9)), 422, "endTime")
    refused(book(rmp, resource, "2030-01-01T10:00:00", at(9)), 400, "startTime")
    refused(book(rmp, resource, "tomorrow", at(9)), 400, "startTime")
    refused(book(rmp, resource, at(-30), at(-29)), 400, "startTime")  # the past
    refused(book(rmp, resource, at(1), at(1, day=3)), 400, "endTime")  # longer than 24 h
    refused(book(rmp, resource, at(9), at(10), attendees=["not-an-address"]), 400, "attendees[0]")
    refused(book(rmp, resource, at(9), at(10), title=" "), 400, "title")
    refused(book(rmp, resource, at(9), at(10), title=5), 400, "title")
    refused(book(rmp, f"ghost@x.resources.{DOMAIN}", at(9), at(10)), 404)
    refused(rmp.post("/bookings", json={"title": "x"}), 400, "resourceId")
    assert rmp.get("/bookings", params={"resourceId": resource}).json()["total"] == 0
    assert book(rmp, resource, at(9), at(10)).status_code == 201
