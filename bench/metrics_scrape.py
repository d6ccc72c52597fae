"""What one `/metrics` scrape reports after a load run on several workers, next to the
requests actually made.

Starts `townhall serve --workers N` (SQLite unless `--database-url`), sends `--requests`
requests over four routes from `--connections` concurrent clients, each request on a new
connection (so the kernel spreads them over the workers), counts what was answered by
route and status and by worker (the prefix of each answer's `X-Request-Id` is its
worker's), then scrapes once and prints, per route, the requests made next to the
scrape's sum, and the scrape's other series (histogram buckets left out).

    .venv/bin/python bench/metrics_scrape.py --workers 2 --requests 4000

Cheap password hashing and no login limits: the routes authenticate every request (OX's
has no credential cache), and what is measured here is the counting, not argon2id or
the throttle (whose attempts in flight refuse some of 32 concurrent right passwords).

Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import aiohttp
import requests
from openfire_load import ADMIN_PASSWORD, start_server

BASIC = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
ROUTES = (
    # (path asked, route template the metrics should name, API, headers)
    ("/plugins/restapi/v1/users/admin", "/plugins/restapi/v1/users/{username}", "openfire", True),
    (
        "/oxaas/v1/admin/contexts/1/users",
        "/oxaas/v1/admin/contexts/{contextid}/users",
        "oxaas",
        True,
    ),
    ("/healthz", "/healthz", "server", False),
    ("/api/v2/no/such/route", "unmatched", "rmp", False),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _load(
    base: str, total: int, connections: int
) -> tuple[collections.Counter[tuple[str, int]], collections.Counter[str], float]:
    made: collections.Counter[tuple[str, int]] = collections.Counter()
    workers: collections.Counter[str] = collections.Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)
    # A new connection per request: keep-alive would pin each client to one worker.
    connector = aiohttp.TCPConnector(force_close=True, limit=connections)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            while not queue.empty():
                path, route, _, auth = ROUTES[queue.get_nowait() % len(ROUTES)]
                headers = {"Authorization": BASIC, "Accept": "application/json"} if auth else {}
                async with http.get(base + path, headers=headers) as answer:
                    await answer.read()
                    made[(route, answer.status)] += 1
                    workers[answer.headers["X-Request-Id"].split("-")[0]] += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        took = time.perf_counter() - started
    return made, workers, took


def _scrape(base: str) -> dict[str, float]:
    found = {}
    for line in requests.get(f"{base}/metrics", timeout=30).text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            found[series] = float(value)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    os.environ.update(
        TOWNHALL_ARGON2_TIME_COST="1",
        TOWNHALL_ARGON2_MEMORY_KIB="1024",
        TOWNHALL_LOGIN_FAILURES_PER_ACCOUNT="0",
        TOWNHALL_LOGIN_FAILURES_PER_ADDRESS="0",
    )
    folder = Path(tempfile.mkdtemp(prefix="townhall-bench-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    url = args.database_url or f"sqlite:///{folder / 'townhall.db'}"
    server = start_server(url, port, args.workers, folder / "server.log")
    try:
        made, workers, took = asyncio.run(_load(base, args.requests, args.connections))
        scraped = _scrape(base)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{sum(made.values())} requests in {took:.1f} s ({sum(made.values()) / took:,.0f}/s), "
        f"{args.connections} clients, a new connection each, {args.workers} worker(s)"
    )
    print(
        "answered by worker (X-Request-Id prefix): "
        + ", ".join(f"{w}: {n}" for w, n in sorted(workers.items()))
    )
    print()
    print(f"{'api':<9}{'route':<46}{'status':>7}{'made':>8}{'scraped':>9}")
    for (route, status), n in sorted(made.items()):
        api = next(a for _, r, a, _ in ROUTES if r == route)
        series = (
            f'townhall_http_requests_total{{api="{api}",method="GET",route="{route}",'
            f'status="{status}"}}'
        )
        print(f"{api:<9}{route:<46}{status:>7}{n:>8}{scraped.get(series, 0):>9.0f}")
    print()
    print("the scrape's other series (buckets left out):")
    for series, value in scraped.items():
        if "_bucket" not in series and "townhall_http_requests_total" not in series:
            print(f"  {series} {value:g}")


if __name__ == "__main__":
    main()
