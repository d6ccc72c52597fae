"""`/bookings`, the conflict check and `/resources/{id}/availability`.

Who sees and changes which booking is the booking service's rule (people their own and,
read-only, those they are invited to; admins those of the resources under their
domains). `resourceId` on `PUT` moves a booking. Booking ids are RMP's
(`RMP-<epoch ms>-<9 base-36 characters>`): the domain's ids are opaque text its caller
names, so this dialect names the bookings it makes.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from typing import TypedDict

from litestar import Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.models import Booking
from townhall.domain.principal import Principal
from townhall.domain.queries import BookingQuery
from townhall.services.bookings import BookingChanges, BookingRequest, BookingService

from .. import kit
from ..documents import Param, wire
from .http import (
    PAGE_PARAMS,
    TIME,
    AnyRequest,
    ConflictWire,
    body,
    conflict,
    iso,
    ok,
    page,
    parse_time,
    require_time,
)
from .models import ConflictCheck, CreateBooking, UpdateBooking

BASE36 = string.digits + string.ascii_lowercase


def booking_id(now: datetime) -> str:
    """RMP's booking id: `RMP-<epoch ms>-<9 base-36 characters>`."""
    tail = "".join(secrets.choice(BASE36) for _ in range(9))
    return f"RMP-{int(now.timestamp() * 1000)}-{tail}"


class BookingWire(TypedDict):
    id: str
    resourceId: str
    title: str
    startTime: str
    endTime: str
    status: str
    organizer: str
    attendees: list[str]
    services: list[str]
    calendarEventId: str | None


class OneBooking(TypedDict):
    success: bool
    booking: BookingWire


class Bookings(TypedDict):
    success: bool
    bookings: list[BookingWire]
    total: int
    page: int
    pages: int


class Conflicts(TypedDict):
    success: bool
    hasConflicts: bool
    conflicts: list[ConflictWire]


class Availability(TypedDict):
    success: bool
    resourceId: str
    available: bool
    conflicts: list[ConflictWire]


SLOT = (Param("startTime", TIME, required=True), Param("endTime", TIME, required=True))


def render(booking: Booking) -> BookingWire:
    return {
        "id": booking.id,
        "resourceId": booking.resource,
        "title": booking.title,
        "startTime": iso(booking.starts_at),
        "endTime": iso(booking.ends_at),
        "status": booking.status,
        "organizer": booking.organizer,
        "attendees": list(booking.attendees),
        "services": list(booking.services),
        "calendarEventId": booking.calendar_event_id,
    }


@get(
    "/bookings",
    opt=wire(
        params=(
            Param("status"),
            Param("startDate", TIME),
            Param("endDate", TIME),
            Param("resourceId"),
            *PAGE_PARAMS,
        ),
        answers={200: Bookings},
    ),
)
async def list_bookings(
    request: AnyRequest,
    bookings: NamedDependency[BookingService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    where = BookingQuery(
        status=query.get("status") or None,
        since=parse_time(query.get("startDate"), "startDate", required=False),
        until=parse_time(query.get("endDate"), "endDate", required=False),
        resource=query.get("resourceId") or None,
    )
    asked = page(request)
    listed, total = await bookings.search(principal, where, asked.offset, asked.limit)
    return ok(bookings=[render(b) for b in listed], **asked.answer(total))


@post("/bookings", status_code=201, opt=wire(CreateBooking, answers={201: OneBooking}))
async def create_booking(
    request: AnyRequest,
    bookings: NamedDependency[BookingService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, CreateBooking)
    booking = await bookings.create(
        principal,
        BookingRequest(
            id=booking_id(bookings.clock.now()),
            resource=asked.resource_id,
            title=asked.title,
            starts_at=require_time(asked.start_time, "startTime"),
            ends_at=require_time(asked.end_time, "endTime"),
            attendees=tuple(asked.attendees),
            services=tuple(asked.services),
            status=asked.status,
        ),
        invite=asked.send_invitations,
    )
    return ok(201, booking=render(booking))


@get("/bookings/{booking_id:str}", opt=wire(answers={200: OneBooking}))
async def booking_detail(
    booking_id: FromPath[str],
    bookings: NamedDependency[BookingService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(booking=render(await bookings.get(principal, booking_id)))


@put("/bookings/{booking_id:str}", opt=wire(UpdateBooking, answers={200: OneBooking}))
async def update_booking(
    request: AnyRequest,
    booking_id: FromPath[str],
    bookings: NamedDependency[BookingService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, UpdateBooking)
    changes = BookingChanges(
        resource=asked.resource_id,
        title=asked.title,
        starts_at=parse_time(asked.start_time, "startTime", required=False),
        ends_at=parse_time(asked.end_time, "endTime", required=False),
        attendees=tuple(asked.attendees) if asked.attendees is not None else None,
        services=tuple(asked.services) if asked.services is not None else None,
        status=asked.status,
    )
    booking = await bookings.update(principal, booking_id, changes, invite=asked.send_invitations)
    return ok(booking=render(booking))


@delete(
    "/bookings/{booking_id:str}",
    status_code=200,
    opt=wire(params=(Param("sendCancellation", bool),), answers={200: OneBooking}),
)
async def cancel_booking(
    request: AnyRequest,
    booking_id: FromPath[str],
    bookings: NamedDependency[BookingService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    notify = kit.boolean(request.query_params.get("sendCancellation"), "sendCancellation", True)
    return ok(booking=render(await bookings.cancel(principal, booking_id, notify)))


@post("/bookings/conflicts", status_code=200, opt=wire(ConflictCheck, answers={200: Conflicts}))
async def check_conflicts(
    request: AnyRequest,
    bookings: NamedDependency[BookingService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, ConflictCheck)
    found = await bookings.conflicts(
        principal,
        asked.resources,
        require_time(asked.start_time, "startTime"),
        require_time(asked.end_time, "endTime"),
    )
    return ok(hasConflicts=bool(found), conflicts=[conflict(b) for b in found])


@get(
    "/resources/{resource_id:str}/availability",
    opt=wire(params=SLOT, answers={200: Availability}),
)
async def availability(
    request: AnyRequest,
    resource_id: FromPath[str],
    bookings: NamedDependency[BookingService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    found = await bookings.conflicts(
        principal,
        [resource_id],
        require_time(query.get("startTime"), "startTime"),
        require_time(query.get("endTime"), "endTime"),
    )
    conflicts = [conflict(b) for b in found]
    return ok(resourceId=resource_id.lower(), available=not conflicts, conflicts=conflicts)


router = Router(
    path="/",
    route_handlers=[
        list_bookings,
        create_booking,
        booking_detail,
        update_booking,
        cancel_booking,
        check_conflicts,
        availability,
    ],
)
