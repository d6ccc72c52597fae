"""Plumbing shared by the RMP routes: Bearer tokens, the envelope, times, pages, errors.

Every answer is an envelope: `{"success": true, ...}` or, with a non-2xx status,
`{"success": false, "error": {"code", "message", "details"}}` (contracts/rmp.md).
Times are ISO 8601 with an offset on the way in and UTC with `Z` on the way out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler

from townhall.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    Forbidden,
    Impossible,
    Invalid,
    LimitReached,
    NotFound,
    OverQuota,
    QuotaExceeded,
    SlotTaken,
    TooLarge,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)
from townhall.domain.models import Booking
from townhall.domain.principal import Principal
from townhall.services.catalogue import RowError, RowsInvalid

from .. import kit
from ..documents import Contract, Param

AnyRequest = Request[Any, Any, Any]
T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

SETTINGS = {
    "timezone": "timezone",
    "language": "language",
    "date_format": "dateFormat",
    "allow_past_bookings": "allowPastBookings",
    "max_booking_hours": "maxBookingHours",
}
"""Each domain setting's RMP name (settings are fields of a domain, refused by name)."""

FIELDS = {
    # people
    "display_name": "realName",
    # a booking's or an event's times, and a slot asked about (free/busy, availability)
    "start": "startTime",
    "end": "endTime",
    # a period asked about (listings of bookings and events, analytics)
    "since": "startDate",
    "until": "endDate",
    # bookings and events
    "resource": "resourceId",
    "recurrence_id": "recurrenceId",
    # resources and their bulk creation
    "custom_fields": "customFields",
    "start_number": "startNumber",
    # analytics
    "group_by": "groupBy",
    # contacts and address books
    "address_book": "addressBook",
    # the cache's warming
    "date_range": "dateRange",
    # domain settings
    **SETTINGS,
    # SaaS registration and plan changes
    "company_name": "companyName",
    "email_domain": "emailDomain",
    "admin_email": "adminEmail",
    "admin_password": "adminPassword",
    "admin_name": "adminName",
    "new_plan": "newPlan",
}
"""Domain field names as RMP spells them. Fields the dialect itself refuses (Malformed)
are RMP's already; none of those is a key here, so a row error naming either kind is
spelt right."""

