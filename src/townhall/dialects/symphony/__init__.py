"""The Symphony Pod API dialect: `/pod`, with the `/login` and `/relay` bot login.

Mapping choices are written down in docs/symphony-mapping.md.
"""

from __future__ import annotations

from litestar import Router

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
from .http import EXCEPTION_HANDLERS, SymphonyError, authenticate

REFUSALS: tuple[type[Exception], ...] = (SymphonyError,)
"""Errors this dialect raises on purpose (answered, not failures to log)."""

POD_AREAS = (users, streams, people, entitlements, avatars, certificates, compliance, system)


def routers() -> list[Router]:
    return [
        Router(
            path="/",
            route_handlers=[login.router, avatars.public_router],
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        ),
        Router(
            path="/pod",
            route_handlers=[area.router for area in POD_AREAS],
            before_request=authenticate,
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        ),
    ]
