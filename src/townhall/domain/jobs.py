"""A job: long work (an import) that runs off the request path, as its caller sees it.

Why a record of its own: the request that started the work answers at once (202), so
its outcome, its progress and its row-numbered refusals must be kept somewhere any
server process can read them, until the caller asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)
FINISHED = frozenset({DONE, FAILED})


@dataclass(frozen=True, slots=True)
class JobFailure:
    """Why a job failed: `kind` is the domain error's name in snake case (`invalid`,
    `forbidden`, `conflict`, `not_found`, `unavailable`, ...; `internal` for a fault,
    `interrupted` for a process that stopped or died), `field` the field refused."""

    kind: str
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class JobRowError:
    """One refused row, as services.catalogue.RowError has it."""

    row: int
    field: str
    message: str
    section: str = "resources"
    number: int | None = None


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    tenant_id: int
    kind: str
    state: str
    stage: str
    done: int
    total: int
    started_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    errors: tuple[JobRowError, ...] = ()
    failure: JobFailure | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED
