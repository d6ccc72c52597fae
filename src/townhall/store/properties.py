"""Per-tenant system properties (Openfire's, and Townhall's own settings)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from townhall.store.database import Tx, UniqueViolation
from townhall.store.schema import system_properties as props


async def all_properties(tx: Tx, tenant_id: int, prefix: str = "") -> dict[str, str | None]:
    query = select(props.c.key, props.c.value).where(props.c.tenant_id == tenant_id)
    if prefix:
        query = query.where(props.c.key.startswith(prefix, autoescape=True))
    return {r.key: r.value for r in await tx.execute(query.order_by(props.c.key))}


async def get(
    tx: Tx, tenant_id: int, key: str, for_update: bool = False
) -> tuple[bool, str | None]:
    """(found, value): a stored property may hold NULL. `for_update` locks the row
    against other writers until the transaction ends (FOR UPDATE on PostgreSQL;
    SQLite's write transactions are serial anyway)."""
    query = select(props.c.value).where(props.c.tenant_id == tenant_id, props.c.key == key)
    row = (await tx.execute(query.with_for_update() if for_update else query)).first()
    return (row is not None, row[0] if row else None)


async def put(tx: Tx, tenant_id: int, key: str, value: str | None) -> None:
    done = await tx.execute(
        update(props).where(props.c.tenant_id == tenant_id, props.c.key == key).values(value=value)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        try:
            await tx.savepoint_insert(
                insert(props).values(tenant_id=tenant_id, key=key, value=value)
            )
        except UniqueViolation:  # a concurrent writer inserted it first: last write wins
            await tx.execute(
                update(props)
                .where(props.c.tenant_id == tenant_id, props.c.key == key)
                .values(value=value)
            )


async def remove(tx: Tx, tenant_id: int, key: str) -> bool:
    done = await tx.execute(delete(props).where(props.c.tenant_id == tenant_id, props.c.key == key))
    return bool(done.rowcount)  # type: ignore[attr-defined]
