"""A person's mail settings (one row once any is set) and when their mailbox last
logged in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from townhall.store.database import Tx, UniqueViolation
from townhall.store.schema import mail_last_login, mailboxes, users

SETTINGS = ("quota_bytes", "quota_mode", "spam_level", "antivirus", "anti_phishing")


async def settings_of(tx: Tx, user_id: int) -> dict[str, Any]:
    """Every setting, None where unset."""
    query = select(*(mailboxes.c[name] for name in SETTINGS)).where(mailboxes.c.user_id == user_id)
    row = (await tx.execute(query)).first()
    return {name: (getattr(row, name) if row else None) for name in SETTINGS}


async def save(tx: Tx, user_id: int, values: dict[str, Any]) -> None:
    """Set the given settings (the caller holds the person's row lock, so the row cannot
    appear between the update and the insert)."""
    done = await tx.execute(update(mailboxes).where(mailboxes.c.user_id == user_id).values(values))
    if done.rowcount == 0:  # type: ignore[attr-defined]
        await tx.execute(insert(mailboxes).values(user_id=user_id, **values))


async def settings_of_many(tx: Tx, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Every setting of each of these people (None where unset), in one read."""
    found: dict[int, dict[str, Any]] = {i: dict.fromkeys(SETTINGS) for i in user_ids}
    if not user_ids:
        return found
    columns = (mailboxes.c.user_id, *(mailboxes.c[name] for name in SETTINGS))
    query = select(*columns).where(mailboxes.c.user_id.in_(user_ids))
    for row in await tx.execute(query):
        found[row.user_id] = {name: getattr(row, name) for name in SETTINGS}
    return found


# -- last mail login (0010) ----------------------------------------------------------------


async def last_login(tx: Tx, address: str) -> int | None:
    """When the mailbox last logged in (epoch seconds), None if never."""
    query = select(mail_last_login.c.last_login).where(mail_last_login.c.username == address)
    return (await tx.execute(query)).scalar()


async def record_login(tx: Tx, address: str, epoch: int) -> None:
    """Set the mailbox's last login; a row made meanwhile by another login is updated."""
    change = (
        update(mail_last_login)
        .where(mail_last_login.c.username == address)
        .values(last_login=epoch)
    )
    if (await tx.execute(change)).rowcount:  # type: ignore[attr-defined]
        return
    try:
        await tx.savepoint_insert(
            insert(mail_last_login).values(username=address, last_login=epoch)
        )
    except UniqueViolation:
        await tx.execute(change)


async def forget_login(tx: Tx, address: str) -> None:
    await tx.execute(delete(mail_last_login).where(mail_last_login.c.username == address))


async def email_of(tx: Tx, user_id: int) -> str | None:
    """The person's e-mail address, lower-case (their mailbox), if they have one."""
    found = (await tx.execute(select(users.c.email).where(users.c.id == user_id))).scalar()
    return found.strip().lower() if found else None


async def addresses_of_tenant(tx: Tx, tenant_id: int) -> list[str]:
    """Every e-mail address (lower-case, sorted) the tenant's people hold."""
    query = select(users.c.email).where(users.c.tenant_id == tenant_id, users.c.email.is_not(None))
    return sorted({r.email.strip().lower() for r in await tx.execute(query) if r.email.strip()})
