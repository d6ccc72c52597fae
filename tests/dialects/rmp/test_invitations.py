"""iMIP: bookings send iCalendar REQUEST / CANCEL mail through a real SMTP server."""

from __future__ import annotations

import asyncio
import email
import socket
import time
from collections.abc import Iterator
from email.message import Message
from typing import Any

import aiohttp
import icalendar
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import RunningServer, start_server, stop_server
from tests.dialects.rmp.test_events import bearer, next_of, ws_url
from tests.helpers.rmp import admin, at, book, make_resource


class Inbox:
    """aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def wait(self, count: int, timeout: float = 10) -> list[tuple[list[str], Message]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, self.messages
        return self.messages


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailing_server(server: RunningServer) -> Iterator[tuple[RunningServer, Inbox]]:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    running = start_server(
        server.database_url,
        server.log.with_name("mail.log"),
        TOWNHALL_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
    )
    try:
        yield running, inbox
    finally:
        stop_server(running)
        smtp.stop()


def calendar_of(message: Message) -> icalendar.Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") in ("REQUEST", "CANCEL")
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def test_request_then_cancel_share_the_uid(mailing_server: tuple[RunningServer, Inbox]) -> None:
    server, inbox = mailing_server
    rmp = admin(server)
    resource = make_resource(rmp)
    attendees = ["ann@example.net", "bob@example.net"]
    made = book(rmp, resource, at(10, 8), at(11, 8), attendees=attendees, sendInvitations=True)
    assert made.status_code == 201, made.text
    recipients, invitation = inbox.wait(1)[0]
    assert sorted(recipients) == attendees
    request = calendar_of(invitation)
    assert str(request["METHOD"]) == "REQUEST"
    event = request.walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Team Meeting"
    assert event.decoded("DTSTART").strftime("%Y-%m-%dT%H:%M:%SZ") == at(10, 8)
    assert sorted(str(a).removeprefix("mailto:") for a in event["ATTENDEE"]) == attendees
    booking_id = made.json()["booking"]["id"]
    assert rmp.delete(f"/bookings/{booking_id}").status_code == 200
    _, cancellation = inbox.wait(2)[1]
    cancel = calendar_of(cancellation)
    assert str(cancel["METHOD"]) == "CANCEL"
    cancelled = cancel.walk("VEVENT")[0]
    assert str(cancelled["UID"]) == str(event["UID"])
    assert int(cancelled["SEQUENCE"]) > int(event["SEQUENCE"])
    assert str(cancelled["STATUS"]) == "CANCELLED"


def test_no_mail_unless_asked(mailing_server: tuple[RunningServer, Inbox]) -> None:
    server, inbox = mailing_server
    rmp = admin(server)
    resource = make_resource(rmp)
    made = book(rmp, resource, at(12, 8), at(13, 8), attendees=["c@example.net"])
    assert made.status_code == 201
    booking_id = made.json()["booking"]["id"]
    moved = {"title": "Moved", "colour": "red"}  # an update, with a field RMP does not know
    assert rmp.put(f"/bookings/{booking_id}", json=moved).status_code == 200
    rmp.delete(f"/bookings/{booking_id}", params={"sendCancellation": "false"})
    time.sleep(0.5)
    assert inbox.messages == []


def test_calendar_events_invite_and_cancel_one_occurrence(
    mailing_server: tuple[RunningServer, Inbox],
) -> None:
    server, inbox = mailing_server
    rmp = admin(server)
    weekly = {
        "title": "Stand-up",
        "startTime": at(9, 9),
        "endTime": at(9.25, 9),
        "attendees": ["dev@example.net"],
        "recurrence": "FREQ=WEEKLY;COUNT=4",
    }
    made = rmp.post("/calendars/Calendar/events", json=weekly)
    assert made.status_code == 201, made.text
    request = calendar_of(inbox.wait(1)[0][1]).walk("VEVENT")[0]
    assert "FREQ=WEEKLY" in request["RRULE"].to_ical().decode()
    event_id = made.json()["event"]["id"]
    second = at(9, 16)
    gone = rmp.delete(f"/calendars/Calendar/events/{event_id}", params={"recurrenceId": second})
    assert gone.status_code == 200, gone.text
    cancel = calendar_of(inbox.wait(2)[1][1])
    occurrence = cancel.walk("VEVENT")[0]
    assert str(cancel["METHOD"]) == "CANCEL" and str(occurrence["UID"]) == str(request["UID"])
    assert occurrence.decoded("RECURRENCE-ID").strftime("%Y-%m-%dT%H:%M:%SZ") == second


async def test_deleting_a_resource_cancels_its_bookings_as_a_cancel_does(
    mailing_server: tuple[RunningServer, Inbox],
) -> None:
    """Its future bookings are cancelled (an event each, a CANCEL to their attendees),
    not dropped without a word."""
    server, inbox = mailing_server
    rmp = admin(server)
    resource = make_resource(rmp)
    attendees = ["dee@example.net"]
    made = book(rmp, resource, at(9, 9), at(10, 9), attendees=attendees, sendInvitations=True)
    assert made.status_code == 201, made.text
    booking_id = made.json()["booking"]["id"]
    request = calendar_of(inbox.wait(1)[0][1]).walk("VEVENT")[0]
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(server, bearer(rmp))) as ws:
        assert (await ws.receive_json())["type"] == "connected"
        gone = await asyncio.to_thread(rmp.delete, f"/resources/{resource}")
        assert gone.status_code == 200, gone.text
        pushed = await next_of(ws, "booking.cancelled")
        assert (pushed["data"]["id"], pushed["data"]["status"]) == (booking_id, "cancelled")
    recipients, cancellation = (await asyncio.to_thread(inbox.wait, 2))[1]
    assert recipients == attendees
    cancelled = calendar_of(cancellation).walk("VEVENT")[0]
    assert str(cancelled["UID"]) == str(request["UID"])
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert rmp.get(f"/bookings/{booking_id}").status_code == 404
