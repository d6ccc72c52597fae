"""Pod-wide settings (contract §1.11): the catalogue of feature entitlements."""

from __future__ import annotations

from litestar import Response, Router, get
from litestar.di import NamedDependency

from townhall.domain.principal import Principal
from townhall.services.entitlements import EntitlementService

from ..documents import wire
from .http import ok, user_admins

STANDARD_FEATURES = (
    "postReadEnabled",
    "postWriteEnabled",
    "delegatesEnabled",
    "isExternalIMEnabled",
    "canShareFilesExternally",
    "canCreatePublicRoom",
    "canUpdateAvatar",
    "isExternalRoomEnabled",
    "canCreatePushedSignals",
    "canUseCompactMode",
    "mustBeRecorded",
    "sendFilesEnabled",
    "canUseInternalAudio",
    "canUseInternalVideo",
    "canProjectInternalScreenShare",
    "canViewInternalScreenShare",
    "canCreateMultiLateralRoom",
    "canJoinMultiLateralRoom",
    "canUseFirehose",
    "canUseInternalAudioMobile",
    "canUseInternalVideoMobile",
    "canProjectInternalScreenShareMobile",
    "canViewInternalScreenShareMobile",
    "canManageSignalSubscription",
)
"""The features Symphony documents, in its order: listed whether or not a user has one."""


@get(
    "/v1/admin/system/features/list",
    guards=[user_admins],
    opt=wire(answers={200: list[str]}),
)
async def feature_names(
    entitlements: NamedDependency[EntitlementService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    """Every name a user's features may hold here: what an admin picks from before
    `/v1/admin/user/{uid}/features/update`. The standard ones first, then the tenant's
    own, so a client that lists these and then reads a user's features never meets a
    name the list left out."""
    used = await entitlements.feature_names(principal)
    return ok([*STANDARD_FEATURES, *(n for n in used if n not in STANDARD_FEATURES)])


router = Router(path="/", route_handlers=[feature_names])
