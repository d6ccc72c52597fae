"""Resources and their bookings: the list of resources, a week's calendar per resource,
and a form to book one. A booking that overlaps a live one is refused by the booking
service (whichever process or API made the other), and the page says with which."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.dialects import kit
from townhall.domain.errors import DomainError
from townhall.domain.models import FIELD_TYPES, Booking, Resource
from townhall.domain.principal import Principal
from townhall.domain.queries import BookingQuery, ResourceQuery
from townhall.services.bookings import BookingRequest, BookingService
from townhall.services.resources import ResourceService

from . import web
from .forms import Form, posted, query

PAGE = 50
MAX_WEEK = 500
"""Bookings one week's calendar shows at most."""


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    bookings: list[Booking]


def _at(address: str) -> str:
    return f"{web.BASE}/resources/{quote(address, safe='@')}"


async def resources_context(request: Request[Any, Any, Any], asked: Form) -> dict[str, Any]:
    """What the resources page shows (also again after a refused create)."""
    services = kit.services_of(request)
    principal = kit.principal_of(request)
    text, kind = asked.text("q", limit=256), asked.text("type", limit=100)
    page = asked.page()
    found, total = await services.resources.list(
        principal, ResourceQuery(text=text or None, type=kind or None), (page - 1) * PAGE, PAGE
    )
    categories, types = await services.resources.categories_and_types(principal)
    return {
        "resources": found,
        "types": types,
        "categories": {c.slug: c.name for c in categories},
        "q": text,
        "type": kind,
        "page": page,
        "pages": max(1, -(-total // PAGE)),
        "total": total,
        "notice": asked.text("notice", limit=200),
        "field_types": FIELD_TYPES,
        "type_form": {},
        "resource_form": {},
    }


@get("/resources", name="console:resources")
async def resources_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Resources (by name, and of one type if asked), and the tenant's resource types."""
    context = await resources_context(request, query(request))
    return web.render(request, "resources.html", context)


def _monday(asked: Form, today: date) -> date:
    raw = asked.text("week", limit=10)
    chosen = asked.day("week") if raw else today
    return chosen - timedelta(days=chosen.weekday())


async def _week(
    request: Request[Any, Any, Any],
    resources: ResourceService,
    bookings: BookingService,
    principal: Principal,
    address: str,
    monday: date,
    extra: dict[str, Any],
    status: int = 200,
) -> Response[Any]:
    resource: Resource = await resources.get(principal, address)
    start = datetime.combine(monday, datetime.min.time(), UTC)
    end = start + timedelta(days=7)
    found, _ = await bookings.search(
        principal,
        BookingQuery(since=start, until=end, resource=resource.address),
        0,
        MAX_WEEK,
    )
    live = [b for b in found if b.status != "cancelled"]
    days = [
        Day(
            monday + timedelta(days=i),
            sorted(
                (b for b in live if _shares_day(b, monday + timedelta(days=i))),
                key=lambda b: b.starts_at,
            ),
        )
        for i in range(7)
    ]
    context = {
        "resource": resource,
        "days": days,
        "monday": monday,
        "previous": monday - timedelta(days=7),
        "next": monday + timedelta(days=7),
        "form": {"day": monday.isoformat(), "starts": "09:00", "ends": "10:00", "title": ""},
        **extra,
    }
    return web.render(request, "calendar.html", context, status)


def _shares_day(booking: Booking, day: date) -> bool:
    start = datetime.combine(day, datetime.min.time(), UTC)
    return booking.starts_at < start + timedelta(days=1) and booking.ends_at > start


@get("/resources/{address:str}")
async def calendar_page(
    request: Request[Any, Any, Any],
    address: FromPath[str],
    resources: NamedDependency[ResourceService],
    bookings: NamedDependency[BookingService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    asked = query(request)
    today = bookings.clock.now().date()
    try:
        monday = _monday(asked, today)
    except DomainError as exc:
        monday = today - timedelta(days=today.weekday())
        extra = {"error": web.message(exc)}
        return await _week(
            request, resources, bookings, principal, address, monday, extra, web.status(exc)
        )
    notice = asked.text("notice", limit=200)
    return await _week(request, resources, bookings, principal, address, monday, {"notice": notice})


@post("/resources/{address:str}/bookings", status_code=303)
async def book(
    request: Request[Any, Any, Any],
    address: FromPath[str],
    resources: NamedDependency[ResourceService],
    bookings: NamedDependency[BookingService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    """Times are UTC. The booking is the signed-in admin's, as if booked through RMP."""
    form = await posted(request)
    today = bookings.clock.now().date()
    monday = today - timedelta(days=today.weekday())
    try:
        day = form.day("day")
        monday = day - timedelta(days=day.weekday())
        starts = datetime.combine(day, form.clock("starts"), UTC)
        ends = datetime.combine(day, form.clock("ends"), UTC)
        made = await bookings.create(
            principal,
            BookingRequest(
                id=f"console-{uuid.uuid4().hex[:24]}",
                resource=address,
                title=form.required("title", 1023),
                starts_at=starts,
                ends_at=ends,
            ),
        )
    except DomainError as exc:
        extra = {"error": web.message(exc), "form": form.values}
        return await _week(
            request, resources, bookings, principal, address, monday, extra, web.status(exc)
        )
    notice = quote(f"Booked: {made.title}")
    return web.go(f"{_at(address)}?week={monday.isoformat()}&notice={notice}")


ROUTES = [resources_page, calendar_page, book]
