"""iMIP (RFC 6047): meeting requests and cancellations as iCalendar e-mail.

A REQUEST goes out when a booking or event is made or changed with invitations asked
for, a CANCEL when it is called off; both carry the same UID and a rising SEQUENCE so
the attendee's calendar updates the one entry. Mail is sent after the change commits.

Attendees are routed as received mail is (`MailRoutingService`, with the organizer as
sender): one hosted here gets the invitation stored in their mailbox (through their
forwards, respecting their black list), one on another server gets it through the
outbound relay. Only the latter are the relay's envelope recipients, so a relay that
routes this server's domains back here delivers nothing twice. An attendee at a hosted
address that nobody holds gets nothing (the relay could only bounce it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from townhall import __version__
from townhall.domain.errors import Unavailable
from townhall.infrastructure.clock import Clock
from townhall.infrastructure.mail import Mailer

if TYPE_CHECKING:
    import icalendar

    from townhall.services.mail_routing import MailRoutingService
    from townhall.services.mailboxes import MailboxService

log = logging.getLogger(__name__)
NOT_HOSTED = "5.1.2"
"""The routing core's status for an address whose domain is not ours: the relay's."""

PRODID = f"-//Townhall//Townhall {__version__}//EN"


@dataclass(frozen=True, slots=True)
class Meeting:
    """What an invitation says about a booking or an event."""

    uid: str
    sequence: int
    title: str
    starts_at: datetime
    ends_at: datetime
    organizer: str
    attendees: tuple[str, ...]
    location: str | None = None
    rrule: str | None = None
    recurrence_id: datetime | None = None


class InvitationService:
    def __init__(
        self,
        mailer: Mailer,
        clock: Clock,
        routing: MailRoutingService | None = None,
        mailboxes: MailboxService | None = None,
    ) -> None:
        self._mailer = mailer
        self._clock = clock
        self._routing = routing
        self._mailboxes = mailboxes

    async def request(self, meeting: Meeting) -> bool:
        return await self._send("REQUEST", meeting)

    async def cancel(self, meeting: Meeting) -> bool:
        return await self._send("CANCEL", meeting)

    async def _send(self, method: str, meeting: Meeting) -> bool:
        if not meeting.attendees:
            return False
        verb = "Invitation" if method == "REQUEST" else "Cancelled"
        message = EmailMessage()
        message["Subject"] = f"{verb}: {meeting.title}"
        message["From"] = meeting.organizer
        message["To"] = ", ".join(meeting.attendees)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=meeting.organizer.rpartition("@")[2] or None)
        message.set_content(f"{verb}: {meeting.title}\n{meeting.starts_at:%Y-%m-%d %H:%M} UTC\n")
        message.add_alternative(
            self.calendar(method, meeting),
            subtype="calendar",
            params={"method": method},
        )
        local, external = await self._routes(meeting)
        delivered = False
        if local and self._mailboxes is not None:
            try:
                await self._mailboxes.deliver(local, message.as_bytes())
                delivered = True
            except (OSError, Unavailable) as exc:
                log.warning("could not store the invitation %s: %s", meeting.uid, exc)
        relayed = await self._mailer.send(message, external) if external else False
        return delivered or relayed

    async def _routes(self, meeting: Meeting) -> tuple[list[tuple[int, str]], list[str]]:
        """The mailboxes here and the addresses elsewhere the invitation goes to."""
        if self._routing is None or self._mailboxes is None:
            return [], list(meeting.attendees)
        local: list[tuple[int, str]] = []
        external: list[str] = []
        for attendee in meeting.attendees:
            route = await self._routing.resolve(attendee, meeting.organizer)
            if route.accepted:
                local += [m for m in route.mailboxes if m not in local]
                external += [a for a in route.external if a not in external]
            elif route.reply.startswith(NOT_HOSTED) and attendee not in external:
                external.append(attendee)
        return local, external

    def calendar(self, method: str, meeting: Meeting) -> str:
        import icalendar  # on first use: a large package most workers never need

        calendar = icalendar.Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("method", method)
        calendar.add_component(self._event(method, meeting))
        return str(calendar.to_ical().decode())

    def _event(self, method: str, meeting: Meeting) -> icalendar.Event:
        import icalendar

        event = icalendar.Event()
        event.add("uid", meeting.uid)
        event.add("sequence", meeting.sequence)
        event.add("dtstamp", self._clock.now())
        event.add("dtstart", meeting.starts_at)
        event.add("dtend", meeting.ends_at)
        event.add("summary", meeting.title)
        if meeting.location:
            event.add("location", meeting.location)
        if meeting.rrule and meeting.recurrence_id is None:
            event.add("rrule", icalendar.vRecur.from_ical(meeting.rrule))
        if meeting.recurrence_id is not None:
            event.add("recurrence-id", meeting.recurrence_id)
        event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
        event.add("organizer", icalendar.vCalAddress(f"mailto:{meeting.organizer}"))
        for attendee in meeting.attendees:
            address = icalendar.vCalAddress(f"mailto:{attendee}")
            address.params["ROLE"] = icalendar.vText("REQ-PARTICIPANT")
            address.params["PARTSTAT"] = icalendar.vText("NEEDS-ACTION")
            address.params["RSVP"] = icalendar.vText("TRUE")
            event.add("attendee", address, encode=False)
        return event
