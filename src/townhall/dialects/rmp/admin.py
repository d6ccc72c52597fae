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

from townhall.services.catalogue import ImportResult
from townhall.services.resources import ResourceInput

from . import catalogue_files
from .http import (
    AnyRequest,
    body,
    flag,
    invalid,
    ok,
    require_admin,
    require_admin_of,
    services,
    session,
)
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


def _domains(request: AnyRequest) -> tuple[str, ...] | None:
    """The domains the caller's bulk work is confined to (None: a server admin's all)."""
    require_admin(request)
    caller = session(request)
    return None if caller.is_server_admin else caller.admin_domains


@post("/admin/resources/bulk", status_code=201)
async def bulk_create(request: AnyRequest) -> Response[bytes]:
    asked = await body(request, BulkBody)
    template = _template(asked)
    svc = services(request)
    caller = require_admin_of(request, svc.resources.subdomain(session(request), template))
    made = await svc.catalogue.bulk_create(
        caller, template, asked.pattern, asked.start_number, asked.count
    )
    return ok(201, created=len(made), resources=made)


async def _upload(request: AnyRequest) -> tuple[bytes, str | None, dict[str, Any]]:
    """The uploaded file's bytes and name, and the form's other fields."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise invalid("file", "send the file as multipart/form-data")
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise invalid("file", "file is required")
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


@post("/admin/import", status_code=201)
async def import_catalogue(request: AnyRequest) -> Response[bytes]:
    domains = _domains(request)
    raw, filename, fields = await _upload(request)
    dry_run = flag(fields.get("dryRun") or request.query_params.get("dryRun"), "dryRun", False)
    asked = fields.get("format") or request.query_params.get("format")
    kind = catalogue_files.detect(asked, filename, raw)
    given = catalogue_files.read_json(raw) if kind == "json" else catalogue_files.read_csv(raw)
    found = await services(request).catalogue.import_file(
        session(request), given, dry_run=dry_run, domains=domains
    )
    return ok(200 if dry_run else 201, **_imported(found))


@get("/admin/export")
async def export_catalogue(request: AnyRequest) -> Response[bytes]:
    domains = _domains(request)
    query = request.query_params
    kind = catalogue_files.detect(query.get("format") or "json", None, b"")
    include_bookings = flag(query.get("includeBookings"), "includeBookings", False)
    svc = services(request)
    found = await svc.catalogue.export(session(request), include_bookings, domains)
    if kind == "csv":
        content = catalogue_files.to_csv(found, include_bookings)
        media_type = "text/csv; charset=utf-8"
    else:
        content = catalogue_files.to_json(found, include_bookings, svc.deps.clock.now())
        media_type = "application/json"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="resources.{kind}"'},
    )


router = Router(path="/", route_handlers=[bulk_create, import_catalogue, export_catalogue])
