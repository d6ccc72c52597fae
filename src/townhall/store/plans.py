"""SaaS subscriptions and their plan history (services/plans.py holds the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update

from townhall.domain.plans import Plan
from townhall.store.database import Tx
from townhall.store.schema import resources, saas_plan_history, saas_subscriptions, users


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: int
    tenant_id: int
    public_id: str
    company: str
    email_domain: str
    deployment: str
    region: str | None
    status: str
    started_at: datetime


@dataclass(frozen=True, slots=True)
class Held:
    """One plan a subscription held (or holds: `ends_at` None) for a service."""

    service: str
    plan: str
    price_cents: int
    max_users: int | None
    max_resources: int | None
    max_storage_bytes: int | None
    starts_at: datetime
    ends_at: datetime | None

    def limit(self, what: str) -> int | None:
        return {
            "users": self.max_users,
            "resources": self.max_resources,
            "storage": self.max_storage_bytes,
        }[what]


_SUB = select(saas_subscriptions)


def _sub(row: object) -> SubscriptionRow:
    r = row._mapping  # type: ignore[attr-defined]
    return SubscriptionRow(
        r["id"],
        r["tenant_id"],
        r["public_id"],
        r["company"],
        r["email_domain"],
        r["deployment"],
        r["region"],
        r["status"],
        r["started_at"],
    )


async def insert_subscription(
    tx: Tx,
    tenant_id: int,
    public_id: str,
    company: str,
    email_domain: str,
    deployment: str,
    region: str | None,
    now: datetime,
) -> int:
    result = await tx.execute(
        insert(saas_subscriptions)
        .values(
            tenant_id=tenant_id,
            public_id=public_id,
            company=company,
            email_domain=email_domain,
            deployment=deployment,
            region=region,
            status="active",
            started_at=now,
        )
        .returning(saas_subscriptions.c.id)
    )
    return int(result.scalar_one())


async def of_tenant(tx: Tx, tenant_id: int) -> SubscriptionRow | None:
    row = (await tx.execute(_SUB.where(saas_subscriptions.c.tenant_id == tenant_id))).first()
    return _sub(row) if row else None


async def lock_of_tenant(tx: Tx, tenant_id: int) -> SubscriptionRow | None:
    """The tenant's subscription, its row locked (FOR UPDATE) until the transaction
    ends: whoever counts the tenant's people or resources against the plan holds it, so
    two concurrent creations never both see room for one more."""
    query = _SUB.where(saas_subscriptions.c.tenant_id == tenant_id).with_for_update()
    row = (await tx.execute(query)).first()
    return _sub(row) if row else None


async def by_email_domain(tx: Tx, domain: str) -> SubscriptionRow | None:
    query = _SUB.where(saas_subscriptions.c.email_domain == domain)
    row = (await tx.execute(query)).first()
    return _sub(row) if row else None


async def history(tx: Tx, subscription_id: int) -> list[Held]:
    h = saas_plan_history.c
    query = (
        select(saas_plan_history)
        .where(h.subscription_id == subscription_id)
        .order_by(h.starts_at, h.id)
    )
    return [
        Held(
            r.service,
            r.plan,
            int(r.price_cents),
            r.max_users,
            r.max_resources,
            r.max_storage_bytes,
            r.starts_at,
            r.ends_at,
        )
        for r in await tx.execute(query)
    ]


async def current(tx: Tx, subscription_id: int) -> list[Held]:
    return [held for held in await history(tx, subscription_id) if held.ends_at is None]


async def hold(tx: Tx, subscription_id: int, plan: Plan, now: datetime) -> None:
    """From `now` the subscription holds `plan` for its service (ending what it held)."""
    h = saas_plan_history.c
    await tx.execute(
        update(saas_plan_history)
        .where(
            h.subscription_id == subscription_id,
            h.service == plan.service,
            h.ends_at.is_(None),
        )
        .values(ends_at=now)
    )
    await tx.execute(
        insert(saas_plan_history).values(
            subscription_id=subscription_id,
            service=plan.service,
            plan=plan.name,
            price_cents=plan.price_cents,
            max_users=plan.max_users,
            max_resources=plan.max_resources,
            max_storage_bytes=plan.max_storage_bytes,
            starts_at=now,
        )
    )


async def count_people(tx: Tx, tenant_id: int) -> int:
    query = select(func.count()).select_from(users).where(users.c.tenant_id == tenant_id)
    return int((await tx.execute(query)).scalar_one())


async def count_resources(tx: Tx, tenant_id: int) -> int:
    query = select(func.count()).select_from(resources).where(resources.c.tenant_id == tenant_id)
    return int((await tx.execute(query)).scalar_one())


async def count_subscriptions(tx: Tx) -> int:
    query = select(func.count()).select_from(saas_subscriptions)
    return int((await tx.execute(query)).scalar_one())
