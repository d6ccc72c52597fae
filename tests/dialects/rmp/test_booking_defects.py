"""Booking defects users met (issue 14, item 6): invited people, a domain admin's own
bookings, moving a booking to another resource, and what DELETE answers."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.conftest import RunningServer, unique
from tests.dialects.rmp.test_events import bearer, next_of, ws_url
from tests.helpers.rmp import (
    DOMAIN,
    Rmp,
    admin,
    at,
    book,
    make_resource,
    person,
    refused,
    resource_type,
)

EVENTS = "/calendars/Calendar/events"


def _day(rmp: Rmp, day: int = 1) -> list[dict[str, Any]]:
    """The caller's own calendar's events of day `day`."""
    answer = rmp.get(EVENTS, params={"startDate": at(0, day), "endDate": at(24, day)})
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]  # type: ignore[no-any-return]


def _busy(rmp: Rmp, email: str, day: int = 1) -> list[dict[str, str]]:
    params = {"email": email, "startTime": at(0, day), "endTime": at(24, day)}
    answer = rmp.get("/freebusy", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["periods"]  # type: ignore[no-any-return]


def _ids(rmp: Rmp, **params: str) -> list[str]:
    answer = rmp.get("/bookings", params=params)
    assert answer.status_code == 200, answer.text
    return [b["id"] for b in answer.json()["bookings"]]


def test_an_invited_person_sees_the_booking_holds_it_and_is_busy(server: RunningServer) -> None:
    resource = make_resource(admin(server))
    ann, _ = person(server)
    bob, bob_email = person(server)
    carol, _ = person(server)
    made = book(ann, resource, at(14), at(15), attendees=[bob_email.upper(), "guest@example.net"])
    assert made.status_code == 201, made.text
    booking = made.json()["booking"]

    seen = bob.get(f"/bookings/{booking['id']}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["booking"] == booking
    assert _ids(bob) == [booking["id"]]
    refused(carol.get(f"/bookings/{booking['id']}"), 404)
    assert _ids(carol) == []

    # Read-only for the invited: they change nothing.
    refused(bob.put(f"/bookings/{booking['id']}", json={"title": "Mine now"}), 403)
    refused(bob.delete(f"/bookings/{booking['id']}"), 403)
    assert ann.get(f"/bookings/{booking['id']}").json()["booking"]["title"] == "Team Meeting"

    [invitation] = _day(bob)
    assert invitation["title"] == "Team Meeting" and invitation["location"] == resource
    assert (invitation["startTime"], invitation["endTime"]) == (at(14), at(15))
    assert invitation["participationStatus"] == "NEEDS-ACTION"
    [own] = _day(ann)
    assert own["id"] == booking["calendarEventId"] and "participationStatus" not in own
    assert _busy(ann, bob_email) == [{"from": at(14), "till": at(15), "type": "BUSY"}]

    # A change reaches the invitation; uninviting takes it away again.
    moved = ann.put(f"/bookings/{booking['id']}", json={"startTime": at(16), "endTime": at(17)})
    assert moved.status_code == 200, moved.text
    assert [(e["startTime"], e["endTime"]) for e in _day(bob)] == [(at(16), at(17))]
    dropped = ann.put(f"/bookings/{booking['id']}", json={"attendees": ["guest@example.net"]})
    assert dropped.status_code == 200, dropped.text
    refused(bob.get(f"/bookings/{booking['id']}"), 404)
    assert _ids(bob) == [] and _day(bob) == [] and _busy(ann, bob_email) == []


def test_an_invitation_added_later_and_a_cancelled_booking(server: RunningServer) -> None:
    resource = make_resource(admin(server))
    ann, _ = person(server)
    bob, bob_email = person(server)
    booking = book(ann, resource, at(9, day=3), at(10, day=3)).json()["booking"]
    refused(bob.get(f"/bookings/{booking['id']}"), 404)
    invited = ann.put(f"/bookings/{booking['id']}", json={"attendees": [bob_email]})
    assert invited.status_code == 200, invited.text
    assert bob.get(f"/bookings/{booking['id']}").status_code == 200
    assert _busy(bob, bob_email, day=3) == [
        {"from": at(9, day=3), "till": at(10, day=3), "type": "BUSY"}
    ]
    cancelled = ann.delete(f"/bookings/{booking['id']}", params={"sendCancellation": "false"})
    assert cancelled.status_code == 200, cancelled.text
    assert bob.get(f"/bookings/{booking['id']}").json()["booking"]["status"] == "cancelled"
    assert _busy(bob, bob_email, day=3) == [] and _day(bob, day=3) == []


def test_a_domain_admin_lists_its_own_bookings_of_rooms_outside_its_domains(
    server: RunningServer,
) -> None:
    root = admin(server)
    other = f"{unique('other')}.test"
    assert root.post("/domains", json={"domain": other, "type": "primary"}).status_code == 201
    email = f"{unique('dadmin')}@{other}"
    made = root.post(
        "/users",
        json={"email": email, "password": "pw-123456", "realName": "Admin", "isAdmin": True},
    )
    assert made.status_code == 201, made.text
    dadmin = Rmp(server).login(email.replace(other, DOMAIN), "pw-123456")
    assert dadmin.login_answer["user"]["isDomainAdmin"] is True
    resource = make_resource(root)
    assert resource.endswith(DOMAIN)
    mine = book(dadmin, resource, at(9, day=4), at(10, day=4))
    assert mine.status_code == 201, mine.text
    someone, _ = person(server)
    theirs = book(someone, resource, at(11, day=4), at(12, day=4)).json()["booking"]
    assert _ids(dadmin) == [mine.json()["booking"]["id"]]  # not someone else's
    assert _ids(dadmin, resourceId=resource) == [mine.json()["booking"]["id"]]
    refused(dadmin.get(f"/bookings/{theirs['id']}"), 404)


def test_put_moves_a_booking_to_another_resource(server: RunningServer) -> None:
    root = admin(server)
    first, second, third = make_resource(root), make_resource(root), make_resource(root)
    ann, _ = person(server)
    bob, bob_email = person(server)
    booking = book(ann, first, at(9), at(10), attendees=[bob_email]).json()["booking"]
    taken = book(bob, second, at(9.5), at(10.5)).json()["booking"]

    lost = refused(ann.put(f"/bookings/{booking['id']}", json={"resourceId": second}), 409)
    assert lost["code"] == "BOOKING_CONFLICT"
    assert [c["bookingId"] for c in lost["details"]["conflicts"]] == [taken["id"]]
    assert ann.get(f"/bookings/{booking['id']}").json()["booking"]["resourceId"] == first
    missing = ann.put(f"/bookings/{booking['id']}", json={"resourceId": f"nope@x.res.{DOMAIN}"})
    refused(missing, 404)
    refused(bob.put(f"/bookings/{booking['id']}", json={"resourceId": third}), 403)

    moved = ann.put(f"/bookings/{booking['id']}", json={"resourceId": third.upper()})
    assert moved.status_code == 200, moved.text
    assert moved.json()["booking"]["resourceId"] == third
    assert ann.get(f"/bookings/{booking['id']}").json()["booking"]["resourceId"] == third
    assert _ids(ann, resourceId=first) == [] and _ids(ann, resourceId=third) == [booking["id"]]
    # The resource's event went along: the old resource is free, the new one taken.
    assert _busy(ann, first) == []
    assert _busy(ann, third) == [{"from": at(9), "till": at(10), "type": "BUSY"}]
    slot = {"startTime": at(9), "endTime": at(10)}
    assert ann.get(f"/resources/{first}/availability", params=slot).json()["available"] is True
    assert book(bob, first, at(9), at(10)).status_code == 201
    refused(book(bob, third, at(9), at(10)), 409)
    # And the people's events name the new place.
    assert [e["location"] for e in _day(ann)] == [third]
    invitations = [e for e in _day(bob) if e.get("participationStatus")]
    assert [e["location"] for e in invitations] == [third]


def test_deleting_a_resource_answers_the_resource(server: RunningServer) -> None:
    root = admin(server)
    resource = make_resource(root)
    before = root.get(f"/resources/{resource}").json()["resource"]
    gone = root.delete(f"/resources/{resource}")
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"success": True, "resource": before}
    refused(root.get(f"/resources/{resource}"), 404)


def test_create_calendar_false_makes_no_calendar(server: RunningServer) -> None:
    root = admin(server)
    made: dict[bool, str] = {}
    for wanted in (True, False):
        email = f"{unique('cal')}@{DOMAIN}"
        answer = root.post(
            "/users",
            json={
                "email": email,
                "password": "pw-123456",
                "realName": "Cal",
                "createCalendar": wanted,
            },
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["user"]["hasCalendar"] is wanted
        assert root.get(f"/users/{email}").json()["user"]["hasCalendar"] is wanted
        made[wanted] = email
    listed = root.get("/users", params={"search": made[False].partition("@")[0]}).json()
    assert [u["hasCalendar"] for u in listed["users"]] == [False]
    # Without one, the person's first use of calendars makes it, as for anyone.
    nocal = Rmp(server).login(made[False], "pw-123456")
    assert [c["name"] for c in nocal.get("/calendars").json()["calendars"]] == ["Calendar"]
    assert root.get(f"/users/{made[False]}").json()["user"]["hasCalendar"] is True
    wrong = {"email": f"{unique('cal')}@{DOMAIN}", "password": "pw-123456", "realName": "C"}
    refused(root.post("/users", json={**wrong, "createCalendar": "no"}), 400, "createCalendar")


def test_deleting_a_user_answers_the_user(server: RunningServer) -> None:
    root = admin(server)
    _, email = person(server)
    before = root.get(f"/users/{email}").json()["user"]
    gone = root.delete(f"/users/{email}")
    assert gone.status_code == 200, gone.text
    shown = {k: before[k] for k in ("email", "realName", "type", "hasCalendar", "isAdmin")}
    assert gone.json() == {"success": True, "user": shown, "dataDeleted": False}
    refused(root.get(f"/users/{email}"), 404)


def test_an_invitation_under_another_address_of_the_person(server: RunningServer) -> None:
    """A person answers under each person domain of the tenant: an invitation to their
    alias address is theirs, and the list, the detail and search agree on it."""
    root = admin(server)
    alias = f"{unique('alias')}.test"
    assert root.post("/domains", json={"domain": alias, "type": "primary"}).status_code == 201
    resource = make_resource(root)
    ann, _ = person(server)
    bob, bob_email = person(server)
    title = unique("Planning")
    at_alias = bob_email.replace(DOMAIN, alias)
    made = book(ann, resource, at(11, day=5), at(12, day=5), attendees=[at_alias], title=title)
    assert made.status_code == 201, made.text
    booking = made.json()["booking"]
    assert bob.get(f"/bookings/{booking['id']}").status_code == 200
    assert _ids(bob) == [booking["id"]]
    found = bob.post("/search", json={"query": title, "types": ["bookings"]})
    assert found.status_code == 200, found.text
    assert [b["id"] for b in found.json()["results"]["bookings"]] == [booking["id"]]
    assert [e["participationStatus"] for e in _day(bob, day=5)] == ["NEEDS-ACTION"]


async def test_an_invited_person_hears_of_the_booking(server: RunningServer) -> None:
    """WebSocket events follow REST: the invited hear of the booking, others do not, and
    the ids that decide it are not shown."""
    resource = make_resource(admin(server))
    ann, _ = person(server)
    bob, bob_email = person(server)
    carol, _ = person(server)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url(server, bearer(bob))) as bob_ws,
        http.ws_connect(ws_url(server, bearer(carol))) as carol_ws,
    ):
        assert (await bob_ws.receive_json())["type"] == "connected"
        assert (await carol_ws.receive_json())["type"] == "connected"
        made = await asyncio.to_thread(
            book, ann, resource, at(8, 6), at(9, 6), attendees=[bob_email]
        )
        pushed = await next_of(bob_ws, "booking.created")
        assert pushed["data"]["id"] == made.json()["booking"]["id"]
        assert "invited_ids" not in pushed["data"] and "organizer_id" not in pushed["data"]
        with pytest.raises(TimeoutError):
            await next_of(carol_ws, "booking.created", timeout=1)
        booking_id = made.json()["booking"]["id"]
        path = f"/bookings/{booking_id}"
        await asyncio.to_thread(ann.delete, path, params={"sendCancellation": "false"})
        assert (await next_of(bob_ws, "booking.cancelled"))["data"]["id"] == booking_id


def test_a_move_needs_rights_over_the_target(server: RunningServer) -> None:
    """An admin who did not organise a booking moves it only between resources it
    administers; bad targets are refused naming `resourceId`, nothing changed."""
    root = admin(server)
    alias = f"{unique('site')}.test"
    assert root.post("/domains", json={"domain": alias, "type": "primary"}).status_code == 201
    local = unique("siteadmin")
    made = root.post(
        "/users",
        json={
            "email": f"{local}@{alias}",
            "password": "pw-123456",
            "realName": "Site admin",
            "isAdmin": True,
        },
    )
    assert made.status_code == 201, made.text
    site_admin = Rmp(server).login(f"{local}@{DOMAIN}", "pw-123456")
    kind = resource_type(root)

    def room(domain: str) -> str:
        answer = root.post(
            "/resources",
            json={
                "name": unique("Room "),
                "type": kind,
                "category": "meeting-resources",
                "customFields": {"capacity": 4},
                "domain": f"rooms.resources.{domain}",
            },
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["resource"]["id"])

    here, there, elsewhere = room(alias), room(alias), room(DOMAIN)
    ann, _ = person(server)
    booking = book(ann, here, at(13, day=7), at(14, day=7)).json()["booking"]
    assert site_admin.get(f"/bookings/{booking['id']}").status_code == 200
    path = f"/bookings/{booking['id']}"
    refused(site_admin.put(path, json={"resourceId": elsewhere}), 403)
    refused(site_admin.put(path, json={"resourceId": ""}), 400, "resourceId")
    refused(site_admin.put(path, json={"resourceId": 5}), 400, "resourceId")
    assert ann.get(path).json()["booking"]["resourceId"] == here
    moved = site_admin.put(path, json={"resourceId": there})
    assert moved.status_code == 200, moved.text
    assert moved.json()["booking"]["resourceId"] == there
    # The organiser may move it anywhere in the tenant.
    assert (
        ann.put(path, json={"resourceId": elsewhere}).json()["booking"]["resourceId"] == elsewhere
    )
