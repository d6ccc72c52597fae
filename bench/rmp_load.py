"""Load figures for the RMP dialect: requests/s and p50/p99 latency.

Starts `townhall serve`, seeds 1,000 resources (capacity 2-20, a third with a
projector) and 100,000 one-hour bookings (100 per resource, 8 a day around today), then
drives it with `wrk`:

  booking create, ~10 % of them for a slot that is taken (409)
  free/busy of one of 50 resources over one week
  "rooms with capacity >= 8 and a projector free 10:00-11:00 tomorrow" over all 1,000

each at 32 and at 64 connections (throughput), and again from a single client, where
the p99 is the service time alone (issue 16's goals).

    .venv/bin/python bench/rmp_load.py --db both

Prints a table; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from openfire_load import (
    ADMIN_PASSWORD,
    arguments,
    drop_database,
    fresh_database,
    report,
    start_server,
    wait_until_idle,
    wrk,
)

SUBDOMAIN = "rooms.resources.localhost"
TYPE = "meeting-room"
SLOTS_PER_DAY = 8  # 08:00-16:00
FIRST_HOUR = 8


def _midnight(days: int) -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days)


async def seed(database_url: str, resources: int, bookings: int) -> None:
    """Bulk-load resources and bookings straight into the tables (one tenant)."""
    from sqlalchemy import insert, text

    from townhall.config import load_settings
    from townhall.dialects.rmp.bookings import booking_id
    from townhall.services.container import Services
    from townhall.store.schema import bookings as booking_table
    from townhall.store.schema import domains, resource_types
    from townhall.store.schema import resources as resource_table

    services = Services.build(load_settings({"TOWNHALL_DATABASE_URL": database_url}))
    tenant = await services.tenants.first()
    assert tenant is not None
    now = services.deps.clock.now()
    per_resource = bookings // resources
    first_day = -(per_resource // SLOTS_PER_DAY) // 2
    async with services.deps.db.write() as tx:
        parent = (await tx.execute(text("SELECT id FROM domains ORDER BY id LIMIT 1"))).scalar()
        await tx.execute(
            insert(resource_types).values(
                tenant_id=tenant.id,
                slug=TYPE,
                name="Meeting room",
                category="meeting-resources",
                fields=[
                    {"name": "capacity", "type": "number", "required": True},
                    {
                        "name": "features",
                        "type": "multiselect",
                        "options": ["projector", "whiteboard"],
                    },
                ],
            )
        )
        domain_id = (
            await tx.execute(
                insert(domains)
                .values(
                    tenant_id=tenant.id,
                    name=SUBDOMAIN,
                    kind="resource-subdomain",
                    parent_id=parent,
                    settings={},
                    created_at=now,
                )
                .returning(domains.c.id)
            )
        ).scalar_one()
        rows = []
        for i in range(resources):
            features = (["projector"] if i % 3 == 0 else []) + (["whiteboard"] if i % 2 else [])
            rows.append(
                {
                    "tenant_id": tenant.id,
                    "domain_id": domain_id,
                    "name": f"room-{i:04d}",
                    "display_name": f"Room {i}",
                    "type": TYPE,
                    "category": "meeting-resources",
                    "capacity": 2 + i % 19,
                    "features": features,
                    "custom_fields": {"capacity": 2 + i % 19, "features": features},
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        resource_ids = (
            (await tx.execute(insert(resource_table).returning(resource_table.c.id), rows))
            .scalars()
            .all()
        )
        batch: list[dict[str, object]] = []
        for resource_id in resource_ids:
            for j in range(per_resource):
                day, slot = divmod(j, SLOTS_PER_DAY)
                starts = _midnight(first_day + day) + timedelta(hours=FIRST_HOUR + slot)
                batch.append(
                    {
                        "id": booking_id(now),
                        "tenant_id": tenant.id,
                        "resource_id": resource_id,
                        "organizer_id": None,
                        "organizer": "admin@localhost",
                        "title": "Seeded",
                        "starts_at": starts,
                        "ends_at": starts + timedelta(hours=1),
                        "status": "confirmed" if j % 5 else "tentative",
                        "attendees": [],
                        "services": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            if len(batch) >= 5000:
                await tx.execute(insert(booking_table), batch)
                batch = []
        if batch:
            await tx.execute(insert(booking_table), batch)
    async with services.deps.db.write() as tx:
        await tx.execute(text("ANALYZE"))
    await services.close()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


LUA_BOOK = """
local n = 0
setup = function(thread) thread:set("id", counter); counter = counter + 1 end
request = function()
  n = n + 1
  local resource, starts
  if math.random() < 0.1 then
    resource = math.random(0, resources - 1)
    starts = taken_from + 86400 * math.random(1, taken_days) + 3600 * math.random(0, 7)
  else
    local slot = id * 10000000 + n
    resource = slot % resources
    starts = free_from + 3600 * math.floor(slot / resources)
  end
  local body = string.format(
    '{"resourceId":"room-%04d@%s","title":"Bench","startTime":"%s","endTime":"%s"}',
    resource, subdomain, os.date("!%Y-%m-%dT%H:%M:%SZ", starts),
    os.date("!%Y-%m-%dT%H:%M:%SZ", starts + 3600))
  return wrk.format("POST", "/api/v2/bookings", headers, body)
