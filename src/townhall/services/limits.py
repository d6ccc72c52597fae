"""Plan limits, held inside the unit of work that would break them.

Every way a person or a resource is made (RMP, Openfire, Symphony, OX, bulk creation,
import) goes through `PeopleService.create` or `ResourceService.insert`; each calls
`hold` in its own transaction before it inserts, so the limit holds in every API. A
tenant without a subscription (the deployment's own, tenants the operator makes) has
no plan and so no limit.
"""

from __future__ import annotations

from townhall.domain.errors import LimitReached
from townhall.store import plans as store
from townhall.store.database import Tx

COUNTERS = {"users": store.count_people, "resources": store.count_resources}


async def allowed(tx: Tx, subscription_id: int, what: str) -> int | None:
    """The tenant's limit on `what`: the smallest that one of its current plans states
    (None: no plan states one)."""
    stated = [
        limit
        for held in await store.current(tx, subscription_id)
        if (limit := held.limit(what)) is not None
    ]
    return min(stated) if stated else None


async def hold(tx: Tx, tenant_id: int, what: str, adding: int = 1) -> None:
    """Refuse (LimitReached) if `adding` more of `what` would exceed the tenant's plan.

    The subscription row is locked first (FOR UPDATE on PostgreSQL; SQLite's write
    transactions are serial), so of two concurrent creations the second counts after
    the first has committed or rolled back, and both cannot take the last place."""
    subscription = await store.lock_of_tenant(tx, tenant_id)
    if subscription is None:
        return
    limit = await allowed(tx, subscription.id, what)
    if limit is None:
        return
    used = await COUNTERS[what](tx, tenant_id)
    if used + adding > limit:
        raise LimitReached(what, limit, used)
