"""Long work as jobs: an import too large to answer while the caller waits.

Why: a 10,000-row import took 10-43 s in one request; a client that gave up still had
every row committed without knowing, and `/healthz` waited behind it. A large import is
now a job: the request answers at once with the job's id, the work runs in a task this
service owns (not the request's, so a client that goes away changes nothing), and its
state, progress, result and row-numbered refusals are stored in the `jobs` table, where
any server process can read them.

Transactions: an import job is still all or nothing. It checks every row first in a
read transaction (refusals are found, and progress told, while no write lock is held),
then writes in ONE write transaction that checks each row again as it writes it, so a
row that became impossible meanwhile fails the job with nothing written. A dry run
only checks. A job that fails, or whose process stops or dies, leaves nothing of its
work: its transaction is rolled back (by the database, for a dead process), and the
next start of a process on the same host marks it failed.

Progress is a counter in memory (services/progress.py), stored every FLUSH_SECONDS by
a task of its own. On PostgreSQL every process sees it move through both stages. On
SQLite the import's write transaction holds the only write lock, so during the
`writing` stage the stored progress stays where checking left it and only the process
running the job reports the live count (other processes catch up when it commits).

A restore of an archive larger than `restore_job_bytes` is a job too (services/backup.py
does the work, all or nothing, as it does for a small one): its steps are each table
checked, each table restored and the folders. The `jobs` table is no part of an archive
and a restore leaves it as it is (store/backup.py), so the job's own row survives the
state it replaces. The end of a restore job is not audited: the audit log is then the
archive's, and a restored server answers as the one backed up (its failure is: nothing
was replaced).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from typing import IO, Any

from prometheus_client import Gauge

from townhall.domain.errors import DomainError, Forbidden, Invalid, NotFound
from townhall.domain.jobs import DONE, FAILED, QUEUED, RUNNING, Job, JobFailure, JobRowError
from townhall.domain.principal import Principal
from townhall.services.backup import BackupService, Restored
from townhall.services.base import Deps, Service
from townhall.services.catalogue import CatalogueService, ImportFile, ImportResult, RowsInvalid
from townhall.services.progress import Progress
from townhall.store import jobs as store

log = logging.getLogger(__name__)

JOBS_RUNNING = Gauge(
    "townhall_jobs_running",
    "Jobs running now (summed over the server's live processes)",
    multiprocess_mode="livesum",
)
FLUSH_SECONDS = 0.5
"""How often a running job's progress is stored for other processes to read."""
IMPORT = "import"
RESTORE = "restore"
STAGES = {"checked": "checking", "restored": "restoring", "folders": "folders"}
"""A restore's step labels (services/backup.py) by the job stage they belong to."""

JobWork = Callable[[Progress], Awaitable[dict[str, Any]]]
"""A job's work: told a Progress to move, it answers the job's result (JSON-able)."""

INTERRUPTED = JobFailure(
    "interrupted", "the server process running the job stopped; nothing of it was kept"
)


