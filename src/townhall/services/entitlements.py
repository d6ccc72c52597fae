"""What people may do and use: feature entitlements, delegates, applications."""

from __future__ import annotations

from collections.abc import Sequence

from townhall.domain.errors import Invalid, NotFound
from townhall.domain.models import AppEntitlement
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import entitlements as store
from townhall.store import people as people_store
from townhall.store.database import Tx

MAX_APP_ID = 256
MAX_APP_NAME = 50


class EntitlementService(Service):
    async def features(self, actor: Principal, user_id: int) -> dict[str, bool]:
        async with self.db.read() as tx:
            await self._user(tx, actor, user_id)
            return await store.features(tx, user_id)

    async def set_features(self, actor: Principal, user_id: int, wanted: dict[str, bool]) -> None:
        for name in wanted:
            if not name or len(name) > 100:
                raise Invalid("entitlment", "a feature name of 1 to 100 characters is needed")
        async with self.change(actor, "user.features.set", str(user_id)) as tx:
            await self._user(tx, actor, user_id)
            await store.set_features(tx, user_id, wanted)

    async def delegates(self, actor: Principal, user_id: int) -> list[int]:
        async with self.db.read() as tx:
            await self._user(tx, actor, user_id)
            return await store.delegates(tx, user_id)

    async def set_delegate(
        self, actor: Principal, user_id: int, delegate: int, present: bool
    ) -> None:
        if user_id == delegate:
            raise Invalid("userId", "a user cannot be their own delegate")
        action = "user.delegate.added" if present else "user.delegate.removed"
        async with self.change(actor, action, f"{user_id}: {delegate}") as tx:
            await self._user(tx, actor, user_id)
            await self._user(tx, actor, delegate)
            await store.set_delegate(tx, user_id, delegate, present)

    async def tenant_apps(self, actor: Principal) -> list[AppEntitlement]:
        async with self.db.read() as tx:
            return await store.tenant_apps(tx, actor.tenant_id)

    async def set_tenant_apps(
        self, actor: Principal, apps: Sequence[AppEntitlement]
    ) -> list[AppEntitlement]:
        _check(apps, names_required=True)
        async with self.change(actor, "apps.set", "tenant") as tx:
            await store.set_tenant_apps(tx, actor.tenant_id, apps)
        return await self.tenant_apps(actor)

    async def user_apps(self, actor: Principal, user_id: int) -> list[AppEntitlement]:
        async with self.db.read() as tx:
            await self._user(tx, actor, user_id)
            return await store.user_apps(tx, user_id)

    async def set_user_apps(
        self, actor: Principal, user_id: int, apps: Sequence[AppEntitlement]
    ) -> list[AppEntitlement]:
        _check(apps, names_required=False)
        async with self.change(actor, "user.apps.set", str(user_id)) as tx:
            await self._user(tx, actor, user_id)
            await store.replace_user_apps(tx, user_id, apps)
        return await self.user_apps(actor, user_id)

    async def _user(self, tx: Tx, actor: Principal, user_id: int) -> None:
        if not await people_store.created_by_id(tx, actor.tenant_id, [user_id]):
            raise NotFound("user", str(user_id))


def _check(apps: Sequence[AppEntitlement], names_required: bool) -> None:
    seen: set[str] = set()
    for app in apps:
        if not 0 < len(app.app_id) <= MAX_APP_ID:
            raise Invalid("appId", f"appId must have 1 to {MAX_APP_ID} characters")
        if app.app_id in seen:
            raise Invalid("appId", f"appId {app.app_id} is listed twice")
        seen.add(app.app_id)
        if names_required and not app.app_name:
            raise Invalid("appName", "appName is required")
        if app.app_name is not None and not 0 < len(app.app_name) <= MAX_APP_NAME:
            raise Invalid("appName", f"appName must have 1 to {MAX_APP_NAME} characters")
