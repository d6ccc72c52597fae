"""The audit log. Only services write it, through their unit of work (`Service.unit`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select

from townhall.domain.models import AuditEntry
from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import audit_log

_INSERT = insert(audit_log)


async def record(
    tx: Tx,
    tenant_id: int,
    username: str | None,
    at: datetime,
    node: str | None,
    changes: Sequence[tuple[str, str, str | None]],
) -> None:
    """One row per (action, summary, details), all in one statement."""
    await tx.execute(
        _INSERT,
        [
            {
                "tenant_id": tenant_id,
                "username": username,
                "occurred_at": at,
                "action": action,
                "summary": summary,
                "node": node,
                "details": details,
            }
            for action, summary, details in changes
        ],
    )


async def entries(
    tx: Tx,
    tenant_id: int,
    username: str | None,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
    action: str | None = None,
) -> Sequence[AuditEntry]:
    """`action`: that action, or every action under it when it ends in a dot (`user.`)."""
    query = select(audit_log).where(audit_log.c.tenant_id == tenant_id)
    if username:
        query = query.where(audit_log.c.username == username)
    if action and action.endswith("."):
        query = query.where(audit_log.c.action.startswith(action, autoescape=True))
    elif action:
        query = query.where(audit_log.c.action == action)
    if since:
        query = query.where(audit_log.c.occurred_at >= since)
    if until:
        query = query.where(audit_log.c.occurred_at <= until)
    query = query.order_by(audit_log.c.id.desc()).offset(offset).limit(limit)
    return [
        AuditEntry(r.id, r.username, as_utc(r.occurred_at), r.summary, r.node, r.details)
        for r in await tx.execute(query)
    ]


async def count(tx: Tx, tenant_id: int) -> int:
    query = select(func.count()).select_from(audit_log).where(audit_log.c.tenant_id == tenant_id)
    return int((await tx.execute(query)).scalar_one())
