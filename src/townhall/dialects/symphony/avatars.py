"""Avatars (contract §1.12): upload as base64, listed as URLs Townhall itself serves.

The picture URL (`/avatars/{token}/original`) needs no session, as an `<img>` tag cannot
send one; like Symphony's CDN URLs it is unguessable (a random token, not the uid), and
each new picture gets a new one, so caches never show a stale picture and an old URL
answers 404.
"""

from __future__ import annotations

from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.errors import NotFound
from townhall.domain.principal import Principal
from townhall.services.avatars import AvatarService

from ..documents import wire
from . import models as m
from .http import AnyRequest, body, ok, user_admins


class AvatarUpdate(m.Wire):
    image: str | None = None


@get(
    "/v1/admin/user/{uid:int}/avatar",
    guards=[user_admins],
    opt=wire(answers={200: list[m.Avatar]}),
)
async def list_avatars(
    request: AnyRequest,
    uid: FromPath[int],
    avatars: NamedDependency[AvatarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(avatar_list(request, await avatars.token(principal, uid)))


def avatar_list(request: AnyRequest, token: str | None) -> list[m.Avatar]:
    """The pictures a user record lists: the one stored picture, at its public URL."""
    if token is None:
        return []
    base = str(request.base_url).rstrip("/")
    return [m.Avatar(size="original", url=f"{base}/avatars/{token}/original")]


# A picture just under 2 MB is about 2.7 MB once base64-encoded.
@post(
    "/v1/admin/user/{uid:int}/avatar/update",
    status_code=200,
    request_max_body_size=3 * 1024 * 1024,
    guards=[user_admins],
    opt=wire(AvatarUpdate, answers={200: m.SuccessResponse}),
)
async def update_avatar(
    request: AnyRequest,
    uid: FromPath[int],
    avatars: NamedDependency[AvatarService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    wanted = await body(request, AvatarUpdate)
    await avatars.set(principal, uid, wanted.image)
    return ok(m.SuccessResponse())


@get("/avatars/{token:str}/original", include_in_schema=False)
async def picture(token: FromPath[str], avatars: NamedDependency[AvatarService]) -> Response[bytes]:
    try:
        media_type, image = await avatars.image(token)
    except NotFound:
        return Response(b"", status_code=404)
    return Response(
        image, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )


router = Router(path="/", route_handlers=[list_avatars, update_avatar])
public_router = Router(path="/", route_handlers=[picture])
