"""`/healthz` latency while wrong passwords flood the RMP login.

Starts `townhall serve` (SQLite, default argon2id profile, one worker unless told), then
for each scenario sends wrong logins from 32 threads for `--seconds` while one client
times `/healthz` in a loop:

  idle           no flood (the baseline)
  one account    every attempt on the admin's address: the account limit answers 429
                 without hashing after 10 failures
  many accounts  a distributed attacker: the per-address limit set out of reach, each
                 attempt on another (real) account, so every attempt costs a hash

    .venv/bin/python bench/login_flood.py --seconds 10

Prints a table; never asserts.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import requests
from openfire_load import ADMIN_PASSWORD, start_server

THREADS = 32
ACCOUNTS = 200


def _flood(base: str, addresses: Callable[[], str], until: float, seen: Counter[int]) -> None:
    with requests.Session() as http:
        while time.monotonic() < until:
            answer = http.post(
                f"{base}/api/v2/auth/login",
                json={"email": addresses(), "password": "wrong-password"},
                timeout=30,
            )
            seen[answer.status_code] += 1


def _health(base: str, until: float) -> list[float]:
    took: list[float] = []
    with requests.Session() as http:
        while time.monotonic() < until:
            started = time.perf_counter()
            http.get(f"{base}/healthz", timeout=30)
            took.append((time.perf_counter() - started) * 1000)
            time.sleep(0.02)
    return took


def _scenario(base: str, seconds: float, addresses: Callable[[], str] | None) -> dict[str, str]:
    until = time.monotonic() + seconds
    seen: Counter[int] = Counter()
    flooders = [
        threading.Thread(target=_flood, args=(base, addresses, until, seen))
        for _ in range(THREADS if addresses else 0)
    ]
    for thread in flooders:
        thread.start()
    took = sorted(_health(base, until))
    for thread in flooders:
        thread.join()
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    return {
        "logins/s": f"{sum(seen.values()) / seconds:,.0f}",
        "answers": " ".join(f"{status}:{n}" for status, n in sorted(seen.items())) or "-",
        "healthz p50 ms": f"{statistics.median(took):.1f}",
        "healthz p99 ms": f"{p99:.1f}",
        "healthz max ms": f"{took[-1]:.1f}",
    }


def _make_accounts(base: str) -> list[str]:
    with requests.Session() as http:
        token = http.post(
            f"{base}/api/v2/auth/login",
            json={"email": "admin@example.org", "password": ADMIN_PASSWORD},
        ).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        made = []
        for i in range(ACCOUNTS):
            address = f"flood{i}@example.org"
            http.post(
                f"{base}/api/v2/users",
                json={"email": address, "password": "right-password", "realName": "Flood"},
            )
            made.append(address)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="townhall-flood-"))
    os.environ["TOWNHALL_DOMAIN"] = "example.org"
    os.environ["TOWNHALL_LOGIN_FAILURES_PER_ADDRESS"] = "100000000"
    port = 18000 + os.getpid() % 1000
    base = f"http://127.0.0.1:{port}"
    server = start_server(
        f"sqlite:///{workdir / 'townhall.db'}", port, args.workers, workdir / "log"
    )
    try:
        accounts = itertools.cycle(_make_accounts(base))
        rows = {
            "idle": _scenario(base, args.seconds, None),
            "one account": _scenario(base, args.seconds, lambda: "admin@example.org"),
            "many accounts": _scenario(base, args.seconds, lambda: next(accounts)),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    columns = ["scenario", *next(iter(rows.values()))]
    print(
        f"login flood, SQLite, {args.workers} worker(s), {THREADS} threads, {args.seconds:g} s each"
    )
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(row.values()) + " |")


if __name__ == "__main__":
    main()
