"""What people may do and use: feature entitlements, delegates, applications.

Feature entitlements are free-form names set per user; the tenant's catalogue of them is
every name set for any of its users (a dialect adds the names its API documents).

Each change is one unit of work that locks the user (or tenant) whose entitlements it
changes, compares with what is stored and records itself only when something changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from townhall.domain.errors import Invalid, NotFound
from townhall.domain.models import AppEntitlement
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import entitlements as store
from townhall.store import people as people_store
from townhall.store import tenants as tenant_store
from townhall.store.database import Tx

MAX_FEATURE = 100
MAX_APP_ID = 256
MAX_APP_NAME = 50


class EntitlementService(Service):
    # -- features ----------------------------------------------------------------------

    async def features(self, actor: Principal, user_id: int) -> dict[str, bool]:
        async with self.db.read() as tx:
            await self._user(tx, actor, user_id)
            return await store.features(tx, user_id)

    async def feature_names(self, actor: Principal) -> list[str]:
        """Every feature name set for any user of the tenant, sorted."""
        async with self.db.read() as tx:
            return sorted(await store.feature_names(tx, actor.tenant_id))

    async def set_features(
        self, actor: Principal, user_id: int, wanted: Mapping[str, bool]
    ) -> None:
        """Set these features; others keep their value."""
        for name in wanted:
            if not 0 < len(name) <= MAX_FEATURE:
                raise Invalid("feature", f"must have 1 to {MAX_FEATURE} characters")
        async with self.unit(actor) as work:
            await self._lock_users(work, actor, user_id)
            current = await store.features(work, user_id)
            changed = {name: on for name, on in wanted.items() if current.get(name) != on}
            if changed:
                await store.set_features(work, user_id, changed)
                work.record("user.features.set", str(user_id))

    # -- delegates ---------------------------------------------------------------------

    async def delegates(self, actor: Principal, user_id: int) -> list[int]:
        async with self.db.read() as tx:
            await self._user(tx, actor, user_id)
            return await store.delegates(tx, user_id)

    async def set_delegate(
        self, actor: Principal, user_id: int, delegate: int, present: bool
    ) -> None:
        """Make `delegate` one of the user's delegates (or not); asking for what is
        already so changes nothing."""
        if user_id == delegate:
            raise Invalid("delegate_id", "must not be the user themselves")
        async with self.unit(actor) as work:
            await self._lock_users(work, actor, user_id, delegate)
            if (delegate in await store.delegates(work, user_id)) == present:
                return
            await store.set_delegate(work, user_id, delegate, present)
            action = "user.delegate.added" if present else "user.delegate.removed"
            work.record(action, f"{user_id}: {delegate}")

    # -- applications ------------------------------------------------------------------

    async def tenant_apps(self, actor: Principal) -> list[AppEntitlement]:
        async with self.db.read() as tx:
            return await store.tenant_apps(tx, actor.tenant_id)

    async def set_tenant_apps(
        self, actor: Principal, apps: Sequence[AppEntitlement]
    ) -> list[AppEntitlement]:
        """Update the listed applications (adding new ones); the others stay. Answers
        the tenant's applications as this change left them."""
        _check(apps, names_required=True)
        async with self.unit(actor) as work:
            await tenant_store.lock(work, actor.tenant_id)
            current = {a.app_id: a for a in await store.tenant_apps(work, actor.tenant_id)}
            changed = [a for a in apps if current.get(a.app_id) != a]
            if not changed:
                return list(current.values())
            await store.set_tenant_apps(work, actor.tenant_id, changed)
            work.record("apps.set", "tenant")
            return await store.tenant_apps(work, actor.tenant_id)

    async def user_apps(self, actor: Principal, user_id: int) -> list[AppEntitlement]:
        async with self.db.read() as tx:
            await self._user(tx, actor, user_id)
            return await store.user_apps(tx, user_id)

    async def set_user_apps(
        self, actor: Principal, user_id: int, apps: Sequence[AppEntitlement]
    ) -> list[AppEntitlement]:
        """Make the user's applications exactly these; answers them as stored."""
        _check(apps, names_required=False)
        async with self.unit(actor) as work:
            await self._lock_users(work, actor, user_id)
            current = await store.user_apps(work, user_id)
            if {a.app_id: a for a in current} == {a.app_id: a for a in apps}:
                return current
            await store.replace_user_apps(work, user_id, apps)
            work.record("user.apps.set", str(user_id))
            return await store.user_apps(work, user_id)

    # -- helpers -----------------------------------------------------------------------

    async def _user(self, tx: Tx, actor: Principal, user_id: int) -> None:
        if not await people_store.created_by_id(tx, actor.tenant_id, [user_id]):
            raise NotFound("user", str(user_id))

    async def _lock_users(self, tx: Tx, actor: Principal, *user_ids: int) -> None:
        """The users exist (NotFound for the first that does not), locked until the unit
        of work ends so that two changes of one user's entitlements run one after the
        other."""
        found = await people_store.lock_ids(tx, actor.tenant_id, user_ids)
        for user_id in user_ids:
            if user_id not in found:
                raise NotFound("user", str(user_id))


def _check(apps: Sequence[AppEntitlement], names_required: bool) -> None:
    seen: set[str] = set()
    for app in apps:
        if not 0 < len(app.app_id) <= MAX_APP_ID:
            raise Invalid("app_id", f"must have 1 to {MAX_APP_ID} characters")
        if app.app_id in seen:
            raise Invalid("app_id", f"lists {app.app_id} twice")
        seen.add(app.app_id)
        if names_required and not app.app_name:
            raise Invalid("app_name", "is required")
        if app.app_name is not None and not 0 < len(app.app_name) <= MAX_APP_NAME:
            raise Invalid("app_name", f"must have 1 to {MAX_APP_NAME} characters")
