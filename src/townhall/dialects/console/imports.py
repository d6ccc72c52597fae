"""Import resources, resource types and bookings from a CSV or JSON file: the same
import `POST /api/v2/admin/import` runs, through the same job service.

A small import answers on the page at once (what was imported, or every refused row
by number). A large one is a job (services/jobs.py): the page of the job shows its
progress, polled every second by htmx, or by the page refreshing itself without
JavaScript, until it shows the result or the row-numbered refusals. An import is all
or nothing, so a refused one stored nothing.

The file is read by the reader the application hands in (`CatalogueReader`, the RMP
API's own), so the console reads the same formats without importing another dialect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from townhall.dialects import kit
from townhall.domain.errors import DomainError
from townhall.domain.jobs import Job
from townhall.domain.principal import Principal
from townhall.services.catalogue import ImportFile, ImportResult, RowsInvalid
from townhall.services.jobs import JobService

from . import web
from .forms import query

CatalogueReader = Callable[[bytes, str | None], ImportFile]
"""Reads an uploaded catalogue (bytes, file name); refuses naming the field."""
READER = "catalogue_reader"
THREAD_BYTES = 64 * 1024
"""A file larger than this is read in a thread, off the event loop."""
POLL_SECONDS = 1


def reading_with(reader: CatalogueReader) -> dict[str, Provide]:
    """The dependency the application registers: the catalogue reader to use."""
    return {READER: Provide(lambda: reader, sync_to_thread=False)}


def _job_at(job_id: str) -> str:
    return f"{web.BASE}/import/jobs/{job_id}"


@get("/import", name="console:import")
async def import_page(request: Request[Any, Any, Any]) -> Response[Any]:
    return web.render(request, "import.html", {})


@post("/import", status_code=303)
async def run_import(
    request: Request[Any, Any, Any],
    jobs: NamedDependency[JobService],
    principal: NamedDependency[Principal],
    catalogue_reader: NamedDependency[CatalogueReader],
) -> Response[Any]:
    form = await request.form()
    dry_run = form.get("dry_run") in ("on", "true", "1")
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise kit.Malformed("file", "is required: choose a CSV or JSON file")
        raw = await upload.read()
        if not raw.strip():
            raise kit.Malformed("file", "is empty")
        if len(raw) > THREAD_BYTES:
            given = await asyncio.to_thread(catalogue_reader, raw, upload.filename)
        else:
            given = catalogue_reader(raw, upload.filename)
        found = await jobs.import_catalogue(principal, given, dry_run, len(raw))
    except RowsInvalid as exc:
        errors = [asdict(e) for e in exc.errors]
        context: dict[str, Any] = {"error": web.message(exc), "errors": errors}
        return web.render(request, "import.html", {**context, "dry_run": dry_run}, 400)
    except DomainError as exc:
        refused = {"error": web.message(exc), "dry_run": dry_run}
        return web.render(request, "import.html", refused, web.status(exc))
    if isinstance(found, Job):
        return web.go(_job_at(found.id))
    return web.render(request, "import.html", {"result": found, "dry_run": dry_run})


@get("/import/jobs/{job_id:str}")
async def job_page(
    request: Request[Any, Any, Any],
    job_id: FromPath[str],
    jobs: NamedDependency[JobService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    """The job's progress; an htmx poll (`fragment=1`) asks for the progress part only,
    which stops polling once the job has finished."""
    job = await jobs.get(principal, job_id)
    result = ImportResult(**job.result) if job.result is not None else None
    context = {
        "job": job,
        "result": result,
        "errors": [asdict(e) for e in job.errors],
        "poll": POLL_SECONDS,
        "here": _job_at(job.id),
    }
    if query(request).text("fragment", limit=1) != "1":
        return web.render(request, "job.html", context)
    answer = web.render(request, "job_progress.html", context)
    answer.headers["HX-Push-Url"] = "false"  # a poll is no page of the history
    return answer


ROUTES = [import_page, run_import, job_page]
