"""`/admin/resources/bulk`, `/admin/import`, `/admin/export`: the catalogue in bulk;
`/admin/jobs/{id}`: how a large import (or restore: backup.py) is going.

All are for admins: a server admin works on the whole tenant, a domain admin on
the resources under its domains (an import row or a bulk name outside them is 403).
Bulk creation and import are all or nothing; a refusal lists every failing row (or
number) in `error.details.errors`. The file formats are in catalogue_files.py.

An import of more rows than `import_job_rows` (or a file larger than
`import_job_bytes`) is a job (services/jobs.py): `202 Accepted`, `Location:
/api/v2/admin/jobs/{id}` and `{"success": true, "data": <job>}`; the same job is read
at that URL until its `state` is `done` (`data.result` is what a small import answers)
or `failed` (`data.error` is the refusal a small import answers, and `data.errors`
its row-numbered errors).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, NotRequired, TypedDict, cast

import msgspec
from litestar import Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.jobs import Job, JobRowError
from townhall.domain.principal import Principal
from townhall.services.catalogue import MAX_BULK, CatalogueService, ImportFile, ImportResult
from townhall.services.jobs import RESTORE, JobService
from townhall.services.resources import ResourceInput

from .. import kit
from ..documents import Param, wire
from . import catalogue_files
from .http import FIELDS, AnyRequest, admins, body, iso, ok
from .models import Body
from .resources import field_values


class BulkBody(Body):
    pattern: Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1})]
    start_number: Annotated[int, msgspec.Meta(extra_json_schema={"minimum": 0})]
    count: Annotated[int, msgspec.Meta(extra_json_schema={"minimum": 1, "maximum": MAX_BULK})]
    type: str
    category: str | None = None
    custom_fields: dict[str, Any] | None = None
    capacity: int | None = None
    features: list[str] | None = None
    domain: str | None = None
    active: bool | None = None


class BulkCreated(TypedDict):
    success: bool
    created: int
    resources: list[str]


class ImportCounts(TypedDict):
    types: int
    resources: int
    bookings: int


class Imported(TypedDict):
    success: bool
    dryRun: bool
    imported: ImportCounts
    types: list[str]
    resources: list[str]
    bookings: list[str]


class RestoredWire(TypedDict):
    """What a restore put in place (a small restore's `restored`, a restore job's
    `result`)."""

    schema: str
    source: str
    created: str
    tables: dict[str, int]
    rows: int
    folders: dict[str, int]


class ImportDone(TypedDict):
    """A done import job's result: what a small import answers, but `success`."""

    dryRun: bool
    imported: ImportCounts
    types: list[str]
    resources: list[str]
    bookings: list[str]


class JobResult(TypedDict, total=False):
    """A done job's result, by its `kind`: an import's (`dryRun` to `bookings`: what a
    small import answers, but `success`) or a restore's (`schema` to `folders`: what a
    small restore answers as `restored`). One shape with both key sets, because an
    OpenAPI union of two objects is what msgspec cannot describe."""

    dryRun: bool
    imported: ImportCounts
    types: list[str]
    resources: list[str]
    bookings: list[str]
    schema: str
    source: str
    created: str
    tables: dict[str, int]
    rows: int
    folders: dict[str, int]


class JobProgress(TypedDict):
    stage: str
    done: int
    total: int


class RowErrorWire(TypedDict):
    section: str
    row: int
    field: str
    message: str
    number: NotRequired[int]


class JobError(TypedDict):
    code: str
    message: str
    details: NotRequired[dict[str, Any]]


class JobWire(TypedDict):
    id: str
    kind: str
    state: str
    url: str
    dryRun: bool
    progress: JobProgress
    startedBy: str
    createdAt: str
    startedAt: str | None
    finishedAt: str | None
    result: JobResult | None
    error: JobError | None
    errors: list[RowErrorWire]


class JobAnswer(TypedDict):
    success: bool
    data: JobWire


FAILURE_CODES = {
    "invalid": "INVALID_INPUT",
    "not_found": "NOT_FOUND",
    "already_exists": "ALREADY_EXISTS",
    "slot_taken": "BOOKING_CONFLICT",
    "conflict": "CONFLICT",
    "limit_reached": "PLAN_LIMIT_REACHED",
    "forbidden": "FORBIDDEN",
    "unavailable": "SERVICE_UNAVAILABLE",
    "interrupted": "INTERRUPTED",
}
"""A failed job's refusal (domain/jobs.py's kinds) as RMP codes it (http.py's)."""
THREAD_BYTES = 64 * 1024
"""A file this large is read in a thread, so the event loop serves others meanwhile."""


UPLOAD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "the catalogue as JSON or CSV (catalogue_files.py)",
        },
        "dryRun": {"type": "string", "enum": ["true", "false"]},
        "format": {"type": "string", "enum": list(catalogue_files.FORMATS)},
    },
    "required": ["file"],
}
"""What `POST /admin/import` reads: a multipart form whose `file` is the catalogue."""
FILE_PARAMS = (
    Param("dryRun", bool, description="check every row, change nothing"),
    Param("format", description="json or csv (default: from the file name, else its content)"),
)


def _template(asked: BulkBody) -> ResourceInput:
    return ResourceInput(
        type=asked.type,
        category=asked.category,
        values=field_values(asked.custom_fields, asked.capacity, asked.features),
        domain=asked.domain,
        active=asked.active,
    )


