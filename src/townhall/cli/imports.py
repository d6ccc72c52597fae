"""`townhall import FILE`: an RMP catalogue file (CSV or JSON) imported as a job.

The same job service the API's large imports run through (services/jobs.py), so the
import is recorded in the jobs table and audited as the CLI's, checks every row before
it writes one, and writes all rows or none; the command follows it with a progress bar
and prints the result, or every row-numbered error (exit status 1, nothing written).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from townhall.cli.common import ProgressBar, in_first_tenant

if TYPE_CHECKING:
    from townhall.domain.jobs import Job
    from townhall.domain.principal import Principal
    from townhall.services.container import Services

POLL_SECONDS = 0.1


class JobBar(ProgressBar):
    """The progress bar, moved to where a job is (its stage and count) each poll."""

    def show(self, stage: str, done: int, total: int) -> None:
        if self._task is None:
            self.start(total)
        self._progress.update(self._task, completed=done, total=total, step=stage)


def import_file(
    file: Annotated[Path, typer.Argument(help="The catalogue: CSV or JSON, as RMP exports it.")],
    format: Annotated[
        str | None,
        typer.Option("--format", help="csv or json (default: by the file name, else content)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row, write nothing.")
    ] = False,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="The tenant's domain (default: the first).")
    ] = None,
) -> None:
    """Import resources, resource types and bookings from a file, all or nothing, with a
    progress bar; prints what was imported, or every refused row."""
    if not file.is_file():
        typer.echo(f"error: file: {file} is no file", err=True)
        raise typer.Exit(1)

    async def run(services: Services, actor: Principal) -> None:
        from townhall.dialects.rmp import catalogue_files

        raw = file.read_bytes()
        kind = catalogue_files.detect(format, file.name, raw)
        read = catalogue_files.read_json if kind == "json" else catalogue_files.read_csv
        given = await asyncio.to_thread(read, raw)
        job = await services.jobs.start_import(actor, given, dry_run, len(raw))
        waiting = asyncio.ensure_future(services.jobs.wait(job.id))
        bar = JobBar("import")
        with bar:
            while not waiting.done():
                live = services.jobs.live(job.id)
                if live is not None and live.total:
                    bar.show(live.stage, live.done, live.total)
                await asyncio.wait([waiting], timeout=POLL_SECONDS)
        _report(await services.jobs.get(actor, job.id))

    in_first_tenant(run, "", domain=tenant)


def _report(job: Job) -> None:
    if job.state == "done" and job.result is not None:
        counts = ", ".join(f"{len(job.result[k])} {k}" for k in ("resources", "types", "bookings"))
        if job.result.get("dry_run"):
            typer.echo(f"dry run of job {job.id}: would import {counts}; nothing was written")
        else:
            typer.echo(f"job {job.id} imported {counts}")
        return
    message = job.failure.message if job.failure else job.state
    typer.echo(f"error: job {job.id} failed: {message}", err=True)
    for error in job.errors:
        number = f" (number {error.number})" if error.number is not None else ""
        typer.echo(
            f"  {error.section} row {error.row}{number}: {error.field}: {error.message}", err=True
        )
    raise typer.Exit(1)
