"""The ASGI application: every dialect plus the server's own endpoints.

`create_app` is what each Granian worker calls; it reads the same settings as the CLI
and opens its own database pool in the lifespan, closing it on shutdown so the worker
can exit promptly on SIGTERM.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from os import PathLike
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.logging.config import LoggingConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp

from townhall.config import Settings, load_settings
from townhall.dialects import console, kit, openfire, oxaas, rmp, symphony
from townhall.domain.errors import DomainError
from townhall.infrastructure import logs, metrics, mta_policy, smtp_inbound
from townhall.services.container import Services
from townhall.web import docs, health, mail_events
from townhall.web.edge import edge

DIALECTS = (openfire.DIALECT, symphony.DIALECT, oxaas.DIALECT, rmp.DIALECT, console.DIALECT)
"""Every wire adapter the server speaks: the APIs and the web console; a new one is one
more entry."""
APIS = tuple(d for d in DIALECTS if d.contract is not None)
"""The vendor APIs: the adapters that publish an OpenAPI contract."""
TENANT_DEFAULTS = tuple(d.tenant_defaults for d in DIALECTS if d.tenant_defaults is not None)
"""What the APIs set up in a new tenant (see services.bootstrap.ensure_initialised)."""
API_PREFIXES = tuple((p, d.name) for d in DIALECTS for p in d.prefixes)
"""Which API (or the console) a path belongs to, by prefix, for the access log and the
metrics (any other path is the server's own: health, metrics, docs)."""


def _expected_refusals() -> set[int | type[Exception]]:
    """What is not logged as a failure: client errors (by status) and every error a service
    or dialect raises on purpose (Litestar matches exact classes, hence the walk)."""
    found: set[int | type[Exception]] = {400, 401, 403, 404, 405, 406, 409, 413, 415}
    pending: list[type[Exception]] = [
        DomainError,
        *(kind for dialect in DIALECTS for kind in dialect.refusals),
    ]
    while pending:
        kind = pending.pop()
        found.add(kind)
        pending.extend(kind.__subclasses__())
    return found


def _unrouted(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """No route matched (404) or none for the method (405): under a dialect's paths, its
    own error body, so clients parse every refusal alike; elsewhere Litestar's."""
    path = request.url.path
    for dialect in DIALECTS:
        if dialect.unrouted is not None and path.startswith(dialect.prefixes):
            return dialect.unrouted(request, exc)
    body = {"status_code": exc.status_code, "detail": exc.detail}
    return Response(body, status_code=exc.status_code, headers=exc.headers)


def _cors(settings: Settings) -> CORSConfig | None:
    """Browser front ends on the configured origins may call every API (preflights are
    answered before any auth). Unset: no CORS headers but the Openfire plugin's own."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        expose_headers=["Location", "Retry-After", "X-Total-Count"],
    )


def _templates() -> TemplateConfig[JinjaTemplateEngine] | None:
    """The template folders of the dialects that render pages (the web console)."""
    folders: list[Path | PathLike[Any] | str] = [
        d.templates for d in DIALECTS if d.templates is not None
    ]
    return TemplateConfig(directory=folders, engine=JinjaTemplateEngine) if folders else None


def _freeze_startup_heap() -> None:
    """What a worker made while starting (modules, routes, schemas: most of its objects)
    lives as long as the worker, so it is moved out of the cyclic collector's reach: a
    full collection then walks only what requests made. Before, under 64 connections
    asking for a 5,000-user list, those walks were most of each request's CPU
    (bench/ejabberd_peer.py, list on SQLite: 17 req/s, 84 with the heap frozen)."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or load_settings()
    logs.configure(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = Services.build(settings, tenant_defaults=TENANT_DEFAULTS)
        app.state.services = services
        metrics.watch_pools(services.deps.db)
        await services.start()
        _freeze_startup_heap()
        receiver = await smtp_inbound.start(services, settings.smtp_listen)
        policy = await mta_policy.start(services, settings.mta_policy_listen)
        try:
            yield
        finally:
            for listening in (receiver, policy):
                if listening is not None:
                    listening.close()
            await services.close()

    app = Litestar(
        route_handlers=[
            health.healthz,
            health.readyz,
            health.metrics,
            mail_events.mail_events,
            docs.assets_router(),
            docs.page([d.contract for d in DIALECTS if d.contract is not None]),
            *(router for dialect in DIALECTS for router in dialect.routers()),
        ],
        # The console imports the files the RMP API does, read by the RMP API's reader.
        dependencies={
            **kit.providers(),
            **console.imports.reading_with(rmp.catalogue_files.read_file),
        },
        lifespan=[lifespan],
        exception_handlers={
            NotFoundException: _unrouted,
            MethodNotAllowedException: _unrouted,
        },
        cors_config=_cors(settings),
        template_config=_templates(),
        state=State(
            {
                kit.TRUSTED_PROXIES: kit.networks(settings.trusted_proxies),
                mail_events.TOKEN: settings.mail_events_token,
            }
        ),
        request_max_body_size=settings.max_body_bytes,
        # Each API publishes its own typed document (dialects/documents.py); Litestar's
        # app-wide one would describe every handler as taking a bare Request.
        openapi_config=None,
        debug=False,
        logging_config=LoggingConfig(
            log_exceptions="always",
            configure_root_logger=False,
            disable_stack_trace=_expected_refusals(),
        ),
    )
    # Layers that must act before Litestar routes the request.
    outer: ASGIApp = app
    for dialect in DIALECTS:
        if dialect.before_routing is not None:
            outer = dialect.before_routing(outer, app)
    return edge(outer, app, API_PREFIXES)
