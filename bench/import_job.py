"""An RMP import of 10,000 resources as a job, on one worker, and `/healthz` meanwhile.

Starts `townhall serve --workers 1`, makes a resource type, then posts a CSV of
`--rows` resources to `POST /api/v2/admin/import` while another thread asks `/healthz`
over and over. Prints how long the 202 took, how long the job took until `done`, and
the `/healthz` latency p50 / p99 / max sampled during it. With `--sync` it does the
same with jobs switched off (`TOWNHALL_IMPORT_JOB_ROWS=0`, `..._BYTES=0`): one request
that answers when every row is written, as before jobs.

    .venv/bin/python bench/import_job.py --db sqlite [--sync]

Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from openfire_load import ADMIN_PASSWORD, drop_database, fresh_database, start_server

HEALTH_PAUSE_SECONDS = 0.02


class Sampler(threading.Thread):
    """`/healthz` one after the other, each answer's latency kept, until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.latencies: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with requests.Session() as session:
            while not self.stopping.is_set():
                started = time.perf_counter()
                session.get(f"{self.url}/healthz", timeout=120)
                self.latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(HEALTH_PAUSE_SECONDS)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _login(api: str) -> dict[str, str]:
    answer = requests.post(
        f"{api}/auth/login", json={"email": "admin@localhost", "password": ADMIN_PASSWORD}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _csv(kind: str, rows: int) -> bytes:
    lines = ["name,type,capacity,floor"]
    lines += [f"Room {n},{kind},{2 + n % 18},{n % 9}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def one_import(url: str, rows: int, kind: str) -> dict[str, Any]:
    api = f"{url}/api/v2"
    auth = _login(api)
    made = requests.post(
        f"{api}/resource-types",
        json={
            "id": kind,
            "name": "Bench room",
            "category": "meeting-resources",
            "fields": [{"name": "capacity", "type": "number", "required": True}],
        },
        headers=auth,
    )
    made.raise_for_status()
    content = _csv(kind, rows)
    sampler = Sampler(url)
    sampler.start()
    time.sleep(0.5)  # a few samples of the idle server first
    started = time.perf_counter()
    answer = requests.post(
        f"{api}/admin/import", files={"file": ("rooms.csv", content)}, headers=auth, timeout=600
    )
    answered = time.perf_counter() - started
    figures: dict[str, Any] = {"status": answer.status_code, "answered_s": answered}
    if answer.status_code == 202:
        location = answer.headers["Location"]
        progress: list[tuple[str, int]] = []
        while True:
            job = requests.get(f"{url}{location}", headers=auth, timeout=60).json()["data"]
            progress.append((job["progress"]["stage"], job["progress"]["done"]))
            if job["state"] in ("done", "failed"):
                break
            time.sleep(0.25)
        figures["state"] = job["state"]
        figures["imported"] = (job["result"] or {}).get("imported")
        figures["polls"] = len(progress)
        figures["progress_seen"] = sorted({stage for stage, _ in progress})
    else:
        figures["state"] = "answered"
        figures["imported"] = answer.json().get("imported")
    figures["total_s"] = time.perf_counter() - started
    sampler.stopping.set()
    sampler.join()
    figures["health"] = sampler.latencies
    return figures


def run(kind: str, rows: int, sync: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="townhall-bench-"))
    database_url = fresh_database(kind, workdir)
    port = 18500 + os.getpid() % 500
    os.environ.setdefault("TOWNHALL_SMTP_LISTEN", "off")  # no mail needed, no port taken
    if sync:
        os.environ["TOWNHALL_IMPORT_JOB_ROWS"] = "0"
        os.environ["TOWNHALL_IMPORT_JOB_BYTES"] = "0"
    server = start_server(database_url, port, 1, workdir / "server.log")
    try:
        found = one_import(f"http://127.0.0.1:{port}", rows, "bench-room")
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop_database(database_url)
        shutil.rmtree(workdir, ignore_errors=True)
    health = found["health"]
    path = "synchronous" if sync else "job"
    print(
        f"{kind}, 1 worker, {rows} rows, {path} path: HTTP {found['status']} in "
        f"{found['answered_s']:.3f} s; {found['state']} after {found['total_s']:.1f} s; "
        f"imported {found['imported']}"
    )
    if "polls" in found:
        print(f"  {found['polls']} polls of the job, stages seen {found['progress_seen']}")
    print(
        f"  /healthz during it: {len(health)} samples, p50 {statistics.median(health):.1f} ms, "
        f"p99 {_percentile(health, 0.99):.1f} ms, max {max(health):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--sync", action="store_true", help="also the synchronous path")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"{os.cpu_count()} cores")
    for kind in kinds:
        run(kind, args.rows, sync=False)
        if args.sync:
            run(kind, args.rows, sync=True)
            for name in ("TOWNHALL_IMPORT_JOB_ROWS", "TOWNHALL_IMPORT_JOB_BYTES"):
                os.environ.pop(name, None)


if __name__ == "__main__":
    main()
