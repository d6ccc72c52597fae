"""Avatars (contract §1.12): upload as base64, listed as URLs Townhall itself serves.

The picture URL (`/avatars/{uid}/original`) needs no session, as an `<img>` tag cannot
send one; its `v` parameter changes with the picture so caches never show a stale one.
"""

from __future__ import annotations

from litestar import Response, Router, get, post

from townhall.domain.errors import NotFound

from . import models as m
from .http import AnyRequest, body, ok, require_user_admin, services


class AvatarUpdate(m.Wire):
    image: str | None = None


@get("/v1/admin/user/{uid:int}/avatar")
async def list_avatars(request: AnyRequest, uid: int) -> Response[bytes]:
    version = await services(request).avatars.version(require_user_admin(request), uid)
    if version is None:
        return ok([])
    base = str(request.base_url).rstrip("/")
    url = f"{base}/avatars/{uid}/original?v={int(version.timestamp() * 1000)}"
    return ok([m.Avatar(size="original", url=url)])


# A picture just under 2 MB is about 2.7 MB once base64-encoded.
@post(
    "/v1/admin/user/{uid:int}/avatar/update",
    status_code=200,
    request_max_body_size=3 * 1024 * 1024,
)
async def update_avatar(request: AnyRequest, uid: int) -> Response[bytes]:
    who = require_user_admin(request)
    wanted = await body(request, AvatarUpdate)
    await services(request).avatars.set(who, uid, wanted.image)
    return ok(m.SuccessResponse())


@get("/avatars/{uid:int}/original", include_in_schema=False)
async def picture(request: AnyRequest, uid: int) -> Response[bytes]:
    try:
        media_type, image, _ = await services(request).avatars.image(uid)
    except NotFound:
        return Response(b"", status_code=404)
    return Response(
        image, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )


router = Router(path="/", route_handlers=[list_avatars, update_avatar])
public_router = Router(path="/", route_handlers=[picture])
