"""The Openfire REST API plugin dialect, mounted at `/plugins/restapi/v1`.

Each area of the plugin is one module with its own small Router, like the plugin's own
resource classes; this package only assembles them behind the plugin's auth filter.
"""

from __future__ import annotations

import secrets

from litestar import Litestar, Router
from litestar.types import ASGIApp

from townhall.domain.principal import Principal
from townhall.services.container import Services

from ..kit import Dialect, after_principal
from . import (
    chatrooms,
    chatservices,
    clustering,
    docs,
    groups,
    messages,
    roster,
    security,
    sessions,
    system,
    users,
    userservice,
)
from .http import (
    CONTRACT,
    EXCEPTION_HANDLERS,
    PREFIX,
    OpenfireAuth,
    OpenfireError,
    refuse_unstorable_text,
)
from .wire import BadRequest, NotAcceptable, UnsupportedMediaType

REFUSALS: tuple[type[Exception], ...] = (
    OpenfireError,
    BadRequest,
    NotAcceptable,
    UnsupportedMediaType,
)
"""Errors this dialect raises on purpose (answered, not failures to log)."""

AREAS = (users, groups, roster, chatservices, chatrooms, clustering, sessions, messages, security)
"""Areas every route of which is authenticated (by OpenfireAuth, before routing)."""
OPEN_AREAS = (system, userservice, docs)
"""Areas with routes the plugin serves without credentials (liveness, readiness, the
userservice with its own secret, the OpenAPI document)."""


def routers() -> list[Router]:
    """The plugin's `/v1` API, and the legacy userservice at the README's address."""
    return [
        Router(
            path=PREFIX,
            route_handlers=[
                Router(
                    path="/",
                    route_handlers=[area.router for area in AREAS],
                    dependencies=after_principal(),
                ),
                *(area.router for area in OPEN_AREAS),
            ],
            before_request=refuse_unstorable_text,
            exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        ),
        userservice.readme_router,
    ]


def before_routing(next_app: ASGIApp, app: Litestar) -> ASGIApp:
    """The plugin's auth filter, which must run before routing."""
    return OpenfireAuth(next_app, app)


async def tenant_defaults(services: Services, actor: Principal) -> None:
    """A new tenant's API answers HTTP Basic and has a random shared secret, as a fresh
    install of the plugin does."""
    await services.properties.set(actor, "plugin.restapi.httpAuth", "basic")
    await services.properties.set(actor, "plugin.restapi.secret", secrets.token_urlsafe(16))


DIALECT = Dialect(
    "openfire",
    routers,
    ("/plugins/restapi/",),  # the v1 API and the legacy userservice
    refusals=REFUSALS,
    before_routing=before_routing,
    tenant_defaults=tenant_defaults,
    contract=CONTRACT,
)
