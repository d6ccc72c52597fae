"""What the read cache buys on hot RMP reads: requests per second and latency, with the
cache off, in process, and in Redis.

Starts `townhall serve` once per mode on a fresh database (SQLite unless
`--database-url` names a PostgreSQL server), fills it (one resource with `--bookings`
bookings over a week, a person), then for each hot read sends requests from `--threads`
threads for `--seconds`:

  resource   GET /resources/{id}
  user       GET /users/{email}
  freebusy   GET /freebusy of the resource over the week (every booking merged)

Modes: `off` (TOWNHALL_CACHE=off), `memory` (one worker, no Redis), `redis` (with
`--redis`, default redis://127.0.0.1:6379/0; skipped with `--no-redis`).

    .venv/bin/python bench/cache.py --seconds 5 --threads 8

Prints a table; never asserts. A first run (`--seconds 3 --threads 4 --bookings 40`,
SQLite, on a 2-core machine shared with other jobs, so noisy) gave, in req/s off /
memory / Redis: free/busy 27 / 70 / 100, resource 122 / 176 / 83, user 47 / 90 / 54;
hit rates above 0.99. The cache pays most where a read does most (free/busy merges
every booking); a cheap read by primary key gains little in process and can lose
against the Redis round trip on a local SQLite file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ADMIN_PASSWORD = "bench-admin-password"
DOMAIN = "bench.example"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(database_url: str, log: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    environment = {
        **os.environ,
        "TOWNHALL_DATABASE_URL": database_url,
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOWNHALL_DOMAIN": DOMAIN,
        "TOWNHALL_LOG_LEVEL": "warning",
        "TOWNHALL_SMTP_LISTEN": "off",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "townhall", "serve", "--port", str(port), "--workers", "1"],
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{base}/readyz", timeout=1).ok:
                return process, base
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def session(base: str) -> requests.Session:
    http = requests.Session()
    token = http.post(
        f"{base}/api/v2/auth/login",
        json={"email": f"admin@{DOMAIN}", "password": ADMIN_PASSWORD},
    ).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def fill(base: str, bookings: int) -> dict[str, str]:
    """One resource booked `bookings` times over the coming week, and one person."""
    api = f"{base}/api/v2"
    http = session(base)
    kind = f"bench-room-{uuid.uuid4().hex[:6]}"
    http.post(
        f"{api}/resource-types",
        json={
            "id": kind,
            "name": "Room",
            "category": "meeting-resources",
            "fields": [{"name": "capacity", "type": "number", "required": True}],
        },
    ).raise_for_status()
    made = http.post(
        f"{api}/resources",
        json={"name": "Bench Room", "type": kind, "customFields": {"capacity": 8}},
    )
    made.raise_for_status()
    room = made.json()["resource"]["id"]
    start_at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    for n in range(bookings):
        begins = start_at + timedelta(minutes=90 * n)
        http.post(
            f"{api}/bookings",
            json={
                "resourceId": room,
                "title": f"Meeting {n}",
                "startTime": begins.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endTime": (begins + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "sendInvitations": False,
            },
        ).raise_for_status()
    email = f"bench-{uuid.uuid4().hex[:6]}@{DOMAIN}"
    http.post(
        f"{api}/users", json={"email": email, "password": "bench-pw-123", "realName": "Bench"}
    ).raise_for_status()
    until = start_at + timedelta(days=7, hours=90 * bookings // 60)
    return {
        "resource": f"{api}/resources/{room}",
        "user": f"{api}/users/{email}",
        "freebusy": (
            f"{api}/freebusy?email={room}&startTime={start_at:%Y-%m-%dT%H:%M:%SZ}"
            f"&endTime={until:%Y-%m-%dT%H:%M:%SZ}"
        ),
    }


def hammer(base: str, url: str, threads: int, seconds: float) -> dict[str, float]:
    took: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    until = time.monotonic() + seconds

    def run(index: int) -> None:
        http = session(base)
        while time.monotonic() < until:
            started = time.perf_counter()
            answer = http.get(url, timeout=30)
            took[index].append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                failures[index] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - began
    every = sorted(t for per in took for t in per)
    if not every:
        return {"rps": 0.0, "p50": 0.0, "p99": 0.0, "failed": float(sum(failures))}
    return {
        "rps": len(every) / elapsed,
        "p50": statistics.median(every),
        "p99": every[min(len(every) - 1, int(len(every) * 0.99))],
        "failed": float(sum(failures)),
    }


def hit_rate(base: str) -> dict[str, Any]:
    stats = session(base).get(f"{base}/api/v2/admin/cache/stats").json()["stats"]
    return {kind: found["hitRate"] for kind, found in stats["byType"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--bookings", type=int, default=60)
    parser.add_argument("--database-url", default="", help="PostgreSQL server URL (no db)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-redis", action="store_true")
    asked = parser.parse_args()
    modes: list[tuple[str, dict[str, str]]] = [("off", {"TOWNHALL_CACHE": "off"}), ("memory", {})]
    if not asked.no_redis:
        modes.append(("redis", {"TOWNHALL_REDIS_URL": asked.redis}))
    folder = Path(tempfile.mkdtemp(prefix="townhall-cache-bench-"))
    rows: list[tuple[str, str, dict[str, float]]] = []
    rates: dict[str, dict[str, Any]] = {}
    try:
        for mode, env in modes:
            if asked.database_url:
                import asyncio

                import asyncpg  # type: ignore[import-untyped]

                name = f"townhall_bench_{uuid.uuid4().hex[:8]}"

                async def create(name: str = name) -> None:
                    conn = await asyncpg.connect(asked.database_url)
                    await conn.execute(f'CREATE DATABASE "{name}"')
                    await conn.close()

                asyncio.run(create())
                url = asked.database_url.rsplit("/", 1)[0] + f"/{name}"
            else:
                url = f"sqlite:///{folder / f'{mode}.db'}"
            process, base = start(url, folder / f"{mode}.log", **env)
            try:
                targets = fill(base, asked.bookings)
                for read, target in targets.items():
                    rows.append((read, mode, hammer(base, target, asked.threads, asked.seconds)))
                rates[mode] = hit_rate(base)
            finally:
                stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{asked.threads} threads, {asked.seconds:g} s per read, {asked.bookings} bookings")
    print(f"{'read':<10} {'cache':<7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
    baseline = {read: found["rps"] for read, mode, found in rows if mode == "off"}
    for read, mode, found in sorted(rows, key=lambda r: r[0]):
        gain = found["rps"] / baseline[read] if baseline.get(read) else 0
        print(
            f"{read:<10} {mode:<7} {found['rps']:>8.0f} {found['p50']:>8.1f} "
            f"{found['p99']:>8.1f} {found['failed']:>7.0f}   x{gain:.2f}"
        )
    for mode, found in rates.items():
        print(f"hit rates ({mode}): {found}")


if __name__ == "__main__":
    main()
