"""Pod-wide settings (contract §1.11): the catalogue of feature entitlements."""

from __future__ import annotations

from litestar import Response, Router, get

from townhall.domain.principal import Principal
from townhall.services.entitlements import EntitlementService

from .http import ok, user_admins


@get("/v1/admin/system/features/list", guards=[user_admins])
async def feature_names(entitlements: EntitlementService, principal: Principal) -> Response[bytes]:
    """Every name a user's features may hold here: what an admin picks from before
    `/v1/admin/user/{uid}/features/update`."""
    return ok(await entitlements.feature_names(principal))


router = Router(path="/", route_handlers=[feature_names])
