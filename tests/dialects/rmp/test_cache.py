"""RMP `/admin/cache/*` and the read cache behind the reads, over HTTP (both databases).

The shared test server runs one worker without Redis: its cache lives in the process.
The last tests start two server processes sharing Redis and the database, read through
one and write through the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.conftest import RunningServer, start_server, stop_server, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, at, book, make_resource, person, refused

REDIS_URL = "redis://127.0.0.1:6379/0"


def _stats(rmp: Rmp) -> dict[str, Any]:
    answer = rmp.get("/admin/cache/stats")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    return body["stats"]  # type: ignore[no-any-return]


def _counts(rmp: Rmp, kind: str) -> tuple[int, int]:
    found = _stats(rmp)["byType"][kind]
    return found["hits"], found["misses"]


def _freebusy(rmp: Rmp, address: str, day: int = 1) -> list[dict[str, Any]]:
    span = {"startTime": at(0, day), "endTime": at(24, day)}
    answer = rmp.get("/freebusy", params={"email": address, **span})
    assert answer.status_code == 200, answer.text
    return answer.json()["periods"]  # type: ignore[no-any-return]


def test_stats_count_real_hits_and_misses(server: RunningServer) -> None:
    rmp = admin(server)
    room = make_resource(rmp)
    hits, misses = _counts(rmp, "resource")
    assert rmp.get(f"/resources/{room}").status_code == 200
    assert _counts(rmp, "resource") == (hits, misses + 1)
    for _ in range(3):
        assert rmp.get(f"/resources/{room}").status_code == 200
    assert _counts(rmp, "resource") == (hits + 3, misses + 1)
    stats = _stats(rmp)
    kind = stats["byType"]["resource"]
    assert kind["keys"] >= 1 and kind["memoryBytes"] > 0 and kind["avgTTL"] > 0
    assert kind["memoryUsed"].endswith("B")
    assert 0 < kind["hitRate"] <= 1
    assert stats["totalKeys"] >= kind["keys"]
    assert set(stats["byType"]) == {"calendar", "resource", "freebusy", "user"}
    assert 0 <= stats["hitRate"] <= 1 and stats["evictions"] >= 0


def test_a_write_is_seen_at_once(server: RunningServer) -> None:
    rmp = admin(server)
    room = make_resource(rmp)
    for _ in range(2):
        assert rmp.get(f"/resources/{room}").json()["resource"]["name"] != "Renamed"
    changed = rmp.put(f"/resources/{room}", json={"name": "Renamed"})
    assert changed.status_code == 200, changed.text
    assert rmp.get(f"/resources/{room}").json()["resource"]["name"] == "Renamed"
    # free/busy: cached while free, busy the moment the booking is made, free once cancelled
    assert _freebusy(rmp, room) == [] and _freebusy(rmp, room) == []
    made = book(rmp, room, at(9), at(10))
    assert made.status_code == 201, made.text
    assert [p["type"] for p in _freebusy(rmp, room)] == ["BUSY"]
    gone = rmp.delete(f"/bookings/{made.json()['booking']['id']}")
    assert gone.status_code == 200, gone.text
    assert _freebusy(rmp, room) == []
    assert rmp.delete(f"/resources/{room}").status_code in (200, 204)
    assert rmp.get(f"/resources/{room}").status_code == 404


def test_a_users_change_is_seen_at_once(server: RunningServer) -> None:
    rmp = admin(server)
    _, email = person(server)
    for _ in range(2):
        assert rmp.get(f"/users/{email}").json()["user"]["realName"] == "Test Person"
    changed = rmp.put(f"/users/{email}", json={"realName": "Someone Else"})
    assert changed.status_code == 200, changed.text
    assert rmp.get(f"/users/{email}").json()["user"]["realName"] == "Someone Else"


def test_invalidate_by_pattern_answers_how_many_it_removed(server: RunningServer) -> None:
    rmp = admin(server)
    rooms = [make_resource(rmp) for _ in range(3)]
    for room in rooms:
        assert rmp.get(f"/resources/{room}").status_code == 200
    one = rmp.post("/admin/cache/invalidate", json={"pattern": rooms[0], "type": "resource"})
    assert one.status_code == 200, one.text
    assert one.json() == {
        "success": True,
        "invalidated": 1,
        "message": "Invalidated 1 cache entries matching pattern",
    }
    common = rooms[1][: next(i for i, c in enumerate(rooms[1]) if c != rooms[2][i])]
    wildcard = f"tenant:{DOMAIN}:resource:{common}[0-9]*"  # the whole key, a glob
    both = rmp.post("/admin/cache/invalidate", json={"pattern": wildcard}).json()
    assert both["invalidated"] >= 2
    again = rmp.post("/admin/cache/invalidate", json={"pattern": rooms[1], "type": "resource"})
    assert again.json()["invalidated"] == 0
    other = "tenant:other.example:resource:*"  # another tenant's keys are never reached
    assert rmp.post("/admin/cache/invalidate", json={"pattern": other}).json()["invalidated"] == 0
    hits, misses = _counts(rmp, "resource")
    assert rmp.get(f"/resources/{rooms[1]}").status_code == 200
    assert _counts(rmp, "resource") == (hits, misses + 1)
    refused(rmp.post("/admin/cache/invalidate", json={}), 400, "pattern")
    refused(rmp.post("/admin/cache/invalidate", json={"pattern": " "}), 400, "pattern")
    refused(rmp.post("/admin/cache/invalidate", json={"pattern": "*", "type": "x"}), 400, "type")
    refused(rmp.post("/admin/cache/invalidate", json={"pattern": 5}), 400, "pattern")


def test_warm_loads_targets_and_a_date_range(server: RunningServer) -> None:
    rmp = admin(server)
    rooms = [make_resource(rmp) for _ in range(2)]
    missing = f"nothing-{unique('x')}@confroom.resources.{DOMAIN}"
    warmed = rmp.post("/admin/cache/warm", json={"type": "resource", "targets": [*rooms, missing]})
    assert warmed.status_code == 200, warmed.text
    body = warmed.json()
    assert body["success"] is True and body["warmed"] == 2 and body["targets"] == rooms
    assert [f["target"] for f in body["failed"]] == [missing]
    hits, misses = _counts(rmp, "resource")
    for room in rooms:
        assert rmp.get(f"/resources/{room}").status_code == 200
    assert _counts(rmp, "resource") == (hits + 2, misses)

    span = {"start": at(0), "end": at(24)}
    warmed = rmp.post(
        "/admin/cache/warm", json={"type": "freebusy", "targets": rooms, "dateRange": span}
    )
    assert warmed.status_code == 200, warmed.text
    assert warmed.json()["dateRange"] == span
    hits, misses = _counts(rmp, "freebusy")
    assert _freebusy(rmp, rooms[0]) == []
    assert _counts(rmp, "freebusy") == (hits + 1, misses)

    calendar = rmp.post("/admin/cache/warm", json={"type": "calendar", "targets": ["Calendar"]})
    assert calendar.status_code == 200, calendar.text
    assert calendar.json()["warmed"] == 1 and calendar.json()["dateRange"] is not None
    user = rmp.post("/admin/cache/warm", json={"type": "user", "targets": [f"admin@{DOMAIN}"]})
    assert user.json()["warmed"] == 1, user.text

    warm = "/admin/cache/warm"
    refused(rmp.post(warm, json={"type": "x", "targets": rooms}), 400, "type")
    refused(rmp.post(warm, json={"type": "resource", "targets": []}), 400, "targets")
    refused(rmp.post(warm, json={"type": "resource", "targets": "a"}), 400, "targets")
    refused(rmp.post(warm, json={"type": "resource", "targets": [""]}), 400, "targets")
    refused(rmp.post(warm, json={"type": "resource"}), 400, "targets")
    bad = {"type": "freebusy", "targets": rooms, "dateRange": {"start": "tomorrow"}}
    refused(rmp.post("/admin/cache/warm", json=bad), 400, "dateRange.start")
    backwards = {"start": at(10), "end": at(9)}
    answer = rmp.post(
        "/admin/cache/warm", json={"type": "freebusy", "targets": rooms, "dateRange": backwards}
    )
    refused(answer, 422, "dateRange")


def test_config_names_the_provider_and_the_key_pattern(server: RunningServer) -> None:
    answer = admin(server).get("/admin/cache/config")
    assert answer.status_code == 200, answer.text
    config = answer.json()["config"]
    assert config["provider"] == "memory"
    assert config["namespacing"] == {"enabled": True, "pattern": "tenant:{domain}:{type}:{id}"}
    assert config["ttlDefaults"] == {"calendar": 300, "resource": 300, "freebusy": 60, "user": 600}
    assert config["evictionPolicy"] == "lru" and config["maxEntries"] > 0


def test_the_cache_routes_are_for_admins(server: RunningServer) -> None:
    someone, _ = person(server)
    refused(someone.get("/admin/cache/stats"), 403)
    refused(someone.get("/admin/cache/config"), 403)
    refused(someone.post("/admin/cache/invalidate", json={"pattern": "*"}), 403)
    refused(someone.post("/admin/cache/warm", json={"type": "user", "targets": ["x"]}), 403)


# --- two server processes sharing Redis ---------------------------------------------


@pytest.fixture(scope="module")
def pair(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two separate servers (so a test chooses which one it speaks to) on one database
    and one Redis."""
    logs = tmp_path_factory.mktemp("cache-pair")
    first = start_server(database_url, logs / "a.log", TOWNHALL_REDIS_URL=REDIS_URL)
    try:
        second = start_server(database_url, logs / "b.log", TOWNHALL_REDIS_URL=REDIS_URL)
    except Exception:
        stop_server(first)
        raise
    yield first, second
    stop_server(second)
    stop_server(first)
    deployment = f"townhall-{hashlib.sha256(database_url.encode()).hexdigest()[:12]}"
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{deployment}:cache*"):
        client.delete(key)


