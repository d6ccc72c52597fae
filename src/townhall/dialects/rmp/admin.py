"""`/admin/resources/bulk`, `/admin/import`, `/admin/export`: the catalogue in bulk.

All three are for admins: a server admin works on the whole tenant, a domain admin on
the resources under its domains (an import row or a bulk name outside them is 403).
Bulk creation and import are all or nothing; a refusal lists every failing row (or
number) in `error.details.errors`. The file formats are in catalogue_files.py.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, get, post
from litestar.datastructures import UploadFile

from townhall.domain.principal import Principal
from townhall.services.catalogue import CatalogueService, ImportResult
from townhall.services.resources import ResourceInput

from .. import kit
from . import catalogue_files
from .http import AnyRequest, admins, body, ok
from .models import Body
from .resources import field_values


class BulkBody(Body):
    pattern: str
    start_number: int
    count: int
    type: str
    category: str | None = None
    custom_fields: dict[str, Any] | None = None
    capacity: int | None = None
    features: list[str] | None = None
    domain: str | None = None
    active: bool | None = None


def _template(asked: BulkBody) -> ResourceInput:
    return ResourceInput(
        type=asked.type,
        category=asked.category,
        values=field_values(asked.custom_fields, asked.capacity, asked.features),
        domain=asked.domain,
        active=asked.active,
    )


@post("/admin/resources/bulk", status_code=201)
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


def _imported(found: ImportResult) -> dict[str, Any]:
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


@post("/admin/import", status_code=201, guards=[admins])
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


@get("/admin/export", guards=[admins])
async def export_catalogue(
    request: AnyRequest, catalogue: CatalogueService, principal: Principal
) -> Response[bytes]:
    query = request.query_params
    kind = catalogue_files.detect(query.get("format") or "json", None, b"")
    include_bookings = kit.boolean(query.get("includeBookings"), "includeBookings", False)
    found = await catalogue.export(principal, include_bookings)
    if kind == "csv":
        content = catalogue_files.to_csv(found, include_bookings)
        media_type = "text/csv; charset=utf-8"
    else:
        content = catalogue_files.to_json(found, include_bookings, catalogue.clock.now())
        media_type = "application/json"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="resources.{kind}"'},
    )


router = Router(path="/", route_handlers=[bulk_create, import_catalogue, export_catalogue])
