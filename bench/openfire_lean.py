"""The Openfire API's hot routes timed in process: milliseconds per request and SQL
statements per request, through the whole ASGI app (no sockets, no other process).

The machine is shared and busy, so figures across processes or hours do not compare;
this runs the app in this process on a fresh database, so two checkouts (before and
after a change) can be timed one after the other on the same data:

    .venv/bin/python bench/openfire_lean.py                      # this checkout
    PYTHONPATH=/tmp/base/src .venv/bin/python bench/openfire_lean.py   # another one
    .venv/bin/python bench/openfire_lean.py --database-url postgresql+asyncpg://...

It fills `--users` people (every third with two properties), one of them with a roster
of ten, then times each scenario `--repeat` times and prints the median and the
statements one request runs (counted at the driver's cursor, so SQLite's BEGIN IMMEDIATE
counts as one; PostgreSQL's BEGIN does not show). "bytes" is the body's length (minus
the status if it failed). Never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, insert, select

ADMIN_PASSWORD = "bench-admin-password"
DOMAIN = "bench.example"
STATEMENTS = [0]


def _count(*_: Any) -> None:
    STATEMENTS[0] += 1


async def call(
    app: Any, method: str, path: str, body: bytes = b"", accept: str = "application/json"
) -> tuple[int, bytes]:
    """One request straight into the ASGI app."""
    raw, _, query = path.partition("?")
    auth = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", f"Basic {auth}".encode()),
        (b"accept", accept.encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw,
        "raw_path": raw.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def lifespan(app: Any) -> Callable[[], Awaitable[None]]:
    """Start the app's lifespan; returns what stops it."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    return stop


async def fill(database_url: str, count: int) -> None:
    """People straight into the tables (the service would spend minutes on this)."""
    from townhall.store.database import open_database
    from townhall.store.schema import tenants, user_properties, users

    db = open_database(database_url)
    try:
        async with db.write() as tx:
            tenant_id = (await tx.execute(select(tenants.c.id).order_by(tenants.c.id))).scalar()
            now = datetime.now(UTC)
            rows = [
                {
                    "tenant_id": tenant_id,
                    "username": f"user{i:05d}",
                    "name": f"User {i}",
                    "email": f"user{i}@{DOMAIN}" if i % 2 else None,
                    "locked": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ]
            await tx.execute(insert(users), rows)
            ids = (
                await tx.execute(
                    select(users.c.id, users.c.username).where(users.c.tenant_id == tenant_id)
                )
            ).all()
            props = [
                {"user_id": uid, "key": key, "value": f"{key}-{name}"}
                for uid, name in ids
                if name.startswith("user") and int(name[4:]) % 3 == 0
                for key in ("department", "title")
            ]
            if props:
                await tx.execute(insert(user_properties), props)
    finally:
        await db.dispose()


async def timed(
    app: Any, label: str, repeat: int, make: Callable[[int], tuple[str, str, bytes]]
) -> tuple[str, float, float, int, int]:
    times = []
    statements = []
    status = 0
    size = 0
    for i in range(repeat):
        method, path, body = make(i)
        before = STATEMENTS[0]
        start = time.perf_counter()
        status, answer = await call(app, method, path, body)
        times.append((time.perf_counter() - start) * 1000)
        statements.append(STATEMENTS[0] - before)
        size = len(answer)
    return (
        label,
        statistics.median(times),
        min(times),
        statistics.median(statements),
        size if status < 300 else -status,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from townhall.app import TENANT_DEFAULTS, create_app
    from townhall.config import load_settings
    from townhall.services.bootstrap import ensure_initialised
    from townhall.services.container import Services
    from townhall.store.migrate import upgrade

    scratch = Path(tempfile.mkdtemp(prefix="th-lean-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{scratch}/bench.db"
    env = {
        "TOWNHALL_DATABASE_URL": database_url,
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOWNHALL_DOMAIN": DOMAIN,
        "TOWNHALL_LOG_LEVEL": "warning",
        "TOWNHALL_SMTP_LISTEN": "off",
        "TOWNHALL_DATA_DIR": str(scratch / "data"),
        "TOWNHALL_ARGON2_TIME_COST": "1",
        "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
        "TOWNHALL_DB_POOL_SIZE": "2",
    }
    settings = load_settings(env)
    await asyncio.to_thread(upgrade, database_url)
    built = Services.build(settings)
    await ensure_initialised(built, settings, TENANT_DEFAULTS)
    await built.close()
    app = create_app(settings)
    stop = await lifespan(app)
    event.listen(Engine, "before_cursor_execute", _count)
    try:
        status, answer = await call(app, "GET", "/plugins/restapi/v1/users")  # tenant made
        assert status == 200, (status, answer)
        await fill(database_url, args.users)
        owner = "user00003"
        for i in range(10):
            item = json.dumps({"jid": f"friend{i}@{DOMAIN}", "nickname": f"F{i}"}).encode()
            status, answer = await call(
                app, "POST", f"/plugins/restapi/v1/users/{owner}/roster", item
            )
            assert status == 201, (status, answer)
        run = uuid.uuid4().hex[:6]
        base = "/plugins/restapi/v1"

        def room(i: int) -> tuple[str, str, bytes]:
            spec = {
                "roomName": f"r{run}{i}",
                "naturalName": f"Room {i}",
                "description": "d",
                "persistent": True,
            }
            return "POST", f"{base}/chatrooms", json.dumps(spec).encode()

        def user(i: int) -> tuple[str, str, bytes]:
            spec = {
                "username": f"n{run}{i}",
                "password": "secret-pass-1",
                "name": "N",
                "properties": [{"key": "k", "value": "v"}],
            }
            return "POST", f"{base}/users", json.dumps(spec).encode()

        scenarios: list[tuple[str, int, Callable[[int], tuple[str, str, bytes]]]] = [
            ("GET /users (all)", max(3, args.repeat // 5), lambda i: ("GET", f"{base}/users", b"")),
            (
                "GET /users?limit=50",
                args.repeat,
                lambda i: ("GET", f"{base}/users?start=100&limit=50", b""),
            ),
            (
                "GET /users/{u} (miss)",
                args.repeat,
                lambda i: ("GET", f"{base}/users/user{i:05d}", b""),
            ),
            (
                "GET /users/{u} (hit)",
                args.repeat,
                lambda i: ("GET", f"{base}/users/user{args.users - 1:05d}", b""),
            ),
            (
                "GET /users/{u}/roster",
                args.repeat,
                lambda i: ("GET", f"{base}/users/{owner}/roster", b""),
            ),
            ("POST /chatrooms", args.repeat, room),
            ("POST /users", args.repeat, user),
        ]
        import townhall

        where = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
        print(f"townhall from {Path(townhall.__file__).parent}, {where}, {args.users} users")
        print(f"{'scenario':<24} {'median ms':>10} {'min ms':>8} {'stmts':>6} {'bytes':>8}")
        for label, repeat, make in scenarios:
            # One untimed call first: caches and compiled statements warm.
            await call(app, *make(10_000)[:2], make(10_000)[2])
            name, median, best, stmts, size = await timed(app, label, repeat, make)
            print(f"{name:<24} {median:>10.2f} {best:>8.2f} {stmts:>6.0f} {size:>8}")
    finally:
        event.remove(Engine, "before_cursor_execute", _count)
        await stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
