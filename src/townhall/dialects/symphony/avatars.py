"""Avatars (contract §1.12): upload as base64, listed as URLs Townhall itself serves.

The picture URL (`/avatars/{uid}/original`) needs no session, as an `<img>` tag cannot
send one; its `v` parameter changes with the picture so caches never show a stale one.
"""

from __future__ import annotations

from litestar import Response, Router, get, post

from townhall.domain.errors import NotFound
from townhall.domain.principal import Principal
from townhall.services.avatars import AvatarService

from . import models as m
from .http import AnyRequest, body, ok, user_admins


class AvatarUpdate(m.Wire):
    image: str | None = None


@get("/v1/admin/user/{uid:int}/avatar", guards=[user_admins])
async def list_avatars(
    request: AnyRequest, uid: int, avatars: AvatarService, principal: Principal
) -> Response[bytes]:
    version = await avatars.version(principal, uid)
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
    guards=[user_admins],
)
async def update_avatar(
    request: AnyRequest, uid: int, avatars: AvatarService, principal: Principal
) -> Response[bytes]:
    wanted = await body(request, AvatarUpdate)
    await avatars.set(principal, uid, wanted.image)
    return ok(m.SuccessResponse())


@get("/avatars/{uid:int}/original", include_in_schema=False)
async def picture(uid: int, avatars: AvatarService) -> Response[bytes]:
    try:
        media_type, image, _ = await avatars.image(uid)
    except NotFound:
        return Response(b"", status_code=404)
    return Response(
        image, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )


router = Router(path="/", route_handlers=[list_avatars, update_avatar])
public_router = Router(path="/", route_handlers=[picture])
