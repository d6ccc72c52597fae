"""The jobs table: long work's state and progress, readable by every server process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from townhall.domain.jobs import FAILED, QUEUED, RUNNING, Job, JobFailure, JobRowError
from townhall.store.database import Tx
from townhall.store.schema import jobs

_LIVE = (QUEUED, RUNNING)


async def insert_job(tx: Tx, job: Job, owner: str) -> None:
    await tx.execute(
        insert(jobs).values(
            id=job.id,
            tenant_id=job.tenant_id,
            kind=job.kind,
            state=job.state,
            stage=job.stage,
            done=job.done,
            total=job.total,
            params=job.params,
            started_by=job.started_by,
            owner=owner,
            created_at=job.created_at,
            updated_at=job.updated_at,
        )
    )


async def started(tx: Tx, job_id: str, at: datetime) -> None:
    await tx.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state == QUEUED)
        .values(state=RUNNING, started_at=at, updated_at=at)
    )


async def progressed(tx: Tx, job_id: str, stage: str, done: int, total: int, at: datetime) -> None:
    """Only a job still running moves on: a late write never undoes its end."""
    await tx.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state == RUNNING)
        .values(stage=stage, done=done, total=total, updated_at=at)
    )


async def finished(
    tx: Tx,
    job_id: str,
    state: str,
    at: datetime,
    stage: str,
    done: int,
    total: int,
    result: dict[str, Any] | None = None,
    errors: Sequence[JobRowError] = (),
    failure: JobFailure | None = None,
) -> None:
    await tx.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(
            state=state,
            stage=stage,
            done=done,
            total=total,
            result=result,
            errors=[asdict(e) for e in errors] or None,
            failure=asdict(failure) if failure else None,
            finished_at=at,
            updated_at=at,
        )
    )


async def find(tx: Tx, tenant_id: int, job_id: str) -> Job | None:
    row = (
        await tx.execute(select(jobs).where(jobs.c.id == job_id, jobs.c.tenant_id == tenant_id))
    ).first()
    return _job(row) if row is not None else None


async def unfinished_owners(tx: Tx, owner_prefix: str) -> list[tuple[str, str]]:
    """(id, owner) of every job queued or running in a process whose owner starts
    with `owner_prefix` (this node's)."""
    found = await tx.execute(
        select(jobs.c.id, jobs.c.owner).where(
            jobs.c.state.in_(_LIVE), jobs.c.owner.startswith(owner_prefix, autoescape=True)
        )
    )
    return [(row.id, row.owner) for row in found]


async def abandoned(tx: Tx, job_ids: Sequence[str], failure: JobFailure, at: datetime) -> None:
    """Jobs whose process is gone: failed, their work rolled back with it."""
    if not job_ids:
        return
    await tx.execute(
        update(jobs)
        .where(jobs.c.id.in_(list(job_ids)), jobs.c.state.in_(_LIVE))
        .values(state=FAILED, failure=asdict(failure), finished_at=at, updated_at=at)
    )


def _job(row: Any) -> Job:
    failure = JobFailure(**row.failure) if row.failure else None
    return Job(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=row.kind,
        state=row.state,
        stage=row.stage,
        done=row.done,
        total=row.total,
        started_by=row.started_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        params=dict(row.params or {}),
        result=row.result,
        errors=tuple(JobRowError(**e) for e in row.errors or ()),
        failure=failure,
    )
