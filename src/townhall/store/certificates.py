"""Company certificates: X.509 certificates a tenant trusts or knows (Symphony's
company certs), keyed by fingerprint within the tenant.

The PEM is kept as sent; what the service derives from it (fingerprint, issuer link,
common name, expiry) is stored in columns so lists and the issuer chain are plain
indexed queries rather than a parse of every certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, insert, select, update

from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import company_certs, tenants


@dataclass(frozen=True, slots=True)
class StoredCert:
    """One row of `company_certs`, as the service sees it."""

    fingerprint: str
    issuer_fingerprint: str | None
    pem: str
    name: str
    cert_type: str
    status: str
    common_name: str
    pod_managed: bool
    expires_at: datetime
    last_seen: datetime | None
    updated_at: datetime
    updated_by: int | None


def _cert(row: Any) -> StoredCert:
    return StoredCert(
        fingerprint=row.fingerprint,
        issuer_fingerprint=row.issuer_fingerprint,
        pem=row.pem,
        name=row.name,
        cert_type=row.cert_type,
        status=row.status,
        common_name=row.common_name,
        pod_managed=bool(row.pod_managed),
        expires_at=as_utc(row.expires_at),
        last_seen=as_utc(row.last_seen) if row.last_seen is not None else None,
        updated_at=as_utc(row.updated_at),
        updated_by=row.updated_by,
    )


def _of_tenant(tenant_id: int) -> Select[Any]:
    # Ordered by insertion so skip/limit pages are stable between calls.
    return (
        select(company_certs)
        .where(company_certs.c.tenant_id == tenant_id)
        .order_by(company_certs.c.id)
    )


async def get(
    tx: Tx, tenant_id: int, fingerprint: str, for_update: bool = False
) -> StoredCert | None:
    """The certificate; `for_update` locks its row until the transaction ends (FOR
    UPDATE on PostgreSQL; SQLite's write transactions are serial anyway)."""
    query = _of_tenant(tenant_id).where(company_certs.c.fingerprint == fingerprint)
    row = (await tx.execute(query.with_for_update() if for_update else query)).first()
    return _cert(row) if row is not None else None


async def page(
    tx: Tx,
    tenant_id: int,
    skip: int,
    limit: int | None,
    *,
    types: Sequence[str] | None = None,
    pod_managed: bool | None = None,
    issuer: str | None = None,
) -> list[StoredCert]:
    """A page of the tenant's certificates, optionally only those of the given types,
    pod-managed ones, or those issued by the certificate `issuer` (a fingerprint);
    `limit` None: all of them."""
    query = _of_tenant(tenant_id)
    if types is not None:
        query = query.where(company_certs.c.cert_type.in_(list(types)))
    if pod_managed is not None:
        query = query.where(company_certs.c.pod_managed == pod_managed)
    if issuer is not None:
        query = query.where(company_certs.c.issuer_fingerprint == issuer)
    return [_cert(r) for r in await tx.execute(query.offset(skip).limit(limit))]


async def all_pems(tx: Tx, tenant_id: int) -> list[tuple[str, str, str | None]]:
    """(fingerprint, pem, issuer fingerprint) of every certificate of the tenant: the
    service matches issuers by signature, which only the certificates themselves tell."""
    query = select(
        company_certs.c.fingerprint, company_certs.c.pem, company_certs.c.issuer_fingerprint
    ).where(company_certs.c.tenant_id == tenant_id)
    return [
        (r.fingerprint, r.pem, r.issuer_fingerprint)
        for r in await tx.execute(query.order_by(company_certs.c.id))
    ]


async def insert_cert(tx: Tx, tenant_id: int, cert: StoredCert) -> None:
    """Raises UniqueViolation if the tenant already has this fingerprint."""
    await tx.execute(
        insert(company_certs).values(
            tenant_id=tenant_id,
            fingerprint=cert.fingerprint,
            issuer_fingerprint=cert.issuer_fingerprint,
            pem=cert.pem,
            name=cert.name,
            cert_type=cert.cert_type,
            status=cert.status,
            common_name=cert.common_name,
            pod_managed=cert.pod_managed,
            expires_at=cert.expires_at,
            last_seen=cert.last_seen,
            updated_at=cert.updated_at,
            updated_by=cert.updated_by,
        )
    )


async def update_cert(tx: Tx, tenant_id: int, fingerprint: str, **values: Any) -> None:
    await tx.execute(
        update(company_certs)
        .where(company_certs.c.tenant_id == tenant_id, company_certs.c.fingerprint == fingerprint)
        .values(**values)
    )


async def link_issuer(
    tx: Tx, tenant_id: int, fingerprints: Sequence[str], issuer: str | None
) -> None:
    """Point these certificates at `issuer` (None: their issuer is no longer known)."""
    if not fingerprints:
        return
    await tx.execute(
        update(company_certs)
        .where(
            company_certs.c.tenant_id == tenant_id,
            company_certs.c.fingerprint.in_(list(fingerprints)),
        )
        .values(issuer_fingerprint=issuer)
    )


async def unlink_issuer(tx: Tx, tenant_id: int, issuer: str) -> None:
    """Forget `issuer` as the issuer of every certificate it issued (it is being deleted)."""
    await tx.execute(
        update(company_certs)
        .where(
            company_certs.c.tenant_id == tenant_id,
            company_certs.c.issuer_fingerprint == issuer,
        )
        .values(issuer_fingerprint=None)
    )


async def delete_cert(tx: Tx, tenant_id: int, fingerprint: str) -> None:
    await tx.execute(
        delete(company_certs).where(
            company_certs.c.tenant_id == tenant_id, company_certs.c.fingerprint == fingerprint
        )
    )


async def lock_tenant(tx: Tx, tenant_id: int) -> None:
    """Serialise certificate writes of one tenant across processes.

    Issuer links are worked out from the certificates already stored; two certificates
    of one chain created at once in separate transactions would otherwise not see each
    other and stay unlinked. PostgreSQL: `FOR NO KEY UPDATE` on the tenant row (it does
    not block inserts elsewhere that only reference the tenant); SQLite has one writer
    anyway and ignores the clause.
    """
    await tx.execute(
        select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update(key_share=True)
    )
