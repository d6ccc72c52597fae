"""Company certificates (contract §1.8, Security): `/v1/companycert/*` and the current
`/v2/companycert/create`.

The wire wraps each enum in an object (`{"type": {"type": "USER"}}`); this module
unwraps it for the service and wraps it again on the way out, and renders the
certificate's own facts as Symphony's `certInfo` sections.
"""

from __future__ import annotations

import functools
from datetime import datetime

import msgspec
from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain import roles as role_names
from townhall.domain.principal import Principal
from townhall.services.certificates import (
    MAX_PAGE,
    CertAttributes,
    CertificateService,
    CompanyCert,
    X509Summary,
)

from .. import kit, unstorable
from ..documents import wire
from . import models as m
from .http import AnyRequest, SymphonyError, body, ok, page_params, refuse_deep, role_guard

cert_admins = role_guard(frozenset({role_names.SUPER_ADMINISTRATOR, role_names.ADMINISTRATOR}))
"""Certificates decide who may authenticate, so user provisioning is not enough."""


@functools.cache
def _signatures() -> dict[str, str]:
    """Signature algorithms by OID, in Java's names (the ones Symphony shows); any other
    is shown as its dotted OID. Built on first use: cryptography is large."""
    from cryptography.x509.oid import SignatureAlgorithmOID

    return {
        SignatureAlgorithmOID.RSA_WITH_SHA1.dotted_string: "SHA1withRSA",
        SignatureAlgorithmOID.RSA_WITH_SHA224.dotted_string: "SHA224withRSA",
        SignatureAlgorithmOID.RSA_WITH_SHA256.dotted_string: "SHA256withRSA",
        SignatureAlgorithmOID.RSA_WITH_SHA384.dotted_string: "SHA384withRSA",
        SignatureAlgorithmOID.RSA_WITH_SHA512.dotted_string: "SHA512withRSA",
        SignatureAlgorithmOID.RSASSA_PSS.dotted_string: "RSASSA-PSS",
        SignatureAlgorithmOID.ECDSA_WITH_SHA1.dotted_string: "SHA1withECDSA",
        SignatureAlgorithmOID.ECDSA_WITH_SHA224.dotted_string: "SHA224withECDSA",
        SignatureAlgorithmOID.ECDSA_WITH_SHA256.dotted_string: "SHA256withECDSA",
        SignatureAlgorithmOID.ECDSA_WITH_SHA384.dotted_string: "SHA384withECDSA",
        SignatureAlgorithmOID.ECDSA_WITH_SHA512.dotted_string: "SHA512withECDSA",
        SignatureAlgorithmOID.DSA_WITH_SHA1.dotted_string: "SHA1withDSA",
        SignatureAlgorithmOID.DSA_WITH_SHA256.dotted_string: "SHA256withDSA",
        SignatureAlgorithmOID.ED25519.dotted_string: "Ed25519",
        SignatureAlgorithmOID.ED448.dotted_string: "Ed448",
    }


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _page(request: AnyRequest) -> tuple[int, int]:
    """`skip` and `limit` from the query (the spec gives no defaults: all, up to the
    service's largest page), a 400 naming the one that is not an integer; the service
    checks the range."""
    q, low, high = request.query_params, unstorable.INT64_MIN, unstorable.INT64_MAX
    return (
        kit.integer(q.get("skip"), "skip", 0, low, high),
        kit.integer(q.get("limit"), "limit", MAX_PAGE, low, high),
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _java_date(moment: datetime) -> str:
    """Java's `Date.toString()` in UTC, as Symphony shows validity dates; spelt out
    rather than `strftime` so the server's locale cannot change it."""
    return (
        f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment:%d %H:%M:%S} UTC "
        f"{moment.year}"
    )


