"""The audit log, newest first, filtered by who acted, what was done, and when.

`action` is one action (`user.locked`) or, ending in a dot, every action under it
(`user.`); times are UTC."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from townhall.domain.errors import DomainError
from townhall.domain.principal import Principal
from townhall.services.audit import AuditService

from . import web
from .forms import query

PAGE = 50
ACTIONS = (
    "user.",
    "user.created",
    "user.updated",
    "user.locked",
    "user.unlocked",
    "user.deleted",
    "booking.",
    "session.",
    "session.login_failed",
    "group.",
    "room.",
    "resource.",
)
"""Offered in the filter's list (any other may be typed)."""


@get("/audit", name="console:audit")
async def audit_page(
    request: Request[Any, Any, Any],
    audit: NamedDependency[AuditService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    asked = query(request)
    filters = {
        "actor": asked.text("actor", limit=256),
        "action": asked.text("action", limit=100),
        "since": asked.text("since", limit=32),
        "until": asked.text("until", limit=32),
    }
    page = asked.page()
    try:
        entries = await audit.entries(
            principal,
            username=filters["actor"] or None,
            since=asked.moment("since"),
            until=asked.moment("until"),
            offset=(page - 1) * PAGE,
            limit=PAGE + 1,
            action=filters["action"] or None,
        )
    except DomainError as exc:
        context = {"entries": [], "filters": filters, "error": web.message(exc), "page": 1}
        return web.render(request, "audit.html", context, web.status(exc))
    context = {
        "entries": entries[:PAGE],
        "more": len(entries) > PAGE,
        "filters": filters,
        "page": page,
        "actions": ACTIONS,
    }
    return web.render(request, "audit.html", context)


ROUTES = [audit_page]
