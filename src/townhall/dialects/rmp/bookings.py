"""`/bookings`, the conflict check and `/resources/{id}/availability`.

People see and change the bookings they organised; an admin those of the resources in
the domains it administers; a server admin all. Someone else's booking is a 404, so ids
do not leak whether a booking exists.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, delete, get, post, put

from townhall.domain.models import Booking
from townhall.domain.queries import BookingQuery
from townhall.services.bookings import (
    BookingChanges,
    BookingRequest,
    Organizer,
    conflict_details,
)

from .http import (
    AnyRequest,
    RmpError,
    body,
    conflict,
    flag,
    iso,
    ok,
    page,
    parse_time,
    require_time,
    services,
    session,
)
from .models import ConflictCheck, CreateBooking, UpdateBooking


def render(booking: Booking) -> dict[str, Any]:
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


async def _visible(request: AnyRequest, booking_id: str) -> Booking:
    found = session(request)
    booking, organizer_id = await services(request).bookings.get(found, booking_id)
    domain = booking.resource.partition("@")[2]
    if organizer_id != found.user_id and not found.administers(domain):
        raise RmpError(404, "NOT_FOUND", f"booking {booking_id} not found", {"booking": booking_id})
    return booking


@get("/bookings")
async def list_bookings(request: AnyRequest) -> Response[bytes]:
    found, query = session(request), request.query_params
    svc = services(request)
    resource = query.get("resourceId")
    where = BookingQuery(
        organizer_id=None if found.is_admin else found.user_id,
        domains=None if found.is_server_admin or not found.is_admin else found.admin_domains,
        status=query.get("status") or None,
        after=parse_time(query.get("startDate"), "startDate", required=False),
        before=parse_time(query.get("endDate"), "endDate", required=False),
        resource_id=await svc.bookings.resource_id(found, resource) if resource else None,
    )
    asked = page(request)
    listed, total = await svc.bookings.search(found, where, asked.offset, asked.limit)
    return ok(bookings=[render(b) for b in listed], **asked.answer(total))


@post("/bookings", status_code=201)
async def create_booking(request: AnyRequest) -> Response[bytes]:
    asked = await body(request, CreateBooking)
    found = session(request)
    booking = await services(request).bookings.create(
        found,
        Organizer(found.user_id, found.address),
        BookingRequest(
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


@get("/bookings/{booking_id:str}")
async def booking_detail(request: AnyRequest, booking_id: str) -> Response[bytes]:
    return ok(booking=render(await _visible(request, booking_id)))


@put("/bookings/{booking_id:str}")
async def update_booking(request: AnyRequest, booking_id: str) -> Response[bytes]:
    await _visible(request, booking_id)
    asked = await body(request, UpdateBooking)
    changes = BookingChanges(
        title=asked.title,
        starts_at=parse_time(asked.start_time, "startTime", required=False),
        ends_at=parse_time(asked.end_time, "endTime", required=False),
        attendees=tuple(asked.attendees) if asked.attendees is not None else None,
        services=tuple(asked.services) if asked.services is not None else None,
        status=asked.status,
    )
    booking = await services(request).bookings.update(
        session(request), booking_id, changes, invite=asked.send_invitations
    )
    return ok(booking=render(booking))


@delete("/bookings/{booking_id:str}", status_code=200)
async def cancel_booking(request: AnyRequest, booking_id: str) -> Response[bytes]:
    await _visible(request, booking_id)
    notify = flag(request.query_params.get("sendCancellation"), "sendCancellation", True)
    booking = await services(request).bookings.cancel(session(request), booking_id, notify)
    return ok(booking=render(booking))


@post("/bookings/conflicts", status_code=200)
async def check_conflicts(request: AnyRequest) -> Response[bytes]:
    asked = await body(request, ConflictCheck)
    found = await services(request).bookings.conflicts(
        session(request),
        asked.resources,
        require_time(asked.start_time, "startTime"),
        require_time(asked.end_time, "endTime"),
    )
    conflicts = [conflict(c) for c in conflict_details(found)]
    return ok(hasConflicts=bool(conflicts), conflicts=conflicts)


@get("/resources/{resource_id:str}/availability")
async def availability(request: AnyRequest, resource_id: str) -> Response[bytes]:
    query = request.query_params
    found = await services(request).bookings.conflicts(
        session(request),
        [resource_id],
        require_time(query.get("startTime"), "startTime"),
        require_time(query.get("endTime"), "endTime"),
    )
    conflicts = [conflict(c) for c in conflict_details(found)]
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
