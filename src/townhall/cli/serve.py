"""`townhall serve`: check, migrate, initialise, then hand over to Granian."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from townhall import __version__
from townhall.cli.common import (
    Unreachable,
    configured,
    database_where,
    inspect_database,
    prepare,
)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
STOP_GRACE_SECONDS = 10
"""How long a stopping worker may finish its requests before it is killed."""


def _stop_later() -> threading.Event:
    """From now until Granian takes over, SIGTERM and SIGINT only ask for a stop, which
    `serve` honours between steps: a migration or the first start is never cut in half,
    and a stop asked for while Granian starts is not lost (see `_granian`)."""
    asked = threading.Event()
    for stop in STOP_SIGNALS:
        signal.signal(stop, lambda *_: asked.set())
    return asked


ALONE_WARNING = (
    "townhall: warning: {workers} workers without Redis (TOWNHALL_REDIS_URL): each keeps "
    "its own WebSocket events and failed-login counts (up to {workers} x the limits) and "
    "sees the others' changes to cached settings only when its cache expires; the read "
    "cache of resources, users, calendars and free/busy is off"
)
"""Several workers share events, login counts and cache invalidation only through Redis."""


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(help="Server processes.", min=1)] = 1,
) -> None:
    """Start the server (checking its database and Redis, then migrating and
    initialising the database first)."""
    with metrics_folder():
        _serve(host, port, workers)


METRICS_FOLDER = "PROMETHEUS_MULTIPROC_DIR"
ORPHAN_PREFIX = "townhall-metrics-"


def _discard_orphans() -> None:
    """Remove the metrics folders of earlier servers that were killed before they could
    (their folder names the serving process)."""
    for found in Path(tempfile.gettempdir()).glob(f"{ORPHAN_PREFIX}*-*"):
        pid = found.name.removeprefix(ORPHAN_PREFIX).partition("-")[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(found, ignore_errors=True)
        except PermissionError:
            pass


@contextlib.contextmanager
def metrics_folder() -> Iterator[Path]:
    """One empty folder for every worker's metrics (infrastructure/metrics.py), named in
    the environment the workers inherit, set before anything imports prometheus_client
    (which picks its multiprocess mode on import). An operator's own
    `PROMETHEUS_MULTIPROC_DIR` is used and emptied (an earlier run's files would be
    added to this one's); otherwise a new temporary folder, removed when serving ends."""
    given = os.environ.get(METRICS_FOLDER)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        yield folder
        return
    _discard_orphans()
    folder = Path(tempfile.mkdtemp(prefix=f"{ORPHAN_PREFIX}{os.getpid()}-"))
    os.environ[METRICS_FOLDER] = str(folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _serve(host: str, port: int, workers: int) -> None:
    from townhall.infrastructure import metrics
    from townhall.services.bootstrap import unreachable

    os.environ["TOWNHALL_WORKERS"] = str(workers)  # each worker sizes its pools by it
    stop = _stop_later()
    loaded = configured()
    settings = loaded.settings
    # A PostgreSQL database that does not exist is a mistake of the URL (named, exit 2);
    # one that does not answer is told by `unreachable`, as any dependency.
    with contextlib.suppress(Unreachable):
        asyncio.run(inspect_database(settings))
    problem = asyncio.run(unreachable(settings))
    if problem is not None:
        typer.echo(f"townhall: cannot start: {problem}", err=True)
        raise typer.Exit(1)
    if not stop.is_set():
        explicit = [name for name in loaded.sources if loaded.explicit(name)]
        prepare(settings, warn_for=explicit)
    # This process serves no requests: its gauges (pools it opened to prepare) are not
    # a live worker's.
    metrics.forget(os.getpid())
    if stop.is_set():
        typer.echo("Townhall stopped before serving.")
        return
    typer.echo(f"Townhall {__version__} listening on http://{host}:{port} ({workers} worker(s))")
    typer.echo(f"  data directory: {settings.data_dir}")
    typer.echo(f"  database: {database_where(settings)}")
    typer.echo(f"  Openfire REST API: http://{host}:{port}/plugins/restapi/v1  docs: /docs")
    typer.echo(f"  admin console: http://{host}:{port}/admin")
    if settings.smtp_listen.strip().lower() not in ("", "off"):
        typer.echo(f"  mail (SMTP): {settings.smtp_listen}  mailboxes: {settings.mail_folder}")
    if settings.mta_policy_listen.strip().lower() not in ("", "off"):
        typer.echo(f"  Postfix policy service: {settings.mta_policy_listen}")
    if workers > 1 and not settings.redis_url:
        typer.echo(ALONE_WARNING.format(workers=workers), err=True)
    _granian(host, port, workers, stop).serve()


def _granian(host: str, port: int, workers: int, stop: threading.Event) -> Any:
    """Granian's server, closing two gaps where a SIGTERM was lost, after which the
    server ran on and ignored every later one:

    - a stop asked for before Granian installed its handlers is honoured as soon as it
      has (a startup hook asks it to stop, before its workers start);
    - a worker is forked with Granian's main-process handler, which in the worker only
      sets a flag nobody reads, until the worker installs its own. Granian stops a
      worker with SIGTERM; one that arrives in that gap (while the worker imports and
      builds the application) now ends the worker as the default action would."""
    from granian.constants import Interfaces, Loops
    from granian.server import Server

    class Townhall(Server):  # type: ignore[misc, valid-type]
        def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
            if os.getpid() != self.pid:  # a worker not yet serving: die as by default
                signum = args[0] if args else signal.SIGTERM
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                return
            super().signal_handler_interrupt(*args, **kwargs)

    server = Townhall(
        "townhall.app:create_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        loop=Loops.auto,
        log_access=False,
        # A worker that lost its SIGTERM anyway (one arriving as it installs its own
        # handlers) would be waited for forever; after this grace it is killed.
        workers_kill_timeout=STOP_GRACE_SECONDS,
    )

    def stop_if_asked() -> None:
        if stop.is_set():
            server.signal_handler_interrupt()

    server.on_startup(stop_if_asked)
    return server
