"""The web admin console at `/admin`: server-rendered pages (Jinja templates, htmx) for
administrators, as one more wire adapter.

Like each API, it translates its wire (HTML forms and pages) to service calls and
back, and never touches the store: what it changes is audited, published and checked by
the same services and rules as a change through any API. Its templates and its static
files (htmx and the style sheet) ship inside the package, so it needs no network.
`static/htmx.min.js` is htmx 2.0.11 (0BSD licence), `dist/htmx.min.js` of the npm
package `htmx.org`, unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.exceptions import HTTPException
from litestar.static_files import create_static_files_router

from townhall.dialects.kit import Dialect
from townhall.domain.errors import DomainError

from . import (
    audit,
    auth,
    bookings,
    catalogue,
    groups,
    imports,
    mail,
    people,
    rooms,
    sessions,
    settings,
    tenants,
    web,
)

HERE = Path(__file__).parent


@get("/", include_in_schema=False)
async def home() -> Response[Any]:
    return web.go(f"{web.BASE}/people")


def _unrouted(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """No such page (or method) under /admin: an HTML page saying so."""
    text = "No such page." if exc.status_code == 404 else "That cannot be done here."
    return web.render(request, "error.html", {"message": text}, exc.status_code)


def routers() -> list[Router]:
    signed_in = Router(
        path="/",
        route_handlers=[
            home,
            *people.ROUTES,
            *audit.ROUTES,
            *catalogue.ROUTES,
            *bookings.ROUTES,
            *rooms.ROUTES,
            *tenants.ROUTES,
            *imports.ROUTES,
            *mail.ROUTES,
            groups.router(),
            settings.router(),
            sessions.router(),
        ],
        guards=[web.signed_in],
    )
    console = Router(
        path=web.BASE,
        route_handlers=[auth.login_page, auth.sign_in, auth.sign_out, signed_in],
        guards=[web.checks_csrf],
        exception_handlers={DomainError: web.refused},
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=f"{web.BASE}/static", directories=[HERE / "static"], include_in_schema=False
    )
    return [console, static]


DIALECT = Dialect(
    name="console",
    routers=routers,
    prefixes=(web.BASE,),
    unrouted=_unrouted,
    templates=HERE / "templates",
)
