"""Pod-wide settings (contract §1.11): the catalogue of feature entitlements."""

from __future__ import annotations

from litestar import Response, Router, get

from .http import AnyRequest, ok, require_user_admin, services


@get("/v1/admin/system/features/list")
async def feature_names(request: AnyRequest) -> Response[bytes]:
    """Every name a user's features may hold here: what an admin picks from before
    `/v1/admin/user/{uid}/features/update`."""
    return ok(await services(request).features.names(require_user_admin(request)))


router = Router(path="/", route_handlers=[feature_names])
