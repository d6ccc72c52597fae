"""Large RMP restores as jobs (services/jobs.py), against real servers on both databases.

The server here makes a job of every restore (`restore_job_bytes` = 1, so any archive
is "large"). What must hold: `POST /admin/restore` answers 202 with the job's URL, the
job ends `done` with what a small restore answers and the data is the archive's; the
job's own row, made after the backup and so in no archive, survives the restore that
replaced every other table and is read afterwards; a damaged archive ends the job
`failed` (the refusal a small restore answers) with nothing changed.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import RunningServer, start_server, stop_server
from tests.dialects.rmp.test_backup import DAMAGES, _backup, _exists, _openfire_user, _restore
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.rmp import DOMAIN, Rmp, admin, person, refused
from townhall.store.migrate import head_revision

WAIT_SECONDS = 120
"""How long a test waits for a job before it fails (a guard, not a timing assertion)."""


@pytest.fixture(scope="module")
def own(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("restore-jobs")
    with fresh_database(backend_of(database_url), folder) as url:
        running = start_server(
            url,
            folder / "server.log",
            TOWNHALL_DB_MAX_CONNECTIONS="4",
            TOWNHALL_MAIL_DIR=str(folder / "mail"),
            TOWNHALL_RESTORE_JOB_BYTES="1",
        )
        try:
            yield running
        finally:
            stop_server(running)


def _accepted(answer: requests.Response) -> dict[str, Any]:
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["success"] is True
    job: dict[str, Any] = body["data"]
    assert answer.headers["Location"] == job["url"] == f"/api/v2/admin/jobs/{job['id']}"
    assert job["kind"] == "restore" and job["state"] in ("queued", "running", "done", "failed")
    assert job["startedBy"] == f"admin@{DOMAIN}"
    return job


def _follow(rmp: Rmp, job: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The job once finished, and what each read of it on the way said."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        answer = rmp.get(f"/admin/jobs/{job['id']}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()["data"]
        seen.append(found)
        if found["state"] in ("done", "failed"):
            return found, seen
        time.sleep(0.05)
    raise AssertionError(f"job {job['id']} did not finish: {seen[-1]}")


def test_archives_hold_no_jobs(own: RunningServer) -> None:
    with tarfile.open(fileobj=io.BytesIO(_backup(own)), mode="r:gz") as tar:
        names = tar.getnames()
    assert "tables/users.jsonl" in names and "tables/jobs.jsonl" not in names


def test_a_large_restore_answers_202_its_job_ends_done_and_outlives_it(
    own: RunningServer,
) -> None:
    # Logged in before the backup: the session is the archive's, so it reads on after.
    rmp = admin(own)
    kept = _openfire_user(own)
    archive = _backup(own)
    later = _openfire_user(own)
    job = _accepted(_restore(rmp, archive))
    done, seen = _follow(rmp, job)
    for read in seen:
        progress = read["progress"]
        assert 0 <= progress["done"] <= progress["total"]
        assert read["kind"] == "restore" and read["state"] in ("queued", "running", "done")
    assert done["state"] == "done", done
    assert done["error"] is None and done["errors"] == []
    assert done["progress"]["done"] == done["progress"]["total"] > 2
    result = done["result"]
    assert result["schema"] == head_revision()
    assert result["tables"]["users"] >= 2 and result["rows"] >= result["tables"]["users"]
    assert "jobs" not in result["tables"]
    # The data is the archive's.
    assert _exists(own, kept) and not _exists(own, later)
    # The job's row, made after the backup, survived the restore: read again, by a
    # session made after it too.
    again = admin(own).get(f"/admin/jobs/{job['id']}")
    assert again.status_code == 200, again.text
    assert again.json()["data"]["state"] == "done"
    assert again.json()["data"]["result"] == result


@pytest.mark.parametrize(
    "damage", ["a flipped byte", "no tar at all", "a row naming nobody", "a missing table"]
)
def test_a_damaged_large_archive_fails_its_job_and_changes_nothing(
    own: RunningServer, damage: str
) -> None:
    make, words = DAMAGES[damage]
    archive = make(_backup(own))
    marker = _openfire_user(own)  # made after the backup: a restore would remove it
    rmp = admin(own)
    users_before = rmp.get("/users").json()
    job = _accepted(_restore(rmp, archive))
    failed, _ = _follow(rmp, job)
    assert failed["state"] == "failed", failed
    assert failed["result"] is None
    error = failed["error"]
    assert error["code"] == "INVALID_INPUT" and error["details"]["field"] == "file", error
    assert words in error["message"], error
    assert _exists(own, marker)
    assert rmp.get("/users").json() == users_before


def test_only_the_operator_starts_a_restore_job(own: RunningServer) -> None:
    """A refusal of who asks is the answer, at once: no job is started."""
    somebody, _ = person(own)
    refused(_restore(somebody, _backup(own)), 403)