def test_a_write_in_one_process_is_seen_in_the_other_at_once(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = admin(pair[0]), admin(pair[1])
    assert a.get("/admin/cache/config").json()["config"]["provider"] == "redis"
    room = make_resource(b)
    hits, misses = _counts(a, "resource")
    for _ in range(3):
        assert a.get(f"/resources/{room}").json()["resource"]["name"] != "Moved"
    assert _counts(a, "resource") == (hits + 2, misses + 1)  # cached in A
    assert _counts(b, "resource") == (hits + 2, misses + 1)  # one cache for both
    changed = b.put(f"/resources/{room}", json={"name": "Moved"})
    assert changed.status_code == 200, changed.text
    assert a.get(f"/resources/{room}").json()["resource"]["name"] == "Moved"

    assert _freebusy(a, room) == [] and _freebusy(a, room) == []
    made = book(b, room, at(13), at(14))
    assert made.status_code == 201, made.text
    assert [p["type"] for p in _freebusy(a, room)] == ["BUSY"]
    assert b.delete(f"/bookings/{made.json()['booking']['id']}").status_code == 200
    assert _freebusy(a, room) == []

    # a person's free/busy, from their calendar
    me = f"admin@{DOMAIN}"
    begins, ends = at(3.1, 11), at(3.2, 11)
    busy = {"from": begins, "till": ends, "type": "BUSY"}
    for _ in range(2):
        assert busy not in _freebusy(a, me, day=11)
    event = {"title": "Focus", "startTime": begins, "endTime": ends, "sendInvitations": False}
    made = b.post("/calendars/Calendar/events", json=event)
    assert made.status_code == 201, made.text
    assert busy in _freebusy(a, me, day=11)


def test_keys_written_by_one_process_are_counted_and_removed_by_the_other(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = admin(pair[0]), admin(pair[1])
    room = make_resource(a)
    assert a.get(f"/resources/{room}").status_code == 200
    assert _stats(b)["byType"]["resource"]["keys"] >= 1
    assert _stats(b)["byType"]["resource"]["memoryBytes"] > 0
    removed = b.post("/admin/cache/invalidate", json={"pattern": room, "type": "resource"})
    assert removed.json()["invalidated"] == 1, removed.text


def test_several_workers_without_redis_cache_nothing_on_postgresql(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Workers share no memory, and PostgreSQL keeps no change stamp: one worker could
    not make the others forget a write."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite's change stamp lets each process cache (the test below)")
    running = start_server(
        database_url, tmp_path_factory.mktemp("workers") / "server.log", workers=2
    )
    try:
        rmp = admin(running)
        config = rmp.get("/admin/cache/config").json()["config"]
        assert config["provider"] == "none" and "several workers" in config["note"]
        room = make_resource(rmp)
        for _ in range(3):
            assert rmp.get(f"/resources/{room}").status_code == 200
        resource = _stats(rmp)["byType"]["resource"]
        assert resource["hits"] == 0 and resource["keys"] == 0
    finally:
        stop_server(running)


def test_sqlite_processes_without_redis_cache_and_see_each_others_writes(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two servers on one SQLite file, no Redis: each caches in its own memory, and a
    write through one is read through the other at once (where SQLite's WAL stands is in
    every entry's tag)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps no change stamp (the test above)")
    logs = tmp_path_factory.mktemp("sqlite-pair")
    first = start_server(database_url, logs / "a.log")
    try:
        second = start_server(database_url, logs / "b.log")
        try:
            a, b = admin(first), admin(second)
            config = a.get("/admin/cache/config").json()["config"]
            assert config["provider"] == "memory" and "change stamp" in config["note"]
            room = make_resource(b)
            hits, misses = _counts(a, "resource")
            for _ in range(3):
                assert a.get(f"/resources/{room}").json()["resource"]["name"] != "Moved"
            assert _counts(a, "resource") == (hits + 2, misses + 1)
            changed = b.put(f"/resources/{room}", json={"name": "Moved"})
            assert changed.status_code == 200, changed.text
            assert a.get(f"/resources/{room}").json()["resource"]["name"] == "Moved"
            assert _counts(a, "resource") == (hits + 2, misses + 2)
        finally:
            stop_server(second)
    finally:
        stop_server(first)
