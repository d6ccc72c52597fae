"""Large RMP imports as jobs (services/jobs.py), against real servers on both databases.

The servers here make a job of any import of more than JOB_ROWS rows, so a few hundred
rows are "large"; the 10,000-row figures are bench/import_job.py's.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import RunningServer, start_server, stop_server, unique
from tests.helpers.cli import townhall
from tests.helpers.rmp import DOMAIN, Rmp, admin, import_room_type, person, refused, rooms_csv

JOB_ROWS = 20
WAIT_SECONDS = 120
"""How long a test waits for a job before it fails (a guard, not a timing assertion)."""


@pytest.fixture(scope="module")
def jobs_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    running = start_server(
        database_url,
        tmp_path_factory.mktemp("jobs") / "server.log",
        TOWNHALL_IMPORT_JOB_ROWS=str(JOB_ROWS),
        TOWNHALL_DB_POOL_SIZE="3",
    )
    yield running
    stop_server(running)


def _address(kind: str, n: int) -> str:
    return f"room-{n}@{kind}.resources.{DOMAIN}"


def _exists(rmp: Rmp, address: str) -> bool:
    found = rmp.get(f"/resources/{address}")
    assert found.status_code in (200, 404), found.text
    return found.status_code == 200


def _upload(rmp: Rmp, content: bytes, **form: str) -> requests.Response:
    return rmp.post("/admin/import", files={"file": ("rooms.csv", content)}, data=form)


def _accepted(answer: requests.Response) -> dict[str, Any]:
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["success"] is True
    job: dict[str, Any] = body["data"]
    assert answer.headers["Location"] == job["url"] == f"/api/v2/admin/jobs/{job['id']}"
    assert job["kind"] == "import" and job["state"] in ("queued", "running", "done")
    return job


def _follow(rmp: Rmp, job: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The job once finished, and what each read of it on the way said."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        answer = rmp.get(f"/admin/jobs/{job['id']}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["success"] is True
        found: dict[str, Any] = answer.json()["data"]
        seen.append(found)
        if found["state"] in ("done", "failed"):
            return found, seen
        time.sleep(0.05)
    raise AssertionError(f"job {job['id']} did not finish: {seen[-1]}")


def test_a_large_import_answers_202_and_its_job_ends_done(jobs_server: RunningServer) -> None:
    rmp = admin(jobs_server)
    kind = import_room_type(rmp, "jobroom")
    rows = 300
    job = _accepted(_upload(rmp, rooms_csv(kind, rows)))
    assert job["dryRun"] is False and job["startedBy"] == f"admin@{DOMAIN}"
    done, seen = _follow(rmp, job)
    for read in seen:
        progress = read["progress"]
        assert 0 <= progress["done"] <= progress["total"]
        assert read["state"] in ("queued", "running", "done")
    assert done["state"] == "done", done
    assert done["error"] is None and done["errors"] == []
    assert done["progress"]["stage"] == "writing"
    assert done["progress"]["done"] == done["progress"]["total"] == rows
    assert done["startedAt"] and done["finishedAt"]
    result = done["result"]
    assert result["dryRun"] is False
    assert result["imported"] == {"types": 0, "resources": rows, "bookings": 0}
    assert result["resources"][0] == _address(kind, 0)
    assert _exists(rmp, _address(kind, 0)) and _exists(rmp, _address(kind, rows - 1))
    scraped = requests.get(f"{jobs_server.url}/metrics")
    assert "townhall_jobs_running" in scraped.text


def test_a_small_import_still_answers_at_once(jobs_server: RunningServer) -> None:
    rmp = admin(jobs_server)
    kind = import_room_type(rmp, "jobroom")
    answer = _upload(rmp, rooms_csv(kind, JOB_ROWS))
    assert answer.status_code == 201, answer.text
    assert answer.json()["imported"]["resources"] == JOB_ROWS


def test_a_large_dry_run_is_a_job_that_writes_nothing(jobs_server: RunningServer) -> None:
    rmp = admin(jobs_server)
    kind = import_room_type(rmp, "jobroom")
    job = _accepted(_upload(rmp, rooms_csv(kind, 100), dryRun="true"))
    assert job["dryRun"] is True
    done, _ = _follow(rmp, job)
    assert done["state"] == "done", done
    assert done["result"]["dryRun"] is True
    assert done["result"]["imported"]["resources"] == 100
    assert not _exists(rmp, _address(kind, 0))


def test_a_failing_large_import_fails_with_row_errors_and_writes_nothing(
    jobs_server: RunningServer,
) -> None:
    rmp = admin(jobs_server)
    kind = import_room_type(rmp, "jobroom")
    rows = 200
    for dry_run in ("true", "false"):
        job = _accepted(
            _upload(rmp, rooms_csv(kind, rows, bad=frozenset({3, 150})), dryRun=dry_run)
        )
        failed, _ = _follow(rmp, job)
        assert failed["state"] == "failed", failed
        assert failed["result"] is None
        error = failed["error"]
        assert error["code"] == "INVALID_INPUT"
        assert error["details"]["field"] == "customFields.floor"
        assert "resources row 5" in error["message"]
        # Row 1 is the header: room n is on row n + 2.
        where = [(e["section"], e["row"], e["field"]) for e in failed["errors"]]
        assert where == [
            ("resources", 5, "customFields.floor"),
            ("resources", 152, "customFields.floor"),
        ]
        assert error["details"]["errors"] == failed["errors"]
    for n in (0, 4, rows - 1):
        assert not _exists(rmp, _address(kind, n))


def _multipart(content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="rooms.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_client_that_goes_away_still_gets_its_rows_imported(
    jobs_server: RunningServer,
) -> None:
    rmp = admin(jobs_server)
    kind = import_room_type(rmp, "jobroom")
    rows = 400
    body, content_type = _multipart(rooms_csv(kind, rows))
    url = urlsplit(jobs_server.url)
    head = (
        "POST /api/v2/admin/import HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\n"
        f"Authorization: {rmp.headers['Authorization']}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port)) as sent:
        sent.sendall(head + body)
        # Gone once the server has the whole request (its answer has begun to arrive,
        # peeked at, never read): a client that goes sooner (or half-closes) may lose
        # the request itself, which the server then never took.
        sent.settimeout(WAIT_SECONDS)
        while len(start := sent.recv(12, socket.MSG_PEEK)) < 12:
            assert start, "closed without an answer"
        assert start == b"HTTP/1.1 202", start  # accepted: the work is yet to be done
    # The client never read the answer: the job runs on, and every row arrives.
    deadline = time.monotonic() + WAIT_SECONDS
    while not _exists(rmp, _address(kind, rows - 1)):
        assert time.monotonic() < deadline, "the import was lost with its client"
        time.sleep(0.1)
    assert _exists(rmp, _address(kind, 0))
    listed = rmp.get("/resources", params={"type": kind, "limit": 1})
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == rows


def _other_tenants_admin(server: RunningServer) -> Rmp:
    domain = f"{unique('jobs')}.test"
    password = "Secret-pass-123"
    made = requests.post(
        f"{server.url}/api/v2/saas/register",
        json={
            "companyName": "Other Inc",
            "emailDomain": domain,
            "adminEmail": f"boss@{domain}",
            "adminPassword": password,
            "services": [{"service": "rmp", "plan": "standard"}],
            "deployment": "cloud",
            "region": "EU",
        },
    )
    assert made.status_code == 201, made.text
    return Rmp(server).login(f"boss@{domain}", password)


def test_only_admins_of_its_tenant_read_a_job(jobs_server: RunningServer) -> None:
    rmp = admin(jobs_server)
    kind = import_room_type(rmp, "jobroom")
    job = _accepted(_upload(rmp, rooms_csv(kind, 50)))
    _follow(rmp, job)
    other = _other_tenants_admin(jobs_server)
    assert other.get("/auth/admin").status_code == 200  # an admin, of another tenant
    refused(other.get(f"/admin/jobs/{job['id']}"), 404)
    someone, _ = person(jobs_server)
    refused(someone.get(f"/admin/jobs/{job['id']}"), 403)
    refused(rmp.get("/admin/jobs/no-such-job"), 404)


def test_townhall_import_runs_the_job_and_prints_row_errors(
    jobs_server: RunningServer, tmp_path: Any
) -> None:
    rmp = admin(jobs_server)
    kind = import_room_type(rmp, "jobroom")
    good = tmp_path / "rooms.csv"
    good.write_bytes(rooms_csv(kind, 60))
    out = townhall(jobs_server.database_url, "import", str(good), "--tenant", DOMAIN)
    assert out.returncode == 0, out.stderr
    assert "imported 60 resources, 0 types, 0 bookings" in out.stdout
    assert _exists(rmp, _address(kind, 59))

    other = import_room_type(rmp, "jobroom")
    bad = tmp_path / "bad.data"
    bad.write_bytes(rooms_csv(other, 60, bad=frozenset({7})))
    out = townhall(jobs_server.database_url, "import", str(bad), "--format", "csv")
    assert out.returncode == 1
    assert "resources row 9: custom_fields.floor:" in out.stderr, out.stderr
    assert not _exists(rmp, _address(other, 0))

    dry = townhall(jobs_server.database_url, "import", str(good), "--dry-run")
    assert dry.returncode == 1  # every room exists now
    assert "already exists" in dry.stderr


def test_a_job_cut_off_by_a_stopping_server_fails_and_leaves_nothing(
    database_url: str, tmp_path: Any
) -> None:
    """A server stopped while a job writes: the job ends `failed` (INTERRUPTED), marked
    by the stopping process or, had it died, by the next start; no row of it is kept."""
    log = tmp_path / "server.log"
    first = start_server(database_url, log, TOWNHALL_DB_POOL_SIZE="3")
    try:
        rmp = admin(first)
        kind = import_room_type(rmp, "jobroom")
        rows = 5000
        job = _accepted(_upload(rmp, rooms_csv(kind, rows)))
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            found = rmp.get(f"/admin/jobs/{job['id']}").json()["data"]
            assert found["state"] in ("queued", "running"), found  # caught while writing
            if found["progress"]["stage"] == "writing":
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        stop_server(first)
    again = start_server(database_url, tmp_path / "again.log", TOWNHALL_DB_POOL_SIZE="3")
    try:
        rmp = admin(again)
        failed = rmp.get(f"/admin/jobs/{job['id']}").json()["data"]
        assert failed["state"] == "failed", failed
        assert failed["error"]["code"] == "INTERRUPTED"
        assert failed["result"] is None
        for n in (0, rows - 1):
            assert not _exists(rmp, _address(kind, n))
    finally:
        stop_server(again)