@post("/admin/resources/bulk", status_code=201, opt=wire(BulkBody, answers={201: BulkCreated}))
async def bulk_create(
    request: AnyRequest,
    catalogue: NamedDependency[CatalogueService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, BulkBody)
    made = await catalogue.bulk_create(
        principal, _template(asked), asked.pattern, asked.start_number, asked.count
    )
    return ok(201, created=len(made), resources=made)


async def _upload(request: AnyRequest) -> tuple[bytes, str | None, dict[str, Any]]:
    """The uploaded file's bytes and name, and the form's other fields."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise kit.Malformed("file", "must be sent as multipart/form-data")
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise kit.Malformed("file", "is required")
    return await upload.read(), upload.filename, dict(form)


def _imported(found: ImportResult) -> Imported:
    return {"success": True, **_import_done(found)}  # type: ignore[typeddict-item]


def _import_done(found: ImportResult) -> ImportDone:
    return {
        "dryRun": found.dry_run,
        "imported": {
            "types": len(found.types),
            "resources": len(found.resources),
            "bookings": len(found.bookings),
        },
        "types": found.types,
        "resources": found.resources,
        "bookings": found.bookings,
    }


@post(
    "/admin/import",
    status_code=201,
    guards=[admins],
    opt=wire(
        UPLOAD,
        params=FILE_PARAMS,
        answers={200: Imported, 201: Imported, 202: JobAnswer},
        media=("multipart/form-data",),
        answer_media=("application/json",),
    ),
)
async def import_catalogue(
    request: AnyRequest, jobs: NamedDependency[JobService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    raw, filename, fields = await _upload(request)
    query = request.query_params
    dry_run = kit.boolean(fields.get("dryRun") or query.get("dryRun"), "dryRun", False)
    kind = catalogue_files.detect(fields.get("format") or query.get("format"), filename, raw)
    read = catalogue_files.read_json if kind == "json" else catalogue_files.read_csv
    given: ImportFile = await asyncio.to_thread(read, raw) if len(raw) > THREAD_BYTES else read(raw)
    found = await jobs.import_catalogue(principal, given, dry_run, len(raw))
    if isinstance(found, Job):
        shown = job_wire(request, found)
        response = ok(202, data=shown)
        response.headers["Location"] = shown["url"]
        return response
    return ok(200 if dry_run else 201, **_imported(found))


def _row_error(found: JobRowError) -> RowErrorWire:
    shown: RowErrorWire = {
        "section": found.section,
        "row": found.row,
        "field": kit.spelt(found.field, FIELDS),
        "message": found.message,
    }
    if found.number is not None:
        shown["number"] = found.number
    return shown


def restored_wire(result: dict[str, Any]) -> RestoredWire:
    return {
        "schema": result["schema"],
        "source": result["source"],
        "created": result["created"],
        "tables": result["tables"],
        "rows": result["rows"],
        "folders": result["folders"],
    }


def job_wire(request: AnyRequest, job: Job) -> JobWire:
    """A job as RMP shows it (an import's or a restore's: `kind` says which)."""
    error: JobError | None = None
    if job.failure is not None:
        error = {
            "code": FAILURE_CODES.get(job.failure.kind, "INTERNAL_ERROR"),
            "message": job.failure.message,
        }
        details: dict[str, Any] = {}
        if job.failure.field:
            details["field"] = kit.spelt(job.failure.field, FIELDS)
        if job.errors:
            details["errors"] = [_row_error(e) for e in job.errors]
        if details:
            error["details"] = details
    result: JobResult | None = None
    if job.result is not None and job.kind == RESTORE:
        result = cast(JobResult, restored_wire(job.result))
    elif job.result is not None:
        result = cast(JobResult, _import_done(ImportResult(**job.result)))
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "url": request.app.route_reverse("rmp-job", job_id=job.id),
        "dryRun": bool(job.params.get("dry_run")),
        "progress": {"stage": job.stage, "done": job.done, "total": job.total},
        "startedBy": job.started_by,
        "createdAt": iso(job.created_at),
        "startedAt": iso(job.started_at) if job.started_at else None,
        "finishedAt": iso(job.finished_at) if job.finished_at else None,
        "result": result,
        "error": error,
        "errors": [_row_error(e) for e in job.errors],
    }


@get(
    "/admin/jobs/{job_id:str}",
    name="rmp-job",
    guards=[admins],
    opt=wire(answers={200: JobAnswer}),
)
async def read_job(
    request: AnyRequest,
    jobs: NamedDependency[JobService],
    principal: NamedDependency[Principal],
    job_id: FromPath[str],
) -> Response[bytes]:
    """A job's state, progress, result and row errors (polled after a 202)."""
    return ok(200, data=job_wire(request, await jobs.get(principal, job_id)))


@get(
    "/admin/export",
    guards=[admins],
    opt=wire(
        params=(
            Param("format", description="json (the default) or csv"),
            Param("includeBookings", bool),
        ),
        answers={200: catalogue_files.Exported},
        media=("application/json", "text/csv"),
    ),
)
async def export_catalogue(
    request: AnyRequest,
    catalogue: NamedDependency[CatalogueService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    kind = catalogue_files.detect(query.get("format") or "json", None, b"")
    include_bookings = kit.boolean(query.get("includeBookings"), "includeBookings", False)
    found = await catalogue.export(principal, include_bookings)
    if kind == "csv":
        content = catalogue_files.to_csv(found, include_bookings)
        media_type = "text/csv"  # Litestar adds the charset itself
    else:
        content = catalogue_files.to_json(found, include_bookings, catalogue.clock.now())
        media_type = "application/json"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="resources.{kind}"'},
    )


router = Router(
    path="/", route_handlers=[bulk_create, import_catalogue, export_catalogue, read_job]
)
