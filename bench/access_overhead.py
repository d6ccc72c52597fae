"""What the access log and HTTP metrics layer (web/edge.py `edge`) costs a request.

In process, no server and no network: `/healthz` through the whole application, with
and without its outermost layer, best of `--rounds` runs of `--requests` each. Three
cases: log level `warning` (metrics only, in this process's registry), the same with
multiprocess metrics (memory-mapped files, as under `serve`), and `info` (metrics and
the access line, written to /dev/null).

    .venv/bin/python bench/access_overhead.py

Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/healthz",
    "raw_path": b"/healthz",
    "root_path": "",
    "query_string": b"",
    "scheme": "http",
    "server": ("127.0.0.1", 80),
    "client": ("127.0.0.1", 1234),
    "http_version": "1.1",
    "asgi": {"version": "3.0"},
}
HEADERS = [(b"host", b"localhost"), (b"user-agent", b"bench"), (b"accept", b"*/*")]


async def _run(app: Any, n: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    started = time.perf_counter()
    for _ in range(n):
        await app({**SCOPE, "headers": list(HEADERS), "state": {}}, receive, send)
    return (time.perf_counter() - started) / n * 1e6


async def _measure(level: str, n: int, rounds: int) -> tuple[float, float]:
    from townhall.app import create_app
    from townhall.config import load_settings
    from townhall.infrastructure.logs import TextFormatter

    folder = tempfile.mkdtemp(prefix="townhall-bench-")
    settings = load_settings(
        {"TOWNHALL_DATABASE_URL": f"sqlite:///{folder}/townhall.db", "TOWNHALL_LOG_LEVEL": level}
    )
    outer = create_app(settings)
    inner = inspect.getclosurevars(outer).nonlocals["app"]  # what `edge` wraps
    sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    sink.setFormatter(TextFormatter())
    logging.getLogger().handlers[:] = [sink]
    await _run(inner, n // 5)
    await _run(outer, n // 5)
    without, with_layer = [], []
    for _ in range(rounds):
        without.append(await _run(inner, n))
        with_layer.append(await _run(outer, n))
    return min(without), min(with_layer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--case", default="")
    args = parser.parse_args()
    if args.case:  # one case per process: prometheus_client picks its mode on import
        level = "info" if "access" in args.case else "warning"
        without, with_layer = asyncio.run(_measure(level, args.requests, args.rounds))
        print(f"{args.case:<28}{without:>10.1f}{with_layer:>12.1f}{with_layer - without:>8.1f}")
        return
    print(f"{'case (us per /healthz)':<28}{'without':>10}{'with layer':>12}{'cost':>8}")
    for case, extra in (
        ("metrics only", {}),
        ("metrics only, multiprocess", {"PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp()}),
        ("+ access line, multiprocess", {"PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp()}),
    ):
        command = [sys.executable, __file__, "--case", case, "--requests", str(args.requests)]
        command += ["--rounds", str(args.rounds)]
        subprocess.run(command, env={**os.environ, **extra}, check=True)


if __name__ == "__main__":
    main()
