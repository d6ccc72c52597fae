"""An RMP restore of a large archive as a job, on one worker, and `/healthz` meanwhile.

Starts `townhall serve --workers 1`, imports `--rows` resources (bench/import_job.py's
import), backs the state up (`POST /api/v2/admin/backup`), then restores that archive
(`POST /api/v2/admin/restore`, a job: `TOWNHALL_RESTORE_JOB_BYTES=1`) while another
thread asks `/healthz` over and over. Prints the archive's size, how long the 202 took,
how long the job took until `done`, and the `/healthz` latency p50 / p99 / max sampled
during it. With `--sync`, the restore is one request (`TOWNHALL_RESTORE_JOB_BYTES=0`).

    .venv/bin/python bench/restore_job.py --db sqlite [--sync]

Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from import_job import Sampler, _login, _percentile, one_import
from openfire_load import drop_database, fresh_database, start_server


def one_restore(url: str) -> dict[str, Any]:
    api = f"{url}/api/v2"
    auth = _login(api)  # before the backup: the session is the archive's
    made = requests.post(f"{api}/admin/backup", headers=auth, timeout=600)
    made.raise_for_status()
    archive = made.content
    sampler = Sampler(url)
    sampler.start()
    time.sleep(0.5)  # a few samples of the idle server first
    started = time.perf_counter()
    answer = requests.post(
        f"{api}/admin/restore",
        files={"file": ("all.tar.gz", archive, "application/gzip")},
        headers=auth,
        timeout=600,
    )
    figures: dict[str, Any] = {
        "bytes": len(archive),
        "status": answer.status_code,
        "answered_s": time.perf_counter() - started,
    }
    if answer.status_code == 202:
        location = answer.headers["Location"]
        stages: set[str] = set()
        polls = 0
        while True:
            job = requests.get(f"{url}{location}", headers=auth, timeout=60).json()["data"]
            polls += 1
            stages.add(job["progress"]["stage"])
            if job["state"] in ("done", "failed"):
                break
            time.sleep(0.25)
        figures["state"] = job["state"]
        figures["rows"] = (job["result"] or {}).get("rows")
        figures["polls"] = polls
        figures["stages"] = sorted(stages)
    else:
        figures["state"] = "answered"
        figures["rows"] = answer.json()["restored"]["rows"]
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
    os.environ["TOWNHALL_RESTORE_JOB_BYTES"] = "0" if sync else "1"
    server = start_server(database_url, port, 1, workdir / "server.log")
    try:
        url = f"http://127.0.0.1:{port}"
        one_import(url, rows, "bench-room")
        found = one_restore(url)
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop_database(database_url)
        shutil.rmtree(workdir, ignore_errors=True)
    health = found["health"]
    path = "synchronous" if sync else "job"
    print(
        f"{kind}, 1 worker, archive of {found['bytes']} bytes ({found['rows']} rows), {path} "
        f"path: HTTP {found['status']} in {found['answered_s']:.3f} s; {found['state']} after "
        f"{found['total_s']:.1f} s"
    )
    if "polls" in found:
        print(f"  {found['polls']} polls of the job, stages seen {found['stages']}")
    print(
        f"  /healthz during it: {len(health)} samples, p50 {statistics.median(health):.1f} ms, "
        f"p99 {_percentile(health, 0.99):.1f} ms, max {max(health):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--rows", type=int, default=10_000, help="resources imported first")
    parser.add_argument("--sync", action="store_true", help="also the synchronous path")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"{os.cpu_count()} cores")
    for kind in kinds:
        run(kind, args.rows, sync=False)
        if args.sync:
            run(kind, args.rows, sync=True)
    os.environ.pop("TOWNHALL_RESTORE_JOB_BYTES", None)


if __name__ == "__main__":
    main()
