"""Load figures for the Openfire dialect: requests/s and p50/p99 latency.

Starts `townhall serve` the way a user does, on a fresh SQLite file and/or a fresh
PostgreSQL database, seeds users, then drives it with `wrk` (installed from Debian if
missing) at 64 connections:

  GET one user  |  GET /users with all users (JSON)  |  POST user  |  POST room

    .venv/bin/python bench/openfire_load.py --db both --users 10000 --seconds 10

Prints a table; never asserts. Password hashing uses the production argon2 settings.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

ADMIN_PASSWORD = "bench-admin"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
API = "/plugins/restapi/v1"

LUA_GET_ONE = """
math.randomseed(os.time())
request = function()
  local path = string.format("%s/users/seed%d", api, math.random(0, users - 1))
  return wrk.format("GET", path, headers)
end
"""
LUA_POST_USER = """
local n = 0
setup = function(thread) thread:set("tag", tostring(math.random(1, 1e9))) end
request = function()
  n = n + 1
  local body = string.format('{"username":"new%s_%d","password":"pass-%04d","name":"N"}', tag, n, n)
  return wrk.format("POST", api .. "/users", headers, body)
end
"""
LUA_POST_ROOM = """
local n = 0
setup = function(thread) thread:set("tag", tostring(math.random(1, 1e9))) end
request = function()
  n = n + 1
  local body = string.format(
    '{"roomName":"room%s_%d","naturalName":"Room %d","description":"bench",'
    .. '"persistent":true,"publicRoom":true}', tag, n, n)
  return wrk.format("POST", api .. "/chatrooms", headers, body)
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("wrk") or "wrk"


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    name = f"townhall_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))


async def seed_users(database_url: str, count: int, start: int = 0) -> None:
    """Bulk-load `count` users (seed{start}...) sharing one argon2 hash (hashing 10,000 would
    only time argon2); `start` lets a benchmark grow the same data in steps."""
    from sqlalchemy import insert, text

    from townhall.config import load_settings
    from townhall.infrastructure.passwords import Passwords
    from townhall.services.container import Services
    from townhall.store.schema import credentials, users

    settings = load_settings({"TOWNHALL_DATABASE_URL": database_url})
    services = Services.build(settings)
    tenant = await services.tenants.first()
    assert tenant is not None
    hashed = await Passwords(settings.argon2_time_cost, settings.argon2_memory_kib).hash("pw")
    now = services.deps.clock.now()
    batch = 1000
    for first in range(start, start + count, batch):
        async with services.deps.db.write() as tx:
            rows = [
                {
                    "tenant_id": tenant.id,
                    "username": f"seed{i}",
                    "name": f"Seed {i}",
                    "email": f"seed{i}@bench.example",
                    "locked": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(first, min(first + batch, start + count))
            ]
            ids = (await tx.execute(insert(users).returning(users.c.id), rows)).scalars().all()
            await tx.execute(
                insert(credentials),
                [{"user_id": uid, "password_hash": hashed, "updated_at": now} for uid in ids],
            )
    # Fresh planner statistics, as a database in service has (autovacuum may not have run).
    async with services.deps.db.write() as tx:
        await tx.execute(text("ANALYZE"))
    await services.close()


def start_server(database_url: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TOWNHALL_DATABASE_URL": database_url,
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOWNHALL_LOG_LEVEL": "warning",
        # No scenario receives mail; port 2525 may be another server's.
        "TOWNHALL_SMTP_LISTEN": "off",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "townhall", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def wrk(
    binary: str,
    url: str,
    lua: str,
    seconds: int,
    connections: int,
    globals_: dict[str, str],
    headers: dict[str, str],
    workdir: Path,
) -> dict[str, float]:
    header_lua = "headers = {" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}\n"
    variables = "".join(f"{k} = {v}\n" for k, v in globals_.items())
    script = workdir / "scenario.lua"
    script.write_text(variables + header_lua + lua)
    out = subprocess.run(
        [
            binary,
            "-t",
            str(min(2, connections)),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "60s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "errors": float(m.group(1))
        if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out))
        else 0,
    }


def wait_until_idle(url: str) -> None:
    """wrk stops sending, but the server still works off what the last scenario queued;
    wait until a health check answers promptly so scenarios do not overlap."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = time.monotonic()
        requests.get(f"{url}/healthz", timeout=120)
        if time.monotonic() - started < 0.02:
            return
        time.sleep(0.5)


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run(kind: str, args: argparse.Namespace, binary: str) -> list[tuple[str, dict[str, float]]]:
    workdir = Path(tempfile.mkdtemp(prefix="townhall-bench-"))
    database_url = fresh_database(kind, workdir)
    port = 18000 + os.getpid() % 1000
    try:
        # First start creates the schema, tenant and admin; then seed and serve.
        server = start_server(database_url, port, args.workers, workdir / "server.log")
        asyncio.run(seed_users(database_url, args.users))
        url = f"http://127.0.0.1:{port}"
        auth = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        headers = {
            "Authorization": f"Basic {auth}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        common = {"api": f'"{API}"', "users": str(args.users)}
        scenarios = [
            ("GET one user", LUA_GET_ONE, args.connections),
            (
                f"GET /users ({args.users} users)",
                'request = function() return wrk.format("GET", api .. "/users", headers) end',
                args.connections,
            ),
            ("POST user", LUA_POST_USER, args.connections),
            ("POST room", LUA_POST_ROOM, args.connections),
        ]
        results = []
        for name, lua, connections in scenarios:
            wait_until_idle(url)
            results.append(
                (name, wrk(binary, url, lua, args.seconds, connections, common, headers, workdir))
            )
        server.terminate()
        server.wait(timeout=30)
        return results
    finally:
        drop_database(database_url)
        shutil.rmtree(workdir, ignore_errors=True)


def arguments(doc: str | None, extra: dict[str, int]) -> argparse.Namespace:
    """The options every benchmark takes, plus its own sizes (`--users`, `--rooms`...)."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    for name, default in extra.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args()


Runner = Callable[[str, argparse.Namespace, str], list[tuple[str, dict[str, float]]]]


def report(args: argparse.Namespace, run: Runner) -> None:
    """Run the scenarios on each database asked for and print one line per scenario."""
    binary = ensure_wrk()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(
        f"{args.connections} connections, {args.workers} worker(s), {args.seconds}s per scenario, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'database':<11} {'scenario':<30} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}"
    )
    for kind in kinds:
        for name, r in run(kind, args, binary):
            print(
                f"{kind:<11} {name:<30} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
                f"{int(r['errors']):>8}",
                flush=True,
            )


def main() -> None:
    report(arguments(__doc__, {"users": 10_000}), run)


if __name__ == "__main__":
    main()
