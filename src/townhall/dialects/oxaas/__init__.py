"""The Open-Xchange Cloud-Plugins API: `/oxaas/v1` and `/api/oxaas/v1` (contracts/oxaas.md).

Mapping choices are written down in docs/ox-mapping.md.
"""

from __future__ import annotations

from litestar import Response, Router
from litestar.exceptions import HTTPException

from .. import documents
from ..kit import Dialect, after_principal
from . import (
    announcements,
    counters,
    domains,
    forwards,
    lists,
    notifications,
    search,
    sessions,
    users,
)
from .http import CONTRACT, EXCEPTION_HANDLERS, PREFIXES, AnyRequest, OxError, handle_http_error

REFUSALS: tuple[type[Exception], ...] = (OxError,)


def routers() -> list[Router]:
    """The same routes under each prefix live deployments use."""
    return [
        Router(
            path=prefix,
            route_handlers=[
                users.router(),
                sessions.router(),
                forwards.router(),
                lists.router(),
                search.router(),
                domains.context_router(),
                domains.reseller_router(),
                counters.router(),
                announcements.router(),
                notifications.router(),
                documents.route("/openapi.json", CONTRACT),
            ],
            dependencies=after_principal(),
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        )
        for prefix in PREFIXES
    ]


def unrouted(request: AnyRequest, exc: HTTPException) -> Response[bytes]:
    return handle_http_error(request, exc)


DIALECT = Dialect(
    "oxaas",
    routers,
    tuple(p + "/" for p in PREFIXES),
    unrouted,
    REFUSALS,
    contract=CONTRACT,
)