def _dn(pairs: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{name}={value}" for name, value in pairs)


def _attributes(cert: CompanyCert) -> m.CompanyCertAttributes:
    return m.CompanyCertAttributes(
        name=cert.name,
        type=m.CompanyCertType(type=cert.cert_type),
        status=m.CompanyCertStatus(type=cert.status),
    )


def _info(cert: CompanyCert) -> m.CompanyCertInfo:
    return m.CompanyCertInfo(
        finger_print=cert.fingerprint,
        issuer_finger_print=cert.issuer_fingerprint,
        last_seen=_ms(cert.last_seen) if cert.last_seen else None,
        updated_at=_ms(cert.updated_at),
        updated_by=cert.updated_by,
        common_name=cert.common_name,
        expiry_date=_ms(cert.expires_at),
    )


def _cert_info(x: X509Summary) -> list[m.CertInfoItem]:
    def section(name: str, pairs: list[tuple[str, str]]) -> m.CertInfoItem:
        return m.CertInfoItem(
            name=name, attributes=[m.NameValuePair(name=k, value=v) for k, v in pairs]
        )

    return [
        section(
            "General",
            [
                ("Issuer", _dn(x.issuer)),
                ("Subject", _dn(x.subject)),
                ("Serial Number", format(x.serial_number, "x")),
                (
                    "Signature Algorithm",
                    _signatures().get(x.signature_algorithm, x.signature_algorithm),
                ),
            ],
        ),
        section(
            "Validity",
            [("Not Before", _java_date(x.not_before)), ("Not After", _java_date(x.not_after))],
        ),
        section("Public Key", [("Algorithm", x.key_algorithm), ("Format", "X.509")]),
    ]


def _item(cert: CompanyCert) -> m.CompanyCertInfoItem:
    return m.CompanyCertInfoItem(
        company_cert_attributes=_attributes(cert), company_cert_info=_info(cert)
    )


def _detail(cert: CompanyCert) -> m.CompanyCertDetail:
    return m.CompanyCertDetail(
        company_cert_attributes=_attributes(cert),
        company_cert_info=_info(cert),
        cert_info=_cert_info(cert.x509) if cert.x509 else None,
    )


def _wanted(attrs: m.CompanyCertAttributes | None) -> CertAttributes:
    if attrs is None:
        return CertAttributes()
    return CertAttributes(
        name=attrs.name,
        cert_type=attrs.type.type if attrs.type else None,
        status=attrs.status.type if attrs.status else None,
    )


async def _create(
    request: AnyRequest, certificates: CertificateService, principal: Principal, current: bool
) -> CompanyCert:
    wanted = await body(request, m.CompanyCert)
    attrs = _wanted(wanted.attributes)
    return await certificates.create(principal, wanted.pem, attrs, reject_expired=current)


@post(
    "/v1/companycert/create",
    status_code=200,
    guards=[cert_admins],
    opt=wire(m.CompanyCert, answers={200: m.SuccessResponse}),
)
async def create_v1(
    request: AnyRequest,
    certificates: NamedDependency[CertificateService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """The 1.4x operation: expired certificates are still accepted."""
    await _create(request, certificates, principal, current=False)
    return ok(m.SuccessResponse())


@post(
    "/v2/companycert/create",
    status_code=200,
    guards=[cert_admins],
    opt=wire(m.CompanyCert, answers={200: m.CompanyCertDetail}),
)
async def create_v2(
    request: AnyRequest,
    certificates: NamedDependency[CertificateService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(_detail(await _create(request, certificates, principal, current=True)))


LISTED = wire(params=page_params(MAX_PAGE), answers={200: list[m.CompanyCertInfoItem]})


@get("/v1/companycert/list", guards=[cert_admins], opt=LISTED)
async def list_all(
    request: AnyRequest,
    certificates: NamedDependency[CertificateService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    found = await certificates.page(principal, *_page(request))
    return ok([_item(c) for c in found])


@get("/v1/companycert/podmanaged/list", guards=[cert_admins], opt=LISTED)
async def list_pod_managed(
    request: AnyRequest,
    certificates: NamedDependency[CertificateService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    found = await certificates.page(principal, *_page(request), pod_managed=True)
    return ok([_item(c) for c in found])


@post(
    "/v1/companycert/type/list",
    status_code=200,
    guards=[cert_admins],
    opt=wire(
        list[m.CompanyCertType],
        params=page_params(MAX_PAGE),
        answers={200: list[m.CompanyCertInfoItem]},
    ),
)
async def list_of_types(
    request: AnyRequest,
    certificates: NamedDependency[CertificateService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    skip, limit = _page(request)
    raw = await request.body()
    refuse_deep(raw)
    try:
        kinds = msgspec.json.decode(raw, type=list[m.CompanyCertType])
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SymphonyError(400, f"typeIdList: a JSON array of types is required ({exc})") from None
    if any(k.type is None for k in kinds):
        raise SymphonyError(400, "type: every item of typeIdList needs a type")
    types = [k.type for k in kinds if k.type is not None]
    found = await certificates.page(principal, skip, limit, types=types)
    return ok([_item(c) for c in found])


@get(
    "/v1/companycert/{fingerPrint:str}/get",
    guards=[cert_admins],
    opt=wire(answers={200: m.CompanyCertDetail}),
)
async def get_one(
    fingerPrint: FromPath[str],
    certificates: NamedDependency[CertificateService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(_detail(await certificates.get(principal, fingerPrint)))


@get(
    "/v1/companycert/{fingerPrint:str}/issuedBy",
    guards=[cert_admins],
    opt=wire(answers={200: list[m.CompanyCertInfoItem]}),
)
async def issued_by(
    fingerPrint: FromPath[str],
    certificates: NamedDependency[CertificateService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok([_item(c) for c in await certificates.issued_by(principal, fingerPrint)])


@post(
    "/v1/companycert/{fingerPrint:str}/update",
    status_code=200,
    guards=[cert_admins],
    opt=wire(m.CompanyCertAttributes, answers={200: m.SuccessResponse}),
)
async def update(
    request: AnyRequest,
    fingerPrint: FromPath[str],
    certificates: NamedDependency[CertificateService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    wanted = await body(request, m.CompanyCertAttributes)
    await certificates.update(principal, fingerPrint, _wanted(wanted))
    return ok(m.SuccessResponse())


@post(
    "/v1/companycert/delete",
    status_code=200,
    guards=[cert_admins],
    opt=wire(m.CompanyCertFingerPrint, answers={200: m.SuccessResponse}),
)
async def delete(
    request: AnyRequest,
    certificates: NamedDependency[CertificateService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    wanted = await body(request, m.CompanyCertFingerPrint)
    if not wanted.id:
        raise SymphonyError(400, "id: the fingerprint of the certificate is required")
    await certificates.delete(principal, wanted.id)
    return ok(m.SuccessResponse())


router = Router(
    path="/",
    route_handlers=[
        create_v1,
        create_v2,
        list_all,
        list_pod_managed,
        list_of_types,
        get_one,
        issued_by,
        update,
        delete,
    ],
)
