"""Mail routing's tables: forwards (alias -> recipients) and sender black/white lists.

Addresses and patterns arrive here lower-case already (the services fold them), so
every comparison is a plain equality that the indexes serve.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select

from townhall.store import brands as brand_store
from townhall.store.database import Tx
from townhall.store.schema import (
    domains,
    mail_aliases,
    mail_sender_rules,
    mail_sieve_scripts,
    users,
)

# -- forwards ----------------------------------------------------------------------------


async def lock_domain(tx: Tx, tenant_id: int, name: str) -> int | None:
    """The id of the tenant's domain `name`, locked until the transaction ends (FOR
    UPDATE on PostgreSQL; SQLite's write transactions are serial anyway).

    Why lock the domain: a forward that does not exist yet has no row to lock, and two
    requests adding to one alias must not both see room for their recipients. Every
    change to a forward in the domain queues behind this row."""
    query = (
        select(domains.c.id)
        .where(domains.c.tenant_id == tenant_id, domains.c.name == name)
        .with_for_update()
    )
    return (await tx.execute(query)).scalar()


async def delete_stale(tx: Tx, tenant_id: int, alias: str) -> None:
    """Remove another tenant's rows for an alias in a domain this tenant now holds: left
    from a time the domain was theirs, they route nothing (routing checks the owner)
    but would collide with this tenant's rows."""
    await tx.execute(
        delete(mail_aliases).where(
            mail_aliases.c.alias == alias, mail_aliases.c.tenant_id != tenant_id
        )
    )


async def recipients(tx: Tx, tenant_id: int, alias: str) -> list[str]:
    """The alias's recipients in the order they were added; empty if there is none."""
    query = (
        select(mail_aliases.c.recipient)
        .where(mail_aliases.c.tenant_id == tenant_id, mail_aliases.c.alias == alias)
        .order_by(mail_aliases.c.id)
    )
    return [r.recipient for r in await tx.execute(query)]


async def add_recipients(
    tx: Tx, tenant_id: int, alias: str, wanted: Sequence[str], now: datetime
) -> None:
    if wanted:
        await tx.execute(
            insert(mail_aliases),
            [
                {"tenant_id": tenant_id, "alias": alias, "recipient": r, "created_at": now}
                for r in wanted
            ],
        )