_STATUS: tuple[tuple[type[DomainError], int, str], ...] = (
    (Impossible, 422, "UNPROCESSABLE"),
    (Invalid, 400, "INVALID_INPUT"),
    (NotFound, 404, "NOT_FOUND"),
    (AlreadyExists, 409, "ALREADY_EXISTS"),
    (SlotTaken, 409, "BOOKING_CONFLICT"),
    (Conflict, 409, "CONFLICT"),
    (LimitReached, 403, "PLAN_LIMIT_REACHED"),
    (Forbidden, 403, "FORBIDDEN"),
    (Unauthenticated, 401, "UNAUTHORIZED"),
    (OverQuota, 413, "QUOTA_EXCEEDED"),
    (TooLarge, 413, "PAYLOAD_TOO_LARGE"),
    (QuotaExceeded, 429, "RATE_LIMITED"),
    (Unavailable, 503, "SERVICE_UNAVAILABLE"),
    (TooManyAttempts, 429, "RATE_LIMITED"),
)
_HTTP_CODES = {
    400: "INVALID_INPUT",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class Failure(TypedDict):
    code: str
    message: str
    details: NotRequired[dict[str, Any]]


class Refusal(TypedDict):
    """Every non-2xx answer."""

    success: bool
    error: Failure


CONTRACT = Contract(
    title="RMP v2 resource-management API (Townhall)",
    url="/api/v2/openapi.json",
    prefixes=("/api/v2/",),
    security={"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    errors={status: Refusal for status in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)},
)
"""The published document: what `documents.document` needs to know about this API."""


class Done(TypedDict):
    """An answer that says only that it was done."""

    success: bool


TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
"""A query parameter's ISO 8601 time with an offset."""

PAGE_PARAMS = (
    Param("page", {"type": "integer", "minimum": 1}, description="1 for the first page"),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
)
"""The query parameters of every paged list."""


class RmpError(Exception):
    """A refusal the dialect itself decides before there is a caller (missing token)."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    failure: dict[str, Any] = {"code": code, "message": message}
    if details:
        failure["details"] = details
    return Response(
        msgspec.json.encode({"success": False, "error": failure}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _details(exc: DomainError) -> dict[str, Any] | None:
    if isinstance(exc, RowsInvalid):
        return {"field": kit.wire_field(exc, FIELDS), "errors": [_row_error(e) for e in exc.errors]}
    if isinstance(exc, Invalid):
        return {"field": kit.wire_field(exc, FIELDS)}
    if isinstance(exc, SlotTaken):
        return {"conflicts": [conflict(b) for b in exc.bookings]}
    if isinstance(exc, NotFound | AlreadyExists):
        return {exc.kind: exc.subject}
    if isinstance(exc, TooManyAttempts):
        return {"retryAfter": exc.retry_after}
    if isinstance(exc, OverQuota):
        return {"field": "file", "quota": exc.limit, "used": exc.used}
    if isinstance(exc, TooLarge):
        return {"field": "file", "limit": exc.limit}
    if isinstance(exc, LimitReached):
        return {"limit": exc.limit, "allowed": exc.allowed, "used": exc.used}
    return None


def _row_error(found: RowError) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "section": found.section,
        "row": found.row,
        "field": kit.spelt(found.field, FIELDS),
        "message": found.message,
    }
    if found.number is not None:
        shown["number"] = found.number
    return shown


class ConflictWire(TypedDict):
    resourceId: str
    bookingId: str
    title: str
    startTime: str
    endTime: str


def conflict(booking: Booking) -> ConflictWire:
    """A conflicting booking as the conflict check and a 409's details show it."""
    return {
        "resourceId": booking.resource,
        "bookingId": booking.id,
        "title": booking.title,
        "startTime": iso(booking.starts_at),
        "endTime": iso(booking.ends_at),
    }


def handle_domain_error(request: AnyRequest, exc: DomainError) -> Response[bytes]:
    status, code = next(((s, c) for kind, s, c in _STATUS if isinstance(exc, kind)), (500, ""))
    if isinstance(exc, Invalid):
        message = kit.message_for(exc, FIELDS)
    elif isinstance(exc, NotFound):
        message = f"{exc.kind} {exc.subject} not found".replace("_", " ")
    elif isinstance(exc, AlreadyExists):
        message = f"{exc.kind} {exc.subject} already exists".replace("_", " ")
    else:
        message = exc.detail or str(exc)
    response = error(status, code or "INTERNAL_ERROR", message, _details(exc))
    response.headers.update(kit.retry_headers(exc))
    return response


def handle_rmp_error(request: AnyRequest, exc: RmpError) -> Response[bytes]:
    return error(exc.status, exc.code, exc.message, exc.details)


def handle_http_error(request: AnyRequest, exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    return error(status, _HTTP_CODES.get(status, "ERROR"), str(exc.detail))


def handle_server_error(request: AnyRequest, exc: Exception) -> Response[bytes]:
    """An unexpected failure (logged with its stack trace by Litestar): still the
    envelope, so a client parses every answer alike."""
    return error(500, "INTERNAL_ERROR", "Internal server error")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: handle_domain_error,
    RmpError: handle_rmp_error,
    HTTPException: handle_http_error,
    500: handle_server_error,
}


def bearer(connection: kit.AnyConnection) -> str:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RmpError(401, "UNAUTHORIZED", "An Authorization: Bearer token is required")
    return token.strip()


async def _bearer_holder(connection: kit.AnyConnection) -> Principal:
    """The access token's holder; then text no column can hold in the query or path is
    refused."""
    found = await kit.services_of(connection).auth.bearer(bearer(connection))
    kit.refuse_unstorable_request(connection)
    return found


authenticated = kit.authenticates(_bearer_holder)
"""The router's first guard."""
BEFORE_PASSWORD_CHANGE = "before_password_change"
"""A route's `opt` key: the route serves a person who must change their password first."""
CHANGE_FIRST = (
    "The password must be changed before anything else: "
    "POST /api/v2/users/{email}/password with a newPassword"
)


async def password_current(connection: kit.AnyConnection, handler: BaseRouteHandler) -> None:
    """The router's second guard: a person told to change their password (RMP's
    `requireChange`) reaches only the routes that let them do it (or log out)."""
    caller = kit.principal_of(connection)
    if caller.must_change_password and not handler.opt.get(BEFORE_PASSWORD_CHANGE):
        raise RmpError(403, "PASSWORD_CHANGE_REQUIRED", CHANGE_FIRST.format(email=caller.address))


server_admins = kit.requires(
    lambda caller: caller.is_server_admin, "Only a server administrator may do this"
)
admins = kit.requires(lambda caller: caller.is_admin, "Only an administrator may do this")


def require_admin_of(request: AnyRequest, domain: str) -> Principal:
    """The caller if it administers `domain` (server admins administer every domain)."""
    found = kit.principal_of(request)
    if not found.administers(domain):
        raise RmpError(403, "FORBIDDEN", f"Only an administrator of {domain} may do this")
    return found


async def body(request: AnyRequest, kind: type[T]) -> T:
    return kit.decode(await request.body(), kind)


def ok(status: int = 200, **payload: Any) -> Response[bytes]:
    return Response(
        msgspec.json.encode({"success": True, **payload}),
        status_code=status,
        media_type="application/json",
    )


def iso(moment: datetime) -> str:
    """UTC with `Z`, to the second as the reference shows times, or to the microsecond
    when the time has a fraction: what is shown is what is stored, so a conflict never
    names a booking that only seems to end when another starts."""
    shape = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.astimezone(UTC).strftime(shape)


def parse_time(raw: str | None, field: str, required: bool = True) -> datetime | None:
    """An ISO 8601 time that names its offset; a bare local time is ambiguous, so 400."""
    if raw is None or raw == "":
        if required:
            raise kit.Malformed(field, "is required")
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise kit.Malformed(field, "is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise kit.Malformed(field, "must carry an offset (e.g. Z or +02:00)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the year 1 in UTC
        raise kit.Malformed(field, "must fall within the years 1 to 9999 in UTC") from None


def require_time(raw: str | None, field: str) -> datetime:
    moment = parse_time(raw, field)
    assert moment is not None
    return moment


@dataclass(frozen=True, slots=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def answer(self, total: int) -> dict[str, int]:
        """`total`, `page`, `pages`; a page past the last is refused (nothing is there)."""
        pages = math.ceil(total / self.limit)
        if self.page > max(pages, 1):
            raise kit.Malformed("page", f"must be between 1 and {max(pages, 1)}")
        return {"total": total, "page": self.page, "pages": pages}


def page(request: AnyRequest, default_limit: int = DEFAULT_LIMIT) -> Page:
    query = request.query_params
    return Page(
        kit.integer(query.get("page"), "page", 1, 1, 1_000_000),
        kit.integer(query.get("limit"), "limit", default_limit, 1, MAX_LIMIT),
    )