end
"""
LUA_FREEBUSY = """
request = function()
  local path = string.format("/api/v2/freebusy?email=room-%04d@%s&startTime=%s&endTime=%s",
    math.random(0, 49), subdomain, week_from, week_till)
  return wrk.format("GET", path, headers)
end
"""
LUA_SEARCH = """
request = function()
  local path = "/api/v2/resources?available=true&minCapacity=8&features=projector" ..
    "&limit=500&startTime=" .. slot_from .. "&endTime=" .. slot_till
  return wrk.format("GET", path, headers)
end
"""


def run(kind: str, args: argparse.Namespace, binary: str) -> list[tuple[str, dict[str, float]]]:
    workdir = Path(tempfile.mkdtemp(prefix="townhall-bench-"))
    database_url = fresh_database(kind, workdir)
    port = 20000 + os.getpid() % 1000
    try:
        server = start_server(database_url, port, args.workers, workdir / "server.log")
        asyncio.run(seed(database_url, args.resources, args.bookings))
        url = f"http://127.0.0.1:{port}"
        login = requests.post(
            f"{url}/api/v2/auth/login",
            json={"email": "admin@localhost", "password": ADMIN_PASSWORD},
        )
        login.raise_for_status()
        settings = f"{url}/api/v2/domains/{SUBDOMAIN}/settings"
        headers = {
            "Authorization": f"Bearer {login.json()['token']}",
            "Content-Type": "application/json",
        }
        requests.put(settings, json={"maxBookingHours": 2}, headers=headers).raise_for_status()
        taken_days = (args.bookings // args.resources // SLOTS_PER_DAY) // 2 - 1
        tomorrow = _midnight(1)
        common = {
            "counter": "1",
            "resources": str(args.resources),
            "subdomain": f'"{SUBDOMAIN}"',
            "taken_from": str(int(_midnight(0).timestamp()) + FIRST_HOUR * 3600),
            "taken_days": str(taken_days),
            "free_from": str(int(_midnight(400).timestamp())),
            "week_from": f'"{_iso(_midnight(0))}"',
            "week_till": f'"{_iso(_midnight(7))}"',
            "slot_from": f'"{_iso(tomorrow + timedelta(hours=10))}"',
            "slot_till": f'"{_iso(tomorrow + timedelta(hours=11))}"',
        }
        # Throughput at 32 and at 64 (--connections) connections; each booking run takes
        # its own thread ids (so its own free slots), or a later run would only meet 409s.
        scenarios = []
        for run_no, connections in enumerate(sorted({32, args.connections})):
            booking = LUA_BOOK.replace("id * 10000000", f"(id + {4 * run_no}) * 10000000")
            scenarios += [
                (f"booking create ~10% 409, c{connections}", booking, connections),
                (f"free/busy 1 week, c{connections}", LUA_FREEBUSY, connections),
                (f"free rooms >=8+projector, c{connections}", LUA_SEARCH, connections),
            ]
        # One client: the service time itself, without queueing behind other clients.
        scenarios += [
            (
                "booking create, 1 client",
                LUA_BOOK.replace("id * 10000000", "(id + 9) * 10000000"),
                1,
            ),
            ("free/busy, 1 client", LUA_FREEBUSY, 1),
            ("free rooms, 1 client", LUA_SEARCH, 1),
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


def main() -> None:
    report(arguments(__doc__, {"resources": 1000, "bookings": 100_000}), run)


if __name__ == "__main__":
    main()