def _kind_of(exc: DomainError) -> str:
    """`NotFound` -> `not_found`: the refusal's name, for a dialect to map."""
    if isinstance(exc, Invalid):
        return "invalid"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class JobService(Service):
    """Starts, runs and reports jobs. Admins only; a job is seen in its own tenant, by
    a server admin or by the admin who started it (another tenant's admin gets
    NotFound, as for anything of another tenant)."""

    def __init__(
        self,
        deps: Deps,
        catalogue: CatalogueService,
        import_rows: int,
        import_bytes: int,
        backup: BackupService | None = None,
        restore_bytes: int = 0,
    ) -> None:
        super().__init__(deps)
        self._catalogue = catalogue
        self._backup = backup
        self.import_rows = import_rows
        self.import_bytes = import_bytes
        self.restore_bytes = restore_bytes
        self._host = os.uname().nodename
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._live: dict[str, Progress] = {}
        self._unaudited_end: set[str] = set()

    @property
    def _owner(self) -> str:
        return f"{self._host}:{os.getpid()}"  # read late: a forked worker has its own pid

    # --- imports -------------------------------------------------------------------------

    def is_large(self, given: ImportFile, size: int) -> bool:
        """Whether an import runs as a job: more rows than `import_job_rows`, or more
        bytes than `import_job_bytes` (a limit of 0 never makes one)."""
        rows = len(given.resources) + len(given.bookings) + len(given.types)
        by_rows = 0 < self.import_rows < rows
        return by_rows or 0 < self.import_bytes < size

    async def import_catalogue(
        self, actor: Principal, given: ImportFile, dry_run: bool, size: int
    ) -> ImportResult | Job:
        """A small import answered now (its result), a large one started as a job (the
        job, queued or running)."""
        if not self.is_large(given, size):
            return await self._catalogue.import_file(actor, given, dry_run=dry_run)
        return await self.start_import(actor, given, dry_run, size)

    async def start_import(
        self, actor: Principal, given: ImportFile, dry_run: bool, size: int
    ) -> Job:
        total = len(given.resources) + len(given.bookings) + len(given.types)
        total += len(given.categories)

        async def work(progress: Progress) -> dict[str, Any]:
            done = await self._catalogue.import_file(
                actor, given, dry_run=dry_run, progress=progress, check_first=True
            )
            return asdict(done)

        params = {"dry_run": dry_run, "rows": total, "bytes": size}
        return await self.start(actor, IMPORT, total, params, work)

    # --- restores ----------------------------------------------------------------------

    @property
    def backups(self) -> BackupService:
        assert self._backup is not None, "JobService built without the backup service"
        return self._backup

    async def restore(self, actor: Principal, archive: IO[bytes], size: int) -> Restored | Job:
        """A restore of an archive up to `restore_job_bytes` answered now (what it put
        in place), a larger one started as a job (0: never a job)."""
        if not 0 < self.restore_bytes < size:
            return await self.backups.restore(actor, archive)
        return await self.start_restore(actor, archive, size)

    async def start_restore(
        self, actor: Principal, archive: IO[bytes], size: int, copy: bool = True
    ) -> Job:
        """Start a restore job. The archive is copied to a temporary file of the job's
        first (`copy`: the caller's upload goes when its request ends); without `copy`
        the caller keeps `archive` open until the job ends (the CLI's own file)."""
        await self.backups.require_operator(actor)  # refused at once, not as a job
        own: IO[bytes] = await asyncio.to_thread(_spooled, archive) if copy else archive

        async def work(progress: Progress) -> dict[str, Any]:
            try:
                done = await self.backups.restore(actor, own, _Steps(progress))
            finally:
                if copy:
                    own.close()
            return restored_result(done)

        try:
            job = await self.start(
                actor, RESTORE, self.backups.restore_steps(), {"bytes": size}, work
            )
        except BaseException:
            if copy:
                own.close()
            raise
        self._unaudited_end.add(job.id)
        return job

    # --- jobs ---------------------------------------------------------------------------

    async def start(
        self,
        actor: Principal,
        kind: str,
        total: int,
        params: dict[str, Any],
        work: JobWork,
    ) -> Job:
        """Record a queued job and run `work` in a task of this service's."""
        _may_run_jobs(actor)
        now = self.clock.now()
        job = Job(
            id=self.deps.ids.object_id(now),
            tenant_id=actor.tenant_id,
            kind=kind,
            state=QUEUED,
            stage="",
            done=0,
            total=total,
            started_by=_who(actor),
            created_at=now,
            updated_at=now,
            params=params,
        )
        async with self.change(actor, "job.created", job.id, data={"kind": kind}) as tx:
            await store.insert_job(tx, job, self._owner)
        self._live[job.id] = Progress()
        self._live[job.id].total = total
        task = asyncio.create_task(self._run(actor, job, work), name=f"job {job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))
        return job

    async def get(self, actor: Principal, job_id: str) -> Job:
        _may_run_jobs(actor)
        async with self.db.read() as tx:
            found = await store.find(tx, actor.tenant_id, job_id)
        if found is None or not (actor.is_server_admin or found.started_by == _who(actor)):
            raise NotFound("job", job_id)
        live = self._live.get(job_id)
        if live is not None and found.state in (QUEUED, RUNNING):
            # This process runs it: its count is newer than the stored one.
            return replace(found, stage=live.stage, done=live.done, total=live.total)
        return found

    async def wait(self, job_id: str) -> None:
        """Until the job this process runs has finished (the CLI follows its own)."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    def live(self, job_id: str) -> Progress | None:
        """The running job's progress in this process, to follow it without the store."""
        return self._live.get(job_id)

    async def start_up(self) -> None:
        """Mark failed every job left queued or running by a process of this host that is
        gone (its transaction died with it): none stays `running` forever."""
        mine = os.getpid()
        async with self.db.read() as tx:
            found = await store.unfinished_owners(tx, f"{self._host}:")
        gone = []
        for job_id, owner in found:
            pid = owner.rpartition(":")[2]
            if not pid.isdigit() or int(pid) == mine or not _alive(int(pid)):
                gone.append(job_id)
        if gone:
            async with self.db.write() as tx:
                await store.abandoned(tx, gone, INTERRUPTED, self.clock.now())
            log.warning("jobs %s were left by a stopped process: marked failed", gone)

    async def close(self) -> None:
        """Stop the jobs still running (each is marked failed, its work rolled back)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, actor: Principal, job: Job, work: JobWork) -> None:
        progress = self._live[job.id]
        result: dict[str, Any] | None = None
        errors: tuple[JobRowError, ...] = ()
        failure: JobFailure | None = None
        flusher: asyncio.Task[None] | None = None
        cancelled = False
        JOBS_RUNNING.inc()
        try:
            async with self.db.write() as tx:
                await store.started(tx, job.id, self.clock.now())
            flusher = asyncio.create_task(self._flush(job.id, progress))
            result = await work(progress)
        except RowsInvalid as exc:
            errors = tuple(JobRowError(**asdict(e)) for e in exc.errors)
            failure = JobFailure("invalid", exc.reason, exc.field)
        except DomainError as exc:
            message = exc.reason if isinstance(exc, Invalid) else exc.detail or str(exc)
            failure = JobFailure(_kind_of(exc), message, getattr(exc, "field", None))
        except asyncio.CancelledError:
            cancelled = True
            failure = INTERRUPTED
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.kind)
            failure = JobFailure("internal", "an internal error ended the job; nothing was kept")
        finally:
            JOBS_RUNNING.dec()
            if flusher is not None:
                flusher.cancel()
                await asyncio.gather(flusher, return_exceptions=True)
        try:
            await self._finish(actor, job, progress, result, errors, failure)
        finally:
            self._live.pop(job.id, None)
        if cancelled:
            raise asyncio.CancelledError

    async def _finish(
        self,
        actor: Principal,
        job: Job,
        progress: Progress,
        result: dict[str, Any] | None,
        errors: tuple[JobRowError, ...],
        failure: JobFailure | None,
    ) -> None:
        state = FAILED if failure else DONE
        action = "job.failed" if failure else "job.done"
        details = failure.message if failure else None
        data = {"kind": job.kind, "state": state}
        unaudited = state == DONE and job.id in self._unaudited_end
        self._unaudited_end.discard(job.id)
        now = self.clock.now()
        stored = (now, progress.stage, progress.done, progress.total, result, errors, failure)
        try:
            if unaudited:  # a restore's: the audit log (and its actor) are the archive's
                async with self.db.write() as tx:
                    await store.finished(tx, job.id, state, *stored)
                return
            async with self.change(actor, action, job.id, details, data) as tx:
                await store.finished(tx, job.id, state, *stored)
        except Exception:  # the database is gone: the next start marks it failed
            log.exception("job %s ended (%s) but could not be recorded", job.id, state)

    async def _flush(self, job_id: str, progress: Progress) -> None:
        stored: tuple[str, int, int] | None = None
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            now = (progress.stage, progress.done, progress.total)
            if now == stored:
                continue
            try:
                async with self.db.write() as tx:
                    await store.progressed(tx, job_id, *now, self.clock.now())
            except DomainError as exc:  # busy: the next round tries again
                log.debug("job %s progress not stored: %s", job_id, exc)
                continue
            stored = now


class _Steps:
    """A restore's steps (services/backup.py's Progress) told as the job's progress:
    its stage from the step's label, one more done per step."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def start(self, total: int) -> None:
        self._progress.begin("checking", total)

    def advance(self, label: str) -> None:
        self._progress.stage = STAGES.get(label.partition(" ")[0], self._progress.stage)
        self._progress.done += 1


def restored_result(done: Restored) -> dict[str, Any]:
    """A restore job's result (JSON-able): what a small restore answers."""
    return {
        "schema": done.schema,
        "source": done.source,
        "created": done.created,
        "tables": done.tables,
        "rows": done.rows,
        "folders": done.folders,
    }


def _spooled(archive: IO[bytes]) -> IO[bytes]:
    """A copy of the archive in an unnamed temporary file (gone with its handle)."""
    own = tempfile.TemporaryFile(prefix="townhall-restore-")  # noqa: SIM115 (the job closes it)
    try:
        archive.seek(0)
        shutil.copyfileobj(archive, own, 1 << 20)
        own.seek(0)
    except BaseException:
        own.close()
        raise
    return own


def _who(actor: Principal) -> str:
    return actor.address if actor.username else f"system@{actor.tenant.domain}"


def _may_run_jobs(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden("job", "", "Only an administrator may do this")
