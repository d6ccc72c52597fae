"""`/calendars`, their events and `/freebusy`.

A caller reaches its own calendars and those shared with it; `{calendar}` is the
calendar's name as `GET /calendars` lists it. Event ids are strings; an occurrence of a
recurring event carries the series' id and its `recurrenceId` (original start). An
update changes the whole series, or with `recurrenceId` (query or body) that occurrence
only. An event list says `truncated: true` when a series had more occurrences in the
range than one read expands. `sendInvitations` / `sendCancellation` (both true by
default, as the reference says) send iMIP REQUEST / CANCEL mail to the attendees.
`POST /calendars` makes a calendar; `POST /calendars/{calendar}/shares` shares one with
a person (`email`) or a server group (`group`), `read-only` or `read-write`;
`DELETE /calendars/{calendar}/shares/{who}` (an address, or a group's name) ends that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

import msgspec
from litestar import Response, Router, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from townhall.domain.models import BusyPeriod, CalendarEvent, CalendarInfo
from townhall.domain.principal import Principal
from townhall.services.calendars import CalendarService, EventChanges, EventDraft, Sharee

from .. import kit
from ..documents import Param, wire
from .http import TIME, AnyRequest, body, iso, ok, parse_time, require_time
from .models import Body, Time


class CreateEvent(Body):
    title: str
    start_time: Time
    end_time: Time
    location: str | None = None
    attendees: list[str] = []
    recurrence: str | None = None
    send_invitations: bool = True


class UpdateEvent(Body):
    """Absent fields stay as they are; `location` or `recurrence` null removes it."""

    title: str | None = None
    start_time: Time | None = None
    end_time: Time | None = None
    location: str | msgspec.UnsetType | None = msgspec.UNSET
    attendees: list[str] | None = None
    recurrence: str | msgspec.UnsetType | None = msgspec.UNSET
    send_invitations: bool = True
    recurrence_id: Time | None = None
    """Change this occurrence only (its original start), as the query parameter does."""


class CreateCalendar(Body):
    name: str


class ShareCalendar(Body):
    """Exactly one of `email` (a person) and `group` (a server group's name)."""

    email: str | None = None
    group: str | None = None
    access: str = "read-only"


class ShareWire(TypedDict):
    email: NotRequired[str]
    group: NotRequired[str]
    access: NotRequired[str]


class OneShare(TypedDict):
    success: bool
    calendar: str
    share: ShareWire


class OneCalendar(TypedDict):
    success: bool
    calendar: CalendarWire


class CalendarWire(TypedDict):
    name: str
    type: str
    access: str


class EventWire(TypedDict):
    id: str
    title: str
    startTime: str
    endTime: str
    location: str | None
    attendees: list[str]
    organizer: str | None
    calendar: str
    recurrence: NotRequired[str]
    recurrenceId: NotRequired[str]
    participationStatus: NotRequired[str]


BusyWire = TypedDict("BusyWire", {"from": str, "till": str, "type": str})
"""A busy period (`from` is a Python keyword, so the functional spelling)."""


class Calendars(TypedDict):
    success: bool
    calendars: list[CalendarWire]


class Events(TypedDict):
    success: bool
    events: list[EventWire]
    truncated: bool


class OneEvent(TypedDict):
    success: bool
    event: EventWire


class FreeBusy(TypedDict):
    success: bool
    periods: list[BusyWire]


RECURRENCE_ID = Param("recurrenceId", TIME, description="one occurrence: its original start")


def render_calendar(calendar: CalendarInfo) -> CalendarWire:
    return {"name": calendar.name, "type": calendar.type, "access": calendar.access}


def render_event(event: CalendarEvent) -> EventWire:
    rendered: EventWire = {
        "id": event.id,
        "title": event.title,
        "startTime": iso(event.starts_at),
        "endTime": iso(event.ends_at),
        "location": event.location,
        "attendees": list(event.attendees),
        "organizer": event.organizer,
        "calendar": event.calendar,
    }
    if event.rrule:
        rendered["recurrence"] = event.rrule
    if event.recurrence_id is not None:
        rendered["recurrenceId"] = iso(event.recurrence_id)
    if event.partstat is not None:  # an invitation: the reader's answer
        rendered["participationStatus"] = event.partstat
    return rendered


def render_period(period: BusyPeriod) -> BusyWire:
    return {"from": iso(period.starts_at), "till": iso(period.ends_at), "type": period.type}


def _cleared(value: str | msgspec.UnsetType | None) -> str | None:
    """The service's spelling of a partial field: None keeps, "" removes."""
    if value is msgspec.UNSET:
        return None
    return value or ""


EVENT = "/calendars/{calendar:str}/events/{event_id:str}"


@dataclass(frozen=True, slots=True)
class EventRef:
    """The event a path names: its calendar and its id."""

    calendar: str
    id: str


def _event_ref(calendar: FromPath[str], event_id: FromPath[str]) -> EventRef:
    return EventRef(calendar, event_id)


EVENT_REF = {"event": Provide(_event_ref, sync_to_thread=False)}


@get("/calendars", opt=wire(answers={200: Calendars}))
async def list_calendars(
    calendars: NamedDependency[CalendarService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    found = await calendars.calendars(principal)
    return ok(calendars=[render_calendar(c) for c in found])


@get(
    "/calendars/{calendar:str}/events",
    opt=wire(
        params=(
            Param("startDate", TIME, required=True),
            Param("endDate", TIME, required=True),
            Param("includeRecurring", bool),
        ),
        answers={200: Events},
    ),
)
async def list_events(
    request: AnyRequest,
    calendar: FromPath[str],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    found = await calendars.event_list(
        principal,
        calendar,
        require_time(query.get("startDate"), "startDate"),
        require_time(query.get("endDate"), "endDate"),
        kit.boolean(query.get("includeRecurring"), "includeRecurring", True),
    )
    return ok(events=[render_event(e) for e in found.events], truncated=found.truncated)


@post(
    "/calendars/{calendar:str}/events",
    status_code=201,
    opt=wire(CreateEvent, answers={201: OneEvent}),
)
async def create_event(
    request: AnyRequest,
    calendar: FromPath[str],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, CreateEvent)
    draft = EventDraft(
        title=asked.title,
        starts_at=require_time(asked.start_time, "startTime"),
        ends_at=require_time(asked.end_time, "endTime"),
        location=asked.location,
        attendees=tuple(asked.attendees),
        rrule=asked.recurrence or None,
    )
    created = await calendars.create_event(
        principal, calendar, draft, invite=asked.send_invitations
    )
    return ok(201, event=render_event(created))


@get(EVENT, dependencies=EVENT_REF, opt=wire(params=(RECURRENCE_ID,), answers={200: OneEvent}))
async def event_detail(
    request: AnyRequest,
    event: NamedDependency[EventRef],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    occurrence = parse_time(request.query_params.get("recurrenceId"), "recurrenceId", False)
    found = await calendars.event(principal, event.calendar, event.id, occurrence)
    return ok(event=render_event(found))


@put(
    EVENT,
    dependencies=EVENT_REF,
    opt=wire(UpdateEvent, params=(RECURRENCE_ID,), answers={200: OneEvent}),
)
async def update_event(
    request: AnyRequest,
    event: NamedDependency[EventRef],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, UpdateEvent)
    occurrence = parse_time(
        asked.recurrence_id or request.query_params.get("recurrenceId"), "recurrenceId", False
    )
    changes = EventChanges(
        title=asked.title,
        starts_at=parse_time(asked.start_time, "startTime", required=False),
        ends_at=parse_time(asked.end_time, "endTime", required=False),
        location=_cleared(asked.location),
        attendees=tuple(asked.attendees) if asked.attendees is not None else None,
        rrule=_cleared(asked.recurrence),
    )
    updated = await calendars.update_event(
        principal, event.calendar, event.id, changes, asked.send_invitations, occurrence
    )
    return ok(event=render_event(updated))


@delete(
    EVENT,
    status_code=200,
    dependencies=EVENT_REF,
    opt=wire(
        params=(Param("sendCancellation", bool), RECURRENCE_ID),
        answers={200: OneEvent},
    ),
)
async def delete_event(
    request: AnyRequest,
    event: NamedDependency[EventRef],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    notify = kit.boolean(query.get("sendCancellation"), "sendCancellation", True)
    occurrence = parse_time(query.get("recurrenceId"), "recurrenceId", required=False)
    gone = await calendars.delete_event(principal, event.calendar, event.id, occurrence, notify)
    return ok(event=render_event(gone))


@post("/calendars", status_code=201, opt=wire(CreateCalendar, answers={201: OneCalendar}))
async def create_calendar(
    request: AnyRequest,
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, CreateCalendar)
    made = await calendars.create_calendar(principal, asked.name)
    return ok(201, calendar=render_calendar(made))


def _sharee(email: str | None, group: str | None) -> Sharee:
    if (email is None) == (group is None):
        raise kit.Malformed("email", "give either email (a person) or group (a server group)")
    return Sharee(address=email, group=group)


def _share(sharee: Sharee, access: str | None = None) -> ShareWire:
    told: ShareWire = {"email": sharee.address} if sharee.address else {"group": sharee.group or ""}
    if access is not None:
        told["access"] = access
    return told


@post(
    "/calendars/{calendar:str}/shares",
    status_code=201,
    opt=wire(ShareCalendar, answers={201: OneShare}),
)
async def share_calendar(
    request: AnyRequest,
    calendar: FromPath[str],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, ShareCalendar)
    sharee = _sharee(asked.email, asked.group)
    await calendars.share_calendar(principal, calendar, sharee, asked.access)
    return ok(201, calendar=calendar, share=_share(sharee, asked.access))


@delete(
    "/calendars/{calendar:str}/shares/{who:str}",
    status_code=200,
    opt=wire(answers={200: OneShare}),
)
async def unshare_calendar(
    calendar: FromPath[str],
    who: FromPath[str],
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    sharee = Sharee(address=who) if "@" in who else Sharee(group=who)
    await calendars.unshare_calendar(principal, calendar, sharee)
    return ok(calendar=calendar, share=_share(sharee))


@get(
    "/freebusy",
    opt=wire(
        params=(
            Param("email", required=True),
            Param("startTime", TIME, required=True),
            Param("endTime", TIME, required=True),
        ),
        answers={200: FreeBusy},
    ),
)
async def free_busy(
    request: AnyRequest,
    calendars: NamedDependency[CalendarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    address = (query.get("email") or "").strip()
    if not address:
        raise kit.Malformed("email", "is required")
    periods = await calendars.freebusy(
        principal,
        address,
        require_time(query.get("startTime"), "startTime"),
        require_time(query.get("endTime"), "endTime"),
    )
    return ok(periods=[render_period(p) for p in periods])


router = Router(
    path="/",
    route_handlers=[
        list_calendars,
        create_calendar,
        share_calendar,
        unshare_calendar,
        list_events,
        create_event,
        event_detail,
        update_event,
        delete_event,
        free_busy,
    ],
)