async def delete_recipients(tx: Tx, tenant_id: int, alias: str, gone: Iterable[str]) -> int:
    """Remove these recipients of the alias; how many rows that removed."""
    listed = list(gone)
    if not listed:
        return 0
    done = await tx.execute(
        delete(mail_aliases).where(
            mail_aliases.c.tenant_id == tenant_id,
            mail_aliases.c.alias == alias,
            mail_aliases.c.recipient.in_(listed),
        )
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


async def delete_alias(tx: Tx, tenant_id: int, alias: str) -> int:
    done = await tx.execute(
        delete(mail_aliases).where(
            mail_aliases.c.tenant_id == tenant_id, mail_aliases.c.alias == alias
        )
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


async def forwards(tx: Tx, tenant_id: int) -> dict[str, list[str]]:
    """Every forward of the tenant: alias -> recipients, aliases sorted."""
    query = (
        select(mail_aliases.c.alias, mail_aliases.c.recipient)
        .where(mail_aliases.c.tenant_id == tenant_id)
        .order_by(mail_aliases.c.alias, mail_aliases.c.id)
    )
    found: dict[str, list[str]] = {}
    for row in await tx.execute(query):
        found.setdefault(row.alias, []).append(row.recipient)
    return found


async def delete_forwards(tx: Tx, tenant_id: int) -> list[str]:
    """Remove every forward of the tenant; the aliases that were there."""
    query = (
        select(mail_aliases.c.alias)
        .where(mail_aliases.c.tenant_id == tenant_id)
        .distinct()
        .order_by(mail_aliases.c.alias)
    )
    aliases = [r.alias for r in await tx.execute(query)]
    if aliases:
        await tx.execute(delete(mail_aliases).where(mail_aliases.c.tenant_id == tenant_id))
    return aliases


async def delete_aliases_in(tx: Tx, domain: str) -> int:
    """Remove every forward whose alias is in `domain` (being removed), of any tenant:
    they route nothing once it goes, and must not come back if it is added again."""
    escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    done = await tx.execute(
        delete(mail_aliases).where(mail_aliases.c.alias.like(f"%@{escaped}", escape="\\"))
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


# -- routing reads -----------------------------------------------------------------------


async def domain_owners(tx: Tx, names: Iterable[str]) -> dict[str, frozenset[int]]:
    """Hosted domain name -> the tenants whose mail it holds: the one tenant holding it,
    or, for a brand's shared domain (0011), every tenant of the brand and of the brands
    below it."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    query = select(domains.c.name, domains.c.tenant_id, domains.c.brand_id).where(
        domains.c.name.in_(wanted)
    )
    owners: dict[str, frozenset[int]] = {}
    for r in await tx.execute(query):
        if r.tenant_id is not None:
            owners[r.name] = frozenset((r.tenant_id,))
        elif r.brand_id is not None:
            reached = await brand_store.reach(tx, r.brand_id)
            owners[r.name] = frozenset(await brand_store.tenants_of(tx, reached))
    return owners


async def aliases_of(tx: Tx, addresses: Iterable[str]) -> list[tuple[int, str, str]]:
    """(tenant_id, alias, recipient) for every forward of these addresses, in the order
    each alias's recipients were added."""
    wanted = sorted(set(addresses))
    if not wanted:
        return []
    query = (
        select(mail_aliases.c.tenant_id, mail_aliases.c.alias, mail_aliases.c.recipient)
        .where(mail_aliases.c.alias.in_(wanted))
        .order_by(mail_aliases.c.id)
    )
    return [(r.tenant_id, r.alias, r.recipient) for r in await tx.execute(query)]


async def people_at(tx: Tx, addresses: Iterable[str]) -> list[tuple[int, int, str]]:
    """(tenant_id, user_id, address) of every person whose e-mail is one of these
    addresses, compared case-insensitively (people keep their address as written)."""
    wanted = sorted(set(addresses))
    if not wanted:
        return []
    address = func.lower(users.c.email)
    query = (
        select(users.c.tenant_id, users.c.id, address.label("address"))
        .where(address.in_(wanted))
        .order_by(users.c.id)
    )
    return [(r.tenant_id, r.id, r.address) for r in await tx.execute(query)]


# -- sender lists ------------------------------------------------------------------------


async def patterns(tx: Tx, user_id: int, which: str) -> list[str]:
    query = (
        select(mail_sender_rules.c.pattern)
        .where(mail_sender_rules.c.user_id == user_id, mail_sender_rules.c.list == which)
        .order_by(mail_sender_rules.c.pattern)
    )
    return [r.pattern for r in await tx.execute(query)]


async def count_patterns(tx: Tx, user_id: int, which: str) -> int:
    query = (
        select(func.count())
        .select_from(mail_sender_rules)
        .where(mail_sender_rules.c.user_id == user_id, mail_sender_rules.c.list == which)
    )
    return int((await tx.execute(query)).scalar_one())


async def has_pattern(tx: Tx, user_id: int, which: str, pattern: str) -> bool:
    query = select(mail_sender_rules.c.pattern).where(
        mail_sender_rules.c.user_id == user_id,
        mail_sender_rules.c.list == which,
        mail_sender_rules.c.pattern == pattern,
    )
    return (await tx.execute(query)).first() is not None


async def add_pattern(tx: Tx, user_id: int, which: str, pattern: str, now: datetime) -> None:
    await tx.execute(
        insert(mail_sender_rules).values(
            user_id=user_id, list=which, pattern=pattern, created_at=now
        )
    )


async def delete_patterns(tx: Tx, user_id: int, which: str, only: str | None = None) -> int:
    """Remove one pattern of the list (or, without `only`, all); how many went."""
    stmt = delete(mail_sender_rules).where(
        mail_sender_rules.c.user_id == user_id, mail_sender_rules.c.list == which
    )
    if only is not None:
        stmt = stmt.where(mail_sender_rules.c.pattern == only)
    return int((await tx.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def rules_of(tx: Tx, user_ids: Iterable[int]) -> dict[int, dict[str, list[str]]]:
    """user id -> list name -> patterns, for the people who have any."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    query = select(
        mail_sender_rules.c.user_id, mail_sender_rules.c.list, mail_sender_rules.c.pattern
    ).where(mail_sender_rules.c.user_id.in_(wanted))
    found: dict[int, dict[str, list[str]]] = {}
    for row in await tx.execute(query):
        found.setdefault(row.user_id, {}).setdefault(row.list, []).append(row.pattern)
    return found


# -- Sieve scripts -----------------------------------------------------------------------


async def save_sieve(tx: Tx, user_id: int, name: str, script: str | None) -> None:
    """Replace the person's script `name` (None: remove it). Its id is a digest of the
    text, so Dovecot's Pigeonhole sees a new script and recompiles."""
    await tx.execute(
        delete(mail_sieve_scripts).where(
            mail_sieve_scripts.c.user_id == user_id, mail_sieve_scripts.c.name == name
        )
    )
    if script is not None:
        script_id = hashlib.sha256(script.encode()).hexdigest()[:32]
        await tx.execute(
            insert(mail_sieve_scripts).values(
                user_id=user_id, name=name, script_id=script_id, script=script
            )
        )
