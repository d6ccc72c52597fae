"""The catalogue of feature entitlements a tenant knows.

Feature entitlements are free-form names set per user (see entitlements). The catalogue
is Symphony's documented set plus every name set for any user of the tenant, so a
client that lists the catalogue and then reads a user's features never meets a name
the catalogue left out.
"""

from __future__ import annotations

from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import entitlements as store

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


class FeatureService(Service):
    async def names(self, actor: Principal) -> list[str]:
        """The standard features in Symphony's order, then the tenant's own, sorted."""
        async with self.db.read() as tx:
            used = await store.feature_names(tx, actor.tenant_id)
        return [*STANDARD_FEATURES, *sorted(used - set(STANDARD_FEATURES))]
