"""`townhall backup` and `townhall restore`: the whole state as one archive."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from townhall.cli.common import ProgressBar, in_first_tenant
from townhall.cli.imports import POLL_SECONDS, JobBar

if TYPE_CHECKING:
    from townhall.domain.principal import Principal
    from townhall.services.container import Services


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the archive (.tar.gz).")],
) -> None:
    """Write one archive of the whole state (every table, the mail folders) while the
    server may go on serving; `townhall restore` puts it back, on either database."""

    async def run(services: Services, actor: Principal) -> None:
        partial = file.with_name(f".{file.name}.partial")
        with ProgressBar("backup") as bar:
            made = await services.backup.backup(actor, bar)
            try:
                with partial.open("wb") as out:
                    async for chunk in made.chunks():
                        out.write(chunk)
                partial.replace(file)
            finally:
                partial.unlink(missing_ok=True)
        tables = made.manifest["tables"]
        rows = sum(t["rows"] for t in tables.values())
        typer.echo(f"backup written to {file}: {len(tables)} tables, {rows} rows")

    in_first_tenant(run, "")


def restore(
    file: Annotated[Path, typer.Argument(help="An archive made by `townhall backup`.")],
) -> None:
    """Replace the whole state by an archive's (checked whole first: a damaged archive,
    or one of a newer format or another schema revision, changes nothing). Restart other
    server processes of the deployment if it runs without Redis (see docs)."""
    if not file.is_file():
        typer.echo(f"error: file: {file} is no file", err=True)
        raise typer.Exit(1)

    async def run(services: Services, actor: Principal) -> None:
        # As a job of this process's job service (as `townhall import` runs): recorded in
        # the jobs table, which the restore leaves as it is, so its row tells the end.
        with file.open("rb") as archive:
            size = file.stat().st_size
            job = await services.jobs.start_restore(actor, archive, size, copy=False)
            waiting = asyncio.ensure_future(services.jobs.wait(job.id))
            bar = JobBar("restore")
            with bar:
                while not waiting.done():
                    live = services.jobs.live(job.id)
                    if live is not None and live.total:
                        bar.show(live.stage, live.done, live.total)
                    await asyncio.wait([waiting], timeout=POLL_SECONDS)
        found = await services.jobs.get(actor, job.id)
        if found.state != "done" or found.result is None:
            failure = found.failure
            message = failure.message if failure else found.state
            field = f"{failure.field}: " if failure and failure.field else ""
            typer.echo(f"error: {field}{message}", err=True)
            raise typer.Exit(1)
        tables, rows = found.result["tables"], found.result["rows"]
        typer.echo(f"restored {file}: {len(tables)} tables, {rows} rows (job {job.id})")

    in_first_tenant(run, "")
