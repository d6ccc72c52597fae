"""Prometheus metrics of every server process, summed across workers.

`townhall serve` gives its workers one fresh folder (`PROMETHEUS_MULTIPROC_DIR`, see
cli/serve.py `metrics_folder`) before Granian starts them, so prometheus_client keeps each process's
values in memory-mapped files there and `/metrics`, whichever worker answers it, adds
them all up (`scrape`). Without that folder (a process outside `serve`, such as tests'
in-process services) the metrics live in the process's own registry.

Counters and histograms of a worker that stopped stay in the sum (what it counted did
happen; its replacement counts in files of its own pid, so nothing is counted twice).
Gauges are `livesum`/`livemin`: a stopped worker's gauge files are removed at the next
scrape (`forget_dead`), since Granian has no hook of gunicorn's `child_exit` kind.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

FOLDER = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "townhall_http_requests_total",
    "HTTP requests answered, by API, method, route template and status",
    ["api", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "townhall_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by API, method and route",
    ["api", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POOL_IN_USE = Gauge(
    "townhall_db_pool_connections_in_use",
    "Database connections checked out of each pool, summed over live workers",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "townhall_db_pool_size",
    "Connections each pool keeps, summed over live workers",
    ["pool"],
    multiprocess_mode="livesum",
)
EVENTS_PUBLISHED = Counter(
    "townhall_events_published_total", "Domain events this server's processes published"
)
EVENTS_RECEIVED = Counter(
    "townhall_events_received_total",
    "Domain events heard from other processes through Redis",
)
REDIS_CONNECTED = Gauge(
    "townhall_event_bus_redis_connected",
    "1 when every live worker is subscribed to the event channel in Redis (0 without Redis)",
    multiprocess_mode="livemin",
)
SMTP_ACCEPTED = Counter(
    "townhall_smtp_messages_accepted_total", "Messages the embedded SMTP listener delivered"
)
SMTP_REFUSED = Counter(
    "townhall_smtp_messages_refused_total",
    "Recipients (at RCPT) and messages (at DATA) the embedded SMTP listener refused",
    ["stage"],
)

_LIVE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie, not yet reaped by Granian, is gone
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    return True


def forget(pid: int) -> None:
    """Drop the live gauges of process `pid` (one that serves no requests)."""
    folder = os.environ.get(FOLDER)
    if folder:
        multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]


def forget_dead(folder: str) -> None:
    """Drop the live gauges of worker processes that no longer run."""
    dead = {
        int(found.group(1))
        for name in os.listdir(folder)
        if (found := _LIVE_FILE.match(name)) is not None
    }
    for pid in dead:
        if not _alive(pid):
            with contextlib.suppress(FileNotFoundError):  # another worker's scrape was first
                multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]


def scrape() -> bytes:
    """Every metric in Prometheus' text format: all workers' together under `serve`."""
    folder = os.environ.get(FOLDER)
    if not folder:
        return generate_latest(REGISTRY)
    forget_dead(folder)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, folder)  # type: ignore[no-untyped-call]
    try:
        return generate_latest(registry)
    except FileNotFoundError:  # a dead worker's file went between listing and reading
        return generate_latest(registry)


def watch_pools(db: Any) -> None:
    """Count the database's connections in use per pool, from SQLAlchemy's pool events
    (an SQLite database has one engine, `main`; PostgreSQL a `read` and a `write` one)."""
    from sqlalchemy import event

    read = getattr(db, "read_engine", None)
    engines = {"read": read, "write": db.engine} if read is not None else {"main": db.engine}
    for name, engine in engines.items():
        pool = getattr(engine, "sync_engine", engine).pool
        size = pool.size() if hasattr(pool, "size") else 1
        POOL_SIZE.labels(name).set(size)
        in_use = POOL_IN_USE.labels(name)
        in_use.set(0)
        event.listen(pool, "checkout", lambda *_, gauge=in_use: gauge.inc())
        event.listen(pool, "checkin", lambda *_, gauge=in_use: gauge.dec())
