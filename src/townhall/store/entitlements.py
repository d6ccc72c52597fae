"""Feature entitlements, delegates and application entitlements."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select

from townhall.domain.models import AppEntitlement
from townhall.store.database import Tx
from townhall.store.schema import (
    app_entitlements,
    user_app_entitlements,
    user_delegates,
    user_features,
    users,
)


async def features(tx: Tx, user_id: int) -> dict[str, bool]:
    query = select(user_features).where(user_features.c.user_id == user_id)
    return {
        r.feature: bool(r.enabled)
        for r in await tx.execute(query.order_by(user_features.c.feature))
    }


async def feature_names(tx: Tx, tenant_id: int) -> set[str]:
    """Every feature name set for any user of the tenant."""
    query = (
        select(user_features.c.feature)
        .join(users, users.c.id == user_features.c.user_id)
        .where(users.c.tenant_id == tenant_id)
        .distinct()
    )
    return {r.feature for r in await tx.execute(query)}


async def set_features(tx: Tx, user_id: int, wanted: dict[str, bool]) -> None:
    """Set these features; others keep their value."""
    if not wanted:
        return
    await tx.execute(
        delete(user_features).where(
            user_features.c.user_id == user_id, user_features.c.feature.in_(list(wanted))
        )
    )
    await tx.execute(
        insert(user_features),
        [{"user_id": user_id, "feature": f, "enabled": e} for f, e in wanted.items()],
    )


async def delegates(tx: Tx, user_id: int) -> list[int]:
    query = select(user_delegates.c.delegate_id).where(user_delegates.c.user_id == user_id)
    return [r.delegate_id for r in await tx.execute(query.order_by(user_delegates.c.delegate_id))]


async def set_delegate(tx: Tx, user_id: int, delegate_id: int, present: bool) -> None:
    await tx.execute(
        delete(user_delegates).where(
            user_delegates.c.user_id == user_id, user_delegates.c.delegate_id == delegate_id
        )
    )
    if present:
        await tx.execute(insert(user_delegates).values(user_id=user_id, delegate_id=delegate_id))


async def tenant_apps(tx: Tx, tenant_id: int) -> list[AppEntitlement]:
    query = select(app_entitlements).where(app_entitlements.c.tenant_id == tenant_id)
    return [
        AppEntitlement(r.app_id, r.app_name, bool(r.listed), bool(r.install), bool(r.enabled))
        for r in await tx.execute(query.order_by(app_entitlements.c.app_id))
    ]


async def set_tenant_apps(tx: Tx, tenant_id: int, apps: Sequence[AppEntitlement]) -> None:
    """Update the listed applications (adding new ones); others stay as they are."""
    ids = [a.app_id for a in apps]
    if not ids:
        return
    await tx.execute(
        delete(app_entitlements).where(
            app_entitlements.c.tenant_id == tenant_id, app_entitlements.c.app_id.in_(ids)
        )
    )
    await tx.execute(
        insert(app_entitlements),
        [
            {
                "tenant_id": tenant_id,
                "app_id": a.app_id,
                "app_name": a.app_name,
                "enabled": a.enabled,
                "listed": a.listed,
                "install": a.install,
            }
            for a in apps
        ],
    )


async def user_apps(tx: Tx, user_id: int) -> list[AppEntitlement]:
    query = select(user_app_entitlements).where(user_app_entitlements.c.user_id == user_id)
    return [
        AppEntitlement(
            r.app_id, r.app_name, bool(r.listed), bool(r.install), products=tuple(r.products or ())
        )
        for r in await tx.execute(query.order_by(user_app_entitlements.c.app_id))
    ]


async def replace_user_apps(tx: Tx, user_id: int, apps: Sequence[AppEntitlement]) -> None:
    await tx.execute(
        delete(user_app_entitlements).where(user_app_entitlements.c.user_id == user_id)
    )
    if apps:
        await tx.execute(
            insert(user_app_entitlements),
            [
                {
                    "user_id": user_id,
                    "app_id": a.app_id,
                    "app_name": a.app_name,
                    "listed": a.listed,
                    "install": a.install,
                    "products": list(a.products),
                }
                for a in apps
            ],
        )
