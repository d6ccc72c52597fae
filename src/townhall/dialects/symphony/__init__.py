"""The Symphony Pod API dialect: `/pod`, with the `/login` and `/relay` bot login.

Mapping choices are written down in docs/symphony-mapping.md.
"""

from __future__ import annotations

from litestar import Response, Router
from litestar.exceptions import HTTPException

from .. import documents
from ..kit import Dialect, after_principal
from . import (
    avatars,
    certificates,
    compliance,
    entitlements,
    login,
    people,
    streams,
    system,
    users,
)
from .http import (
    CONTRACT,
    EXCEPTION_HANDLERS,
    AnyRequest,
    SymphonyError,
    authenticated,
    handle_http_error,
)

PREFIXES = ("/pod/", "/login/", "/relay/")
"""Paths this dialect answers, also when no route matches (`unrouted`: its `Error` body)."""

REFUSALS: tuple[type[Exception], ...] = (SymphonyError,)
"""Errors this dialect raises on purpose (answered, not failures to log)."""

POD_AREAS = (users, streams, people, entitlements, avatars, certificates, compliance, system)


def routers() -> list[Router]:
    return [
        Router(
            path="/",
            route_handlers=[
                login.router,
                avatars.public_router,
                documents.route(CONTRACT.url, CONTRACT),
            ],
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        ),
        Router(
            path="/pod",
            route_handlers=[area.router for area in POD_AREAS],
            guards=[authenticated],
            dependencies=after_principal(),
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        ),
    ]


def unrouted(request: AnyRequest, exc: HTTPException) -> Response[bytes]:
    """A path under PREFIXES that no route serves: refused with this dialect's Error body."""
    return handle_http_error(request, exc)


DIALECT = Dialect("symphony", routers, PREFIXES, unrouted, REFUSALS, contract=CONTRACT)
