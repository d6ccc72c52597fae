"""The RMP v2 resource-management API: `/api/v2` (contracts/rmp.md).

Mapping choices are written down in docs/rmp-mapping.md.
"""

from __future__ import annotations

from litestar import Response, Router
from litestar.exceptions import HTTPException

from .. import documents
from ..kit import Dialect, after_principal
from . import (
    admin,
    analytics,
    auth,
    backup,
    bookings,
    cache,
    calendars,
    contacts,
    domains,
    events,
    files,
    resources,
    saas,
    search,
    tenants,
    users,
)
from .http import (
    CONTRACT,
    EXCEPTION_HANDLERS,
    AnyRequest,
    RmpError,
    authenticated,
    handle_http_error,
    password_current,
)

REFUSALS: tuple[type[Exception], ...] = (RmpError,)
"""Errors this dialect raises on purpose (answered, not failures to log)."""

BASE = "/api/v2"
PREFIXES = (BASE + "/",)
"""Paths this dialect answers, also when no route matches (`unrouted`: its envelope)."""
AREAS = (
    auth,
    users,
    domains,
    resources,
    bookings,
    calendars,
    admin,
    search,
    analytics,
    tenants,
    contacts,
    files,
    cache,
    saas,
    backup,
)


def routers() -> list[Router]:
    return [
        Router(
            path=BASE,
            route_handlers=[
                auth.public,
                saas.public,
                events.events,
                documents.route("/openapi.json", CONTRACT),
            ],
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        ),
        Router(
            path=BASE,
            route_handlers=[area.router for area in AREAS],
            guards=[authenticated, password_current],
            dependencies=after_principal(),
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        ),
    ]


def unrouted(request: AnyRequest, exc: HTTPException) -> Response[bytes]:
    """A path under PREFIXES that no route serves: refused with this dialect's envelope."""
    return handle_http_error(request, exc)


DIALECT = Dialect("rmp", routers, PREFIXES, unrouted, REFUSALS, contract=CONTRACT)
