"""The job service in process, on both databases: a job's life, the running-jobs gauge,
and jobs left behind by a process that died."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

from prometheus_client import REGISTRY

from townhall.domain.errors import Conflict
from townhall.domain.jobs import Job
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.progress import Progress
from townhall.services.tenants import NewTenant
from townhall.store import jobs as job_store


async def _operator(services: Services) -> Principal:
    tenant = await services.tenants.first()
    assert tenant is not None
    return Principal.system(tenant, "admin")


def _running() -> float:
    return REGISTRY.get_sample_value("townhall_jobs_running") or 0.0


async def test_a_job_runs_in_a_task_counted_by_the_gauge(services: Services) -> None:
    actor = await _operator(services)
    release = asyncio.Event()

    async def work(progress: Progress) -> dict[str, Any]:
        progress.begin("counting", 3)
        for _ in range(3):
            await progress.advance()
        await release.wait()
        return {"counted": progress.done}

    before = _running()
    job = await services.jobs.start(actor, "count", 3, {}, work)
    assert job.state == "queued"
    while (await services.jobs.get(actor, job.id)).state != "running":
        await asyncio.sleep(0.01)
    assert _running() == before + 1
    seen = await services.jobs.get(actor, job.id)
    assert (seen.stage, seen.done, seen.total) == ("counting", 3, 3)
    release.set()
    await services.jobs.wait(job.id)
    done = await services.jobs.get(actor, job.id)
    assert done.state == "done" and done.result == {"counted": 3} and done.finished_at
    assert _running() == before


async def test_a_refused_job_fails_naming_why(services: Services) -> None:
    actor = await _operator(services)

    async def work(progress: Progress) -> dict[str, Any]:
        raise Conflict("booking", "", "taken meanwhile")

    job = await services.jobs.start(actor, "refused", 0, {}, work)
    await services.jobs.wait(job.id)
    failed = await services.jobs.get(actor, job.id)
    assert failed.state == "failed" and failed.result is None
    assert failed.failure is not None
    assert (failed.failure.kind, failed.failure.message) == ("conflict", "taken meanwhile")


async def _left(services: Services, actor: Principal, owner: str) -> str:
    now = services.deps.clock.now()
    job = Job(
        id=services.deps.ids.object_id(now),
        tenant_id=actor.tenant_id,
        kind="import",
        state="running",
        stage="writing",
        done=5,
        total=10,
        started_by=actor.address,
        created_at=now,
        updated_at=now,
    )
    async with services.deps.db.write() as tx:
        await job_store.insert_job(tx, job, owner)
    return job.id


async def test_jobs_of_a_dead_process_are_failed_at_the_next_start(services: Services) -> None:
    actor = await _operator(services)
    host = os.uname().nodename
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = await _left(services, actor, f"{host}:{ended.stdout.strip()}")
    alive = await _left(services, actor, f"{host}:{os.getppid()}")
    elsewhere = await _left(services, actor, "another-host:1")
    await services.jobs.start_up()
    failed = await services.jobs.get(actor, dead)
    assert failed.state == "failed" and failed.failure is not None
    assert failed.failure.kind == "interrupted"
    assert (await services.jobs.get(actor, alive)).state == "running"
    assert (await services.jobs.get(actor, elsewhere)).state == "running"


async def test_deleting_a_tenant_deletes_its_jobs(services: Services) -> None:
    """Jobs name their tenant without a foreign key (so a restore, which replaces every
    tenant, keeps them); deleting a tenant still takes its jobs with it."""
    operator = await _operator(services)
    domain = f"jobs-{os.urandom(4).hex()}.test"
    await services.tenants.create(operator, NewTenant(domain=domain))
    tenant = await services.tenants.routed(domain)
    assert tenant is not None
    actor = Principal.system(tenant, "admin")

    async def work(progress: Progress) -> dict[str, Any]:
        return {}

    theirs = await services.jobs.start(actor, "noop", 0, {}, work)
    mine = await services.jobs.start(operator, "noop", 0, {}, work)
    await services.jobs.wait(theirs.id)
    await services.jobs.wait(mine.id)
    assert (await services.jobs.get(actor, theirs.id)).state == "done"
    await services.tenants.delete(operator, domain)
    async with services.deps.db.read() as tx:
        assert await job_store.find(tx, tenant.id, theirs.id) is None
        assert await job_store.find(tx, operator.tenant_id, mine.id) is not None
