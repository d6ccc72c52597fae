"""API session tokens (by digest) and users' RSA public keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select, update

from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.people import CHANGE_REQUIRED
from townhall.store.schema import (
    domain_admins,
    domains,
    session_tokens,
    user_keys,
    user_properties,
    user_roles,
    users,
)


@dataclass(frozen=True, slots=True)
class TokenOwner:
    user_id: int
    tenant_id: int
    username: str
    kind: str
    expires_at: datetime
    revoked: bool
    locked: bool
    roles: frozenset[str] = frozenset()
    admin_of: tuple[str, ...] = ()
    """The domains the person administers, by name."""
    change_required: bool = False


_SEPARATOR = "\n"  # in neither role nor domain names
_CHANGE_FLAG = user_properties.alias("change_flag")
_ROLES = (
    select(func.aggregate_strings(user_roles.c.role, _SEPARATOR))
    .where(user_roles.c.user_id == session_tokens.c.user_id)
    .scalar_subquery()
)
_ADMIN_OF = (
    select(func.aggregate_strings(domains.c.name, _SEPARATOR))
    .select_from(domain_admins.join(domains, domains.c.id == domain_admins.c.domain_id))
    .where(domain_admins.c.user_id == session_tokens.c.user_id)
    .scalar_subquery()
)
# Everything a session's principal is made of, in one statement: it is read on every
# request of a session-bound API (RMP, Symphony, the console), and it was four.
_OWNER = (
    select(
        session_tokens.c.user_id,
        session_tokens.c.kind,
        session_tokens.c.expires_at,
        session_tokens.c.revoked_at,
        users.c.tenant_id,
        users.c.username,
        users.c.locked,
        _ROLES.label("roles"),
        _ADMIN_OF.label("admin_of"),
        _CHANGE_FLAG.c.value.label("change_required"),
    )
    .join(users, users.c.id == session_tokens.c.user_id)
    .outerjoin(
        _CHANGE_FLAG,
        (_CHANGE_FLAG.c.user_id == users.c.id) & (_CHANGE_FLAG.c.key == CHANGE_REQUIRED),
    )
    .where(session_tokens.c.digest == bindparam("digest"))
)


def _names(joined: str | None) -> list[str]:
    return joined.split(_SEPARATOR) if joined else []


async def owner(tx: Tx, digest: str) -> TokenOwner | None:
    row = (await tx.execute(_OWNER, {"digest": digest})).first()
    if row is None:
        return None
    return TokenOwner(
        row.user_id,
        row.tenant_id,
        row.username,
        row.kind,
        as_utc(row.expires_at),
        row.revoked_at is not None,
        bool(row.locked),
        frozenset(_names(row.roles)),
        tuple(sorted(_names(row.admin_of))),
        row.change_required == "true",
    )


async def insert_token(
    tx: Tx, digest: str, user_id: int, kind: str, now: datetime, expires_at: datetime
) -> None:
    await tx.execute(
        insert(session_tokens).values(
            digest=digest, user_id=user_id, kind=kind, created_at=now, expires_at=expires_at
        )
    )


async def revoke(tx: Tx, digest: str, now: datetime) -> bool:
    done = await tx.execute(
        update(session_tokens)
        .where(session_tokens.c.digest == digest, session_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def revoke_all(tx: Tx, user_id: int, now: datetime, keep: str | None = None) -> None:
    """Every live token of the person, except the one whose digest is `keep`."""
    query = update(session_tokens).where(
        session_tokens.c.user_id == user_id, session_tokens.c.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(session_tokens.c.digest != keep)
    await tx.execute(query.values(revoked_at=now))


async def live_digests(tx: Tx, user_id: int, now: datetime) -> list[str]:
    """The digests of the person's tokens that still let someone in."""
    query = select(session_tokens.c.digest).where(
        session_tokens.c.user_id == user_id,
        session_tokens.c.revoked_at.is_(None),
        session_tokens.c.expires_at > now,
    )
    return sorted(r.digest for r in await tx.execute(query))


async def forget_expired(tx: Tx, before: datetime) -> None:
    await tx.execute(delete(session_tokens).where(session_tokens.c.expires_at < before))


async def keys(tx: Tx, user_id: int) -> dict[str, tuple[str, datetime | None]]:
    query = select(user_keys).where(user_keys.c.user_id == user_id)
    return {
        r.kind: (r.public_key, as_utc(r.expires_at) if r.expires_at else None)
        for r in await tx.execute(query)
    }


async def set_key(
    tx: Tx, user_id: int, kind: str, public_key: str | None, expires_at: datetime | None
) -> None:
    await tx.execute(
        delete(user_keys).where(user_keys.c.user_id == user_id, user_keys.c.kind == kind)
    )
    if public_key is not None:
        await tx.execute(
            insert(user_keys).values(
                user_id=user_id, kind=kind, public_key=public_key, expires_at=expires_at
            )
        )
