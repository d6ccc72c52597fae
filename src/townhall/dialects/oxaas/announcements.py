"""`/admin/announcements[...]`: a brand's announcements (resellerAdminAuth), on the
announcement service, which owns the rules (the caller's brand and its sub-brands only,
the version, the time window). Another brand's announcement is a 404.

The wire shape is OX's: `name`, `msgJsonObject`, `startDatetime`, `endDatetime`,
`timezone`, `discardable`, `enabled`, `ownerBrand`, `brands`, with `id` and `version`
from the server (a body's `id` is ignored; its `version`, on an update, must be the
current one). Times are answered in the announcement's timezone, with their offset.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.announcements import Announcement, AnnouncementDraft
from townhall.domain.principal import Principal
from townhall.services.announcements import AnnouncementService

from .. import kit
from ..documents import wire
from .http import AnyRequest, OxError, brand_of_caller, ok, reseller_admin

BASE = "/admin/announcements"
ONE = BASE + "/{announcement_id:str}"


class AnnouncementData(msgspec.Struct, omit_defaults=False):
    """An announcement as OX spells it (request and answer)."""

    id: int | None = None
    version: int | None = None
    name: str | None = None
    msgJsonObject: dict[str, Any] | None = None
    startDatetime: str | None = None
    endDatetime: str | None = None
    timezone: str | None = None
    discardable: bool | None = None
    enabled: bool | None = None
    ownerBrand: str | None = None
    brands: list[str] | None = None


def _wire(found: Announcement) -> dict[str, Any]:
    return {
        "id": found.id,
        "version": found.version,
        "name": found.name,
        "msgJsonObject": found.message,
        "startDatetime": found.starts_at.isoformat() if found.starts_at else None,
        "endDatetime": found.ends_at.isoformat() if found.ends_at else None,
        "timezone": found.timezone,
        "discardable": found.discardable,
        "enabled": found.enabled,
        "ownerBrand": found.owner_brand,
        "brands": list(found.brands),
    }


async def _draft(request: AnyRequest) -> AnnouncementDraft:
    raw = await request.body()
    if not raw.strip():
        raise OxError(400, "body is required")
    decoded = kit.decode(raw, Any)  # type: ignore[arg-type]
    if isinstance(decoded, dict) and list(decoded) == ["application/json"]:
        decoded = decoded["application/json"]  # the reference's request sample wraps it
    if not isinstance(decoded, dict):
        raise OxError(400, "body must be a JSON object")
    try:
        body = msgspec.convert(decoded, AnnouncementData)
    except msgspec.ValidationError as exc:
        raise OxError(400, f"{kit.wire_path(str(exc))}: {exc}") from None
    return AnnouncementDraft(
        name=body.name,
        message=body.msgJsonObject,
        starts=body.startDatetime,
        ends=body.endDatetime,
        timezone=body.timezone,
        discardable=body.discardable,
        enabled=body.enabled,
        owner_brand=body.ownerBrand,
        brands=tuple(body.brands) if body.brands is not None else None,
        version=body.version,
    )


def _id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise OxError(400, "id must be a number")
    return int(raw)


@post(BASE, status_code=200, opt=wire(AnnouncementData, answers={200: AnnouncementData}))
async def create(
    request: AnyRequest,
    announcements: NamedDependency[AnnouncementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Create an announcement of the caller's brand (or of `ownerBrand`, one it reaches)."""
    made = await announcements.create(principal, brand_of_caller(request), await _draft(request))
    return ok(_wire(made))


@get([BASE, BASE + "/*"], opt=wire(answers={200: list[AnnouncementData]}))
async def listed(
    request: AnyRequest,
    announcements: NamedDependency[AnnouncementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Every announcement of the caller's brand and its sub-brands."""
    return ok([_wire(a) for a in await announcements.all(principal, brand_of_caller(request))])


@put(ONE, opt=wire(AnnouncementData, answers={200: AnnouncementData}))
async def change(
    request: AnyRequest,
    announcement_id: FromPath[str],
    announcements: NamedDependency[AnnouncementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Change what the body gives; the version rises by one."""
    changed = await announcements.update(
        principal, brand_of_caller(request), _id(announcement_id), await _draft(request)
    )
    return ok(_wire(changed))


@delete(ONE, status_code=200, opt=wire(answers={200: None}))
async def remove(
    request: AnyRequest,
    announcement_id: FromPath[str],
    announcements: NamedDependency[AnnouncementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Delete the announcement."""
    await announcements.delete(principal, brand_of_caller(request), _id(announcement_id))
    return ok(None)


def _switch(enabled: bool, path: str, name: str) -> Any:
    async def switch(
        request: AnyRequest,
        announcement_id: FromPath[str],
        announcements: NamedDependency[AnnouncementService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        changed = await announcements.set_enabled(
            principal, brand_of_caller(request), _id(announcement_id), enabled
        )
        return ok(_wire(changed))

    switch.__doc__ = f"{'Enable' if enabled else 'Disable'} the announcement."
    return put(path, opt=wire(answers={200: AnnouncementData}), name=name)(switch)


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            create,
            listed,
            change,
            remove,
            _switch(True, ONE + "/enable", "enable"),
            _switch(False, ONE + "/disable", "disable"),
            _switch(True, BASE + "/enable/{announcement_id:str}", "enable_first"),
            _switch(False, BASE + "/disable/{announcement_id:str}", "disable_first"),
        ],
        guards=[reseller_admin],
    )
