"""`/admin/resources/bulk`, `/admin/import`, `/admin/export`: the catalogue in bulk.

All three are for admins: a server admin works on the whole tenant, a domain admin on
the resources under its domains (an import row or a bulk name outside them is 403).
Bulk creation and import are all or nothing; a refusal lists every failing row (or
number) in `error.details.errors`. The file formats are in catalogue_files.py.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import msgspec
from litestar import Response, Router, get, post
from litestar.datastructures import UploadFile

from townhall.domain.principal import Principal
from townhall.services.catalogue import MAX_BULK, CatalogueService, ImportResult
from townhall.services.resources import ResourceInput

from .. import kit
from ..documents import Param, wire
from . import catalogue_files
from .http import AnyRequest, admins, body, ok
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
    request: AnyRequest, catalogue: CatalogueService, principal: Principal
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
    return {
        "success": True,
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
        answers={200: Imported, 201: Imported},
        media=("multipart/form-data",),
        answer_media=("application/json",),
    ),
)
async def import_catalogue(
    request: AnyRequest, catalogue: CatalogueService, principal: Principal
) -> Response[bytes]:
    raw, filename, fields = await _upload(request)
    query = request.query_params
    dry_run = kit.boolean(fields.get("dryRun") or query.get("dryRun"), "dryRun", False)
    kind = catalogue_files.detect(fields.get("format") or query.get("format"), filename, raw)
    given = catalogue_files.read_json(raw) if kind == "json" else catalogue_files.read_csv(raw)
    found = await catalogue.import_file(principal, given, dry_run=dry_run)
    return ok(200 if dry_run else 201, **_imported(found))


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
    request: AnyRequest, catalogue: CatalogueService, principal: Principal
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


router = Router(path="/", route_handlers=[bulk_create, import_catalogue, export_catalogue])
