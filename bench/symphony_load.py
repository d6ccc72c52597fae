"""Load figures for the Symphony dialect: requests/s and p50/p99 latency.

Starts `townhall serve` as a user would (with `TOWNHALL_ADMIN_PUBLIC_KEY`, so the admin
can log in as a bot), seeds users and rooms, and drives it with `wrk` at 64
connections: bot login, `GET /pod/v3/users?uid=...` for 100 ids among the users, and
`POST /pod/v3/room/search` over the rooms.

    .venv/bin/python bench/symphony_load.py --db both --users 10000 --rooms 10000

Prints a table; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from openfire_load import (
    arguments,
    drop_database,
    fresh_database,
    report,
    seed_users,
    start_server,
    wait_until_idle,
    wrk,
)


def key_pair(workdir: Path) -> tuple[str, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = workdir / "admin.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


async def seed_rooms(database_url: str, count: int) -> None:
    from sqlalchemy import insert, select, text

    from townhall.config import load_settings
    from townhall.infrastructure.ids import Ids
    from townhall.services.container import Services
    from townhall.store.schema import chat_services, rooms

    services = Services.build(load_settings({"TOWNHALL_DATABASE_URL": database_url}))
    tenant = await services.tenants.first()
    assert tenant is not None
    now, ids = services.deps.clock.now(), Ids()
    words = ["sales", "support", "finance", "design", "ops", "legal", "travel", "music"]
    async with services.deps.db.write() as tx:
        service_id = (
            await tx.execute(
                select(chat_services.c.id).where(chat_services.c.tenant_id == tenant.id)
            )
        ).scalar_one()
        for start in range(0, count, 1000):
            await tx.execute(
                insert(rooms),
                [
                    {
                        "service_id": service_id,
                        "name": f"bench{i}",
                        "natural_name": f"{words[i % len(words)]} room {i}",
                        "description": f"about {words[(i * 7) % len(words)]}",
                        "public_room": True,
                        "members_only": i % 3 == 0,
                        "broadcast_presence_roles": [],
                        "stream_id": ids.stream_id(),
                        "created_at": now,
                        "modified_at": now,
                    }
                    for i in range(start, min(start + 1000, count))
                ],
            )
        await tx.execute(text("ANALYZE"))
    await services.close()


def run(kind: str, args: argparse.Namespace, binary: str) -> list[tuple[str, dict[str, float]]]:
    workdir = Path(tempfile.mkdtemp(prefix="townhall-bench-"))
    database_url = fresh_database(kind, workdir)
    port = 19000 + os.getpid() % 1000
    private, public = key_pair(workdir)
    os.environ["TOWNHALL_ADMIN_PUBLIC_KEY"] = str(public)
    try:
        server = start_server(database_url, port, args.workers, workdir / "server.log")
        asyncio.run(seed_users(database_url, args.users))
        asyncio.run(seed_rooms(database_url, args.rooms))
        url = f"http://127.0.0.1:{port}"
        signed = jwt.encode({"sub": "admin", "exp": int(time.time()) + 280}, private, "RS512")
        login = requests.post(f"{url}/login/pubkey/authenticate", json={"token": signed})
        token = login.json()["token"]
        listed = requests.get(f"{url}/pod/v1/admin/user/list", headers={"sessionToken": token})
        ids = [int(i) for i in listed.json()]
        queries = ",".join(
            '"' + ",".join(str(i) for i in random.sample(ids, 100)) + '"' for _ in range(20)
        )
        headers = {"Content-Type": "application/json", "sessionToken": token}
        common = {"token": f'"{signed}"', "queries": "{" + queries + "}"}
        scenarios = [
            (
                "bot login",
                'request = function() return wrk.format("POST", "/login/pubkey/authenticate", '
                "headers, '{\"token\":\"' .. token .. '\"}') end",
            ),
            (
                "GET /v3/users (100 ids)",
                'request = function() return wrk.format("GET", "/pod/v3/users?uid=" .. '
                "queries[math.random(#queries)], headers) end",
            ),
            (
                f"POST room search ({args.rooms})",
                'local words = {"sales", "support", "finance", "design", "room 12"}\n'
                'request = function() return wrk.format("POST", "/pod/v3/room/search?limit=50", '
                "headers, '{\"query\":\"' .. words[math.random(#words)] .. '\"}') end",
            ),
        ]
        results = []
        for name, lua in scenarios:
            wait_until_idle(url)
            results.append(
                (
                    name,
                    wrk(binary, url, lua, args.seconds, args.connections, common, headers, workdir),
                )
            )
        server.terminate()
        server.wait(timeout=30)
        return results
    finally:
        drop_database(database_url)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    report(arguments(__doc__, {"users": 10_000, "rooms": 10_000}), run)


if __name__ == "__main__":
    main()
