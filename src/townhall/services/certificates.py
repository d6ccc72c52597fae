"""Company certificates: the X.509 certificates an organisation trusts or knows.

An administrator registers a certificate as PEM with a friendly name, a type and a
status. Everything else is read from the certificate itself, never taken from the
caller: the fingerprint that names it, the common name of the account it
authenticates, its expiry, and which stored certificate issued it. The issuer link is
kept in both directions: a new certificate points at a stored issuer whose key verifies
its signature, and a new issuer adopts stored certificates it signed that had none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import certificates as store
from townhall.store.certificates import StoredCert
from townhall.store.database import UniqueViolation

if TYPE_CHECKING:  # cryptography is imported where used: most workers never need it
    from cryptography import x509

CERT_TYPES = ("USERSIGNING", "USER", "OPERATIONSSIGNING", "OPERATIONSUSER")
CERT_STATUSES = ("TRUSTED", "KNOWN", "REVOKED", "DISABLED")
MAX_PAGE = 1000
MAX_NAME = 255
MAX_COMMON_NAME = 1023


@dataclass(frozen=True, slots=True)
class CertAttributes:
    """What an administrator chooses; None leaves a value as it is (or, on create,
    takes the default: the subject's common name for the name)."""

    name: str | None = None
    cert_type: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class X509Summary:
    """What the certificate says about itself, for a detailed view. Names are the
    (attribute, value) pairs in the order the certificate encodes them."""

    subject: tuple[tuple[str, str], ...]
    issuer: tuple[tuple[str, str], ...]
    serial_number: int
    signature_algorithm: str
    """The signature algorithm's OID, dotted (`1.2.840.113549.1.1.11`)."""
    not_before: datetime
    not_after: datetime
    key_algorithm: str


@dataclass(frozen=True, slots=True)
class CompanyCert:
    fingerprint: str
    issuer_fingerprint: str | None
    name: str
    cert_type: str
    status: str
    common_name: str
    pod_managed: bool
    expires_at: datetime
    last_seen: datetime | None
    updated_at: datetime
    updated_by: int | None
    x509: X509Summary | None = None
    """Filled for one certificate's details (get, create), not in lists."""


def normalise_fingerprint(raw: str) -> str:
    """Fingerprints are lower-case hex; accept upper case and `:` separators as
    certificate tools print them."""
    return raw.strip().replace(":", "").lower()


def fingerprint_of(cert: x509.Certificate) -> str:
    """SHA-256 of the DER encoding, lower-case hex: what `openssl x509 -fingerprint
    -sha256` prints, minus the colons."""
    from cryptography.hazmat.primitives import hashes

    return cert.fingerprint(hashes.SHA256()).hex()


def parse_pem(pem: str) -> x509.Certificate:
    """Exactly one X.509 certificate in PEM, or Invalid naming `pem`."""
    from cryptography import x509

    try:
        found = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise Invalid("pem", "is not a PEM-encoded X.509 certificate") from None
    if len(found) != 1:
        raise Invalid("pem", f"must hold exactly one certificate, not {len(found)}")
    return found[0]


def _common_name(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID

    found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = found[0].value if found else ""
    return value if isinstance(value, str) else value.decode(errors="replace")


def _pairs(name: x509.Name) -> tuple[tuple[str, str], ...]:
    return tuple(
        (
            a.rfc4514_attribute_name,
            a.value if isinstance(a.value, str) else a.value.decode(errors="replace"),
        )
        for a in name
    )


def _key_algorithm(cert: x509.Certificate) -> str:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return cert.public_key_algorithm_oid.dotted_string
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC"
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    return cert.public_key_algorithm_oid.dotted_string


def summary(cert: x509.Certificate) -> X509Summary:
    return X509Summary(
        subject=_pairs(cert.subject),
        issuer=_pairs(cert.issuer),
        serial_number=cert.serial_number,
        signature_algorithm=cert.signature_algorithm_oid.dotted_string,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_algorithm=_key_algorithm(cert),
    )


def pem_of(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM).decode()


def signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` signed `child`: names match and its key verifies the signature
    (a name alone could be claimed by anyone)."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _check_attributes(attrs: CertAttributes) -> None:
    if attrs.name is not None and not 0 < len(attrs.name.strip()) <= MAX_NAME:
        raise Invalid("cert_name", f"must have 1 to {MAX_NAME} characters")
    if attrs.cert_type is not None and attrs.cert_type not in CERT_TYPES:
        raise Invalid("cert_type", f"must be one of {', '.join(CERT_TYPES)}")
    if attrs.status is not None and attrs.status not in CERT_STATUSES:
        raise Invalid("cert_status", f"must be one of {', '.join(CERT_STATUSES)}")


def _check_page(skip: int, limit: int) -> None:
    if skip < 0:
        raise Invalid("offset", "must not be negative")
    if not 0 < limit <= MAX_PAGE:
        raise Invalid("limit", f"must be between 1 and {MAX_PAGE}")


def _view(stored: StoredCert, with_x509: bool = False) -> CompanyCert:
    return CompanyCert(
        fingerprint=stored.fingerprint,
        issuer_fingerprint=stored.issuer_fingerprint,
        name=stored.name,
        cert_type=stored.cert_type,
        status=stored.status,
        common_name=stored.common_name,
        pod_managed=stored.pod_managed,
        expires_at=stored.expires_at,
        last_seen=stored.last_seen,
        updated_at=stored.updated_at,
        updated_by=stored.updated_by,
        x509=summary(parse_pem(stored.pem)) if with_x509 else None,
    )


class CertificateService(Service):
    async def create(
        self, actor: Principal, pem: str | None, attrs: CertAttributes, reject_expired: bool
    ) -> CompanyCert:
        """Register a certificate; the caller's person is its `updated_by`.

        `reject_expired` is the current rule; the 1.4x operation accepted expired
        certificates, and its callers still may.
        """
        if not pem or not pem.strip():
            raise Invalid("pem", "is required")
        if attrs.cert_type is None:
            raise Invalid("cert_type", f"is required, one of {', '.join(CERT_TYPES)}")
        if attrs.status is None:
            raise Invalid("cert_status", f"is required, one of {', '.join(CERT_STATUSES)}")
        _check_attributes(attrs)
        cert = parse_pem(pem)
        now = self.clock.now()
        try:
            expires = cert.not_valid_after_utc
            common_name = _common_name(cert.subject)
        except ValueError as exc:
            raise Invalid("pem", f"holds an unreadable certificate ({exc})") from None
        if reject_expired and expires <= now:
            raise Invalid("pem", f"holds a certificate that expired at {expires.isoformat()}")
        if len(common_name) > MAX_COMMON_NAME:
            raise Invalid("pem", f"has a subject common name over {MAX_COMMON_NAME} characters")
        fingerprint = fingerprint_of(cert)
        async with self.change(
            actor, "company_cert.created", fingerprint, data={"fingerprint": fingerprint}
        ) as tx:
            await store.lock_tenant(tx, actor.tenant_id)
            stored = [
                (fp, parse_pem(text), issuer)
                for fp, text, issuer in await store.all_pems(tx, actor.tenant_id)
            ]
            if any(fp == fingerprint for fp, _, _ in stored):
                raise AlreadyExists("company_cert", fingerprint)
            # A self-signed root has no issuer but itself; leaving it unlinked keeps
            # the issued-by links a tree a client can walk without meeting the root again.
            self_signed = signed_by(cert, cert)
            issuer = next(
                (fp for fp, other, _ in stored if not self_signed and signed_by(cert, other)),
                None,
            )
            row = StoredCert(
                fingerprint=fingerprint,
                issuer_fingerprint=issuer,
                pem=pem_of(cert),
                name=(attrs.name or "").strip() or common_name or fingerprint,
                cert_type=attrs.cert_type,
                status=attrs.status,
                common_name=common_name,
                pod_managed=False,
                expires_at=expires,
                last_seen=None,
                updated_at=now,
                updated_by=actor.user_id,
            )
            try:
                await store.insert_cert(tx, actor.tenant_id, row)
            except UniqueViolation:
                raise AlreadyExists("company_cert", fingerprint) from None
            orphans = [
                fp
                for fp, other, known in stored
                if known is None and not signed_by(other, other) and signed_by(other, cert)
            ]
            await store.link_issuer(tx, actor.tenant_id, orphans, fingerprint)
        return _view(row, with_x509=True)

    async def get(self, actor: Principal, fingerprint: str) -> CompanyCert:
        async with self.db.read() as tx:
            found = await store.get(tx, actor.tenant_id, normalise_fingerprint(fingerprint))
        if found is None:
            raise NotFound("company_cert", fingerprint)
        return _view(found, with_x509=True)

    async def page(
        self,
        actor: Principal,
        skip: int,
        limit: int,
        *,
        types: Sequence[str] | None = None,
        pod_managed: bool | None = None,
    ) -> list[CompanyCert]:
        """A page of the tenant's certificates in the order they were registered."""
        _check_page(skip, limit)
        for kind in types or ():
            if kind not in CERT_TYPES:
                raise Invalid("cert_type", f"must be one of {', '.join(CERT_TYPES)}")
        if types is not None and not types:
            return []
        async with self.db.read() as tx:
            found = await store.page(
                tx, actor.tenant_id, skip, limit, types=types, pod_managed=pod_managed
            )
        return [_view(c) for c in found]

    async def issued_by(self, actor: Principal, fingerprint: str) -> list[CompanyCert]:
        """Every stored certificate the given one issued (verified by signature)."""
        key = normalise_fingerprint(fingerprint)
        async with self.db.read() as tx:
            if await store.get(tx, actor.tenant_id, key) is None:
                raise NotFound("company_cert", fingerprint)
            found = await store.page(tx, actor.tenant_id, 0, None, issuer=key)
        return [_view(c) for c in found]

    async def update(
        self, actor: Principal, fingerprint: str, attrs: CertAttributes
    ) -> CompanyCert:
        """Change what the administrator chose (the certificate itself never changes);
        choosing what is already chosen changes nothing, not even `updated_by`."""
        _check_attributes(attrs)
        key = normalise_fingerprint(fingerprint)
        async with self.unit(actor) as work:
            current = await store.get(work, actor.tenant_id, key, for_update=True)
            if current is None:
                raise NotFound("company_cert", fingerprint)
            chosen = dataclasses.replace(
                current,
                name=attrs.name.strip() if attrs.name is not None else current.name,
                cert_type=attrs.cert_type or current.cert_type,
                status=attrs.status or current.status,
            )
            if chosen == current:
                return _view(current, with_x509=True)
            now, by = self.clock.now(), actor.user_id
            await store.update_cert(
                work,
                actor.tenant_id,
                key,
                name=chosen.name,
                cert_type=chosen.cert_type,
                status=chosen.status,
                updated_at=now,
                updated_by=by,
            )
            work.record("company_cert.updated", key, {"fingerprint": key})
            return _view(dataclasses.replace(chosen, updated_at=now, updated_by=by), True)

    async def delete(self, actor: Principal, fingerprint: str) -> None:
        """Remove a certificate; those it issued keep existing with no known issuer."""
        key = normalise_fingerprint(fingerprint)
        async with self.change(actor, "company_cert.deleted", key, data={"fingerprint": key}) as tx:
            await store.lock_tenant(tx, actor.tenant_id)
            if await store.get(tx, actor.tenant_id, key) is None:
                raise NotFound("company_cert", fingerprint)
            await store.unlink_issuer(tx, actor.tenant_id, key)
            await store.delete_cert(tx, actor.tenant_id, key)
