"""Symphony company certificates: `/pod/v1/companycert/*` and `/pod/v2/companycert/create`.

The certificates are made here with `cryptography`: a CA, certificates it issues, an
impostor CA with the same name but another key, and an expired certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.conftest import RunningServer, unique
from tests.helpers.symphony import Bot, make_bot, session_token
from townhall.services.container import Services

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class Made:
    pem: str
    fingerprint: str
    cn: str
    name: x509.Name
    key: Key
    not_after: datetime


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Townhall Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_cert(
    cn: str | None = None,
    issuer: Made | None = None,
    ca: bool = False,
    expired: bool = False,
    rsa_key: bool = False,
    subject: x509.Name | None = None,
) -> Made:
    """A certificate for `cn`, signed by `issuer` (self-signed without one)."""
    cn = cn or unique("cert")
    key: Key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    now = datetime.now(UTC).replace(microsecond=0)
    if expired:
        start, end = now - timedelta(days=60), now - timedelta(days=1)
    else:
        start, end = now, now + timedelta(days=90)
    name = subject or _name(cn)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.name if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - timedelta(minutes=1))
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer.key if issuer else key, hashes.SHA256())
    )
    return Made(
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        cn=cn,
        name=name,
        key=key,
        not_after=end,
    )


def _body(made: Made, kind: str = "USER", status: str = "TRUSTED", name: str | None = None) -> Any:
    attributes = {"name": made.cn if name is None else name, "type": {"type": kind}}
    return {"pem": made.pem, "attributes": {**attributes, "status": {"type": status}}}


@pytest.fixture
def headers(server: RunningServer, admin_bot: Bot) -> dict[str, str]:
    return {"sessionToken": session_token(server, admin_bot)}


def _pod(server: RunningServer) -> str:
    return f"{server.url}/pod/v1/companycert"


def _all(server: RunningServer, headers: dict[str, str]) -> dict[str, Any]:
    r = requests.get(f"{_pod(server)}/list", headers=headers)
    assert r.status_code == 200, r.text
    return {c["companyCertInfo"]["fingerPrint"]: c for c in r.json()}


async def test_create_chain_update_and_delete_with_the_bdk(bdk: Any, admin_bot: Bot) -> None:
    from symphony.bdk.gen.pod_api.security_api import SecurityApi
    from symphony.bdk.gen.pod_model.company_cert import CompanyCert
    from symphony.bdk.gen.pod_model.company_cert_attributes import CompanyCertAttributes
    from symphony.bdk.gen.pod_model.company_cert_status import CompanyCertStatus
    from symphony.bdk.gen.pod_model.company_cert_type import CompanyCertType
    from symphony.bdk.gen.pod_model.string_id import StringId

    api = SecurityApi(bdk._pod_client)
    token = await bdk.bot_session().session_token

    def cert(made: Made, kind: str) -> CompanyCert:
        return CompanyCert(
            pem=made.pem,
            attributes=CompanyCertAttributes(
                name=f"friendly {made.cn}",
                type=CompanyCertType(type=kind),
                status=CompanyCertStatus(type="KNOWN"),
            ),
        )

    ca = make_cert(unique("ca"), ca=True, rsa_key=True)
    impostor = make_cert(subject=ca.name, ca=True)  # same name, another key
    leaf = make_cert(unique("bot"), issuer=ca)

    # The leaf first: its issuer is not known yet.
    detail = await api.v2_companycert_create_post(token, cert(leaf, "USER"))
    info = detail.company_cert_info
    assert info.finger_print == leaf.fingerprint
    assert info.issuer_finger_print is None
    assert info.common_name == leaf.cn
    assert info.expiry_date == int(leaf.not_after.timestamp() * 1000)
    assert info.updated_by == admin_bot.uid
    assert detail.company_cert_attributes.name == f"friendly {leaf.cn}"
    assert detail.company_cert_attributes.type.type == "USER"
    assert detail.company_cert_attributes.status.type == "KNOWN"
    general = {a.name: a.value for a in detail.cert_info[0].attributes}
    assert general["Issuer"] == f"C=US O=Townhall Tests CN={ca.cn}"
    assert general["Subject"] == f"C=US O=Townhall Tests CN={leaf.cn}"
    assert general["Signature Algorithm"] == "SHA256withRSA"

    # An impostor with the CA's name but not its key does not adopt the leaf...
    await api.v2_companycert_create_post(token, cert(impostor, "USERSIGNING"))
    got = await api.v1_companycert_finger_print_get_get(leaf.fingerprint, token)
    assert got.company_cert_info.issuer_finger_print is None
    # ...the real CA does, and a certificate it issues later links to it at once.
    created = await api.v2_companycert_create_post(token, cert(ca, "USERSIGNING"))
    assert created.company_cert_info.issuer_finger_print is None  # self-signed root
    got = await api.v1_companycert_finger_print_get_get(leaf.fingerprint, token)
    assert got.company_cert_info.issuer_finger_print == ca.fingerprint
    second = make_cert(unique("bot"), issuer=ca)
    made = await api.v2_companycert_create_post(token, cert(second, "USER"))
    assert made.company_cert_info.issuer_finger_print == ca.fingerprint
    issued = await api.v1_companycert_finger_print_issued_by_get(ca.fingerprint, token)
    assert [c.company_cert_info.finger_print for c in issued] == [
        leaf.fingerprint,
        second.fingerprint,
    ]
    assert await api.v1_companycert_finger_print_issued_by_get(impostor.fingerprint, token) == []

    # Listing, by type and pod-managed.
    everything = {
        c.company_cert_info.finger_print for c in await api.v1_companycert_list_get(token)
    }
    assert {ca.fingerprint, impostor.fingerprint, leaf.fingerprint} <= everything
    signing = await api.v1_companycert_type_list_post(token, [CompanyCertType(type="USERSIGNING")])
    signing_prints = {c.company_cert_info.finger_print for c in signing}
    assert {ca.fingerprint, impostor.fingerprint} <= signing_prints
    assert leaf.fingerprint not in signing_prints
    managed = await api.v1_companycert_podmanaged_list_get(token)
    assert leaf.fingerprint not in {c.company_cert_info.finger_print for c in managed}

    # Update changes only what is sent.
    await api.v1_companycert_finger_print_update_post(
        leaf.fingerprint,
        token,
        CompanyCertAttributes(status=CompanyCertStatus(type="REVOKED")),
    )
    got = await api.v1_companycert_finger_print_get_get(leaf.fingerprint, token)
    assert got.company_cert_attributes.status.type == "REVOKED"
    assert got.company_cert_attributes.type.type == "USER"
    assert got.company_cert_attributes.name == f"friendly {leaf.cn}"

    # Deleting the CA leaves what it issued with no known issuer.
    done = await api.v1_companycert_delete_post(token, StringId(id=ca.fingerprint))
    assert done.message
    got = await api.v1_companycert_finger_print_get_get(leaf.fingerprint, token)
    assert got.company_cert_info.issuer_finger_print is None
    from symphony.bdk.gen.exceptions import BadRequestException

    with pytest.raises(BadRequestException):
        await api.v1_companycert_finger_print_get_get(ca.fingerprint, token)


def test_expired_certificates_per_version(server: RunningServer, headers: dict[str, str]) -> None:
    old = make_cert(unique("old"), expired=True)
    before = _all(server, headers)
    r = requests.post(f"{server.url}/pod/v2/companycert/create", json=_body(old), headers=headers)
    assert r.status_code == 400
    assert r.json()["code"] == 400 and r.json()["message"].startswith("pem:")
    assert "expired" in r.json()["message"]
    assert _all(server, headers).keys() == before.keys()
    # The 1.4x operation still accepts it, and answers a SuccessResponse.
    r = requests.post(f"{_pod(server)}/create", json=_body(old), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"format": "TEXT", "message": "OK"}
    got = requests.get(f"{_pod(server)}/{old.fingerprint}/get", headers=headers).json()
    assert got["companyCertInfo"]["expiryDate"] == int(old.not_after.timestamp() * 1000)
    assert got["companyCertInfo"]["expiryDate"] < int(datetime.now(UTC).timestamp() * 1000)


def test_bad_input_changes_nothing(server: RunningServer, headers: dict[str, str]) -> None:
    create = f"{server.url}/pod/v2/companycert/create"
    good = make_cert(unique("good"))
    before = _all(server, headers)

    def refused(r: requests.Response, field: str) -> None:
        assert r.status_code == 400, r.text
        assert r.json()["code"] == 400
        assert r.json()["message"].startswith(f"{field}"), r.json()

    refused(requests.post(create, json={**_body(good), "pem": "not a pem"}, headers=headers), "pem")
    broken = good.pem.replace(good.pem.splitlines()[3], "A" * 64)
    refused(requests.post(create, json={**_body(good), "pem": broken}, headers=headers), "pem")
    two = good.pem + make_cert().pem
    refused(requests.post(create, json={**_body(good), "pem": two}, headers=headers), "pem")
    refused(
        requests.post(create, json={"attributes": _body(good)["attributes"]}, headers=headers),
        "pem",
    )
    no_type = _body(good)
    del no_type["attributes"]["type"]
    refused(requests.post(create, json=no_type, headers=headers), "type")
    refused(requests.post(create, json=_body(good, kind="ROOT"), headers=headers), "type")
    refused(requests.post(create, json=_body(good, status="FINE"), headers=headers), "status")
    refused(requests.post(create, json=_body(good, name=""), headers=headers), "name")
    refused(requests.post(create, data=b"{", headers=headers), "Malformed")
    assert _all(server, headers).keys() == before.keys()

    assert requests.post(create, json=_body(good), headers=headers).status_code == 200
    r = requests.post(create, json=_body(good), headers=headers)
    assert r.status_code == 400 and "already exists" in r.json()["message"]

    base = _pod(server)
    update = f"{base}/{good.fingerprint}/update"
    refused(requests.post(update, json={"type": {"type": "ROOT"}}, headers=headers), "type")
    refused(
        requests.post(update, json={"name": "x", "status": {"type": "NO"}}, headers=headers),
        "status",
    )
    got = requests.get(f"{base}/{good.fingerprint}/get", headers=headers).json()
    assert got["companyCertAttributes"] == {
        "name": good.cn,
        "type": {"type": "USER"},
        "status": {"type": "TRUSTED"},
    }
    missing = "ab" * 32
    r = requests.get(f"{base}/{missing}/get", headers=headers)
    assert r.status_code == 400 and missing in r.json()["message"]
    assert requests.get(f"{base}/{missing}/issuedBy", headers=headers).status_code == 400
    assert requests.post(f"{base}/{missing}/update", json={}, headers=headers).status_code == 400
    r = requests.post(f"{base}/delete", json={"id": missing}, headers=headers)
    assert r.status_code == 400
    refused(requests.post(f"{base}/delete", json={}, headers=headers), "id")
    refused(requests.post(f"{base}/type/list", json=[{"type": "ROOT"}], headers=headers), "type")
    refused(
        requests.post(f"{base}/type/list", json={"type": "USER"}, headers=headers), "typeIdList"
    )
    refused(requests.get(f"{base}/list", params={"limit": 0}, headers=headers), "limit")
    refused(requests.get(f"{base}/list", params={"skip": -1}, headers=headers), "skip")
    refused(requests.get(f"{base}/list", params={"limit": "x"}, headers=headers), "limit")
    managed = f"{base}/podmanaged/list"
    refused(requests.get(managed, params={"skip": "1.5"}, headers=headers), "skip")
    assert good.fingerprint in _all(server, headers)


def test_fingerprint_spellings_and_paging(server: RunningServer, headers: dict[str, str]) -> None:
    base = _pod(server)
    made = [make_cert() for _ in range(3)]
    for m in made:
        assert requests.post(f"{base}/create", json=_body(m), headers=headers).status_code == 200
    # As certificate tools print it: upper case with colons.
    shown = ":".join(made[0].fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    r = requests.get(f"{base}/{shown}/get", headers=headers)
    assert (
        r.status_code == 200 and r.json()["companyCertInfo"]["fingerPrint"] == made[0].fingerprint
    )
    everything = requests.get(f"{base}/list", headers=headers).json()
    pages: list[Any] = []
    skip = 0
    while True:
        page = requests.get(
            f"{base}/list", params={"skip": skip, "limit": 2}, headers=headers
        ).json()
        assert len(page) <= 2
        pages += page
        if len(page) < 2:
            break
        skip += 2
    assert pages == everything
    assert [m.fingerprint for m in made] == [
        c["companyCertInfo"]["fingerPrint"]
        for c in everything
        if c["companyCertInfo"]["fingerPrint"] in {m.fingerprint for m in made}
    ]
    typed = requests.post(
        f"{base}/type/list", params={"limit": 1}, json=[{"type": "USER"}], headers=headers
    )
    assert typed.status_code == 200 and len(typed.json()) == 1
    assert requests.post(f"{base}/type/list", json=[], headers=headers).json() == []


async def test_roles_and_sessions(server: RunningServer, services: Services) -> None:
    base = _pod(server)
    provisioner = await make_bot(services, frozenset({"USER_PROVISIONING"}))
    weak = {"sessionToken": session_token(server, provisioner)}
    made = make_cert()
    r = requests.post(f"{server.url}/pod/v2/companycert/create", json=_body(made), headers=weak)
    assert r.status_code == 403 and r.json()["code"] == 403
    assert requests.get(f"{base}/list", headers=weak).status_code == 403
    assert requests.get(f"{base}/{made.fingerprint}/get", headers=weak).status_code == 403
    assert requests.get(f"{base}/list").status_code == 401
    admin = await make_bot(services, frozenset({"SUPER_ADMINISTRATOR"}))
    strong = {"sessionToken": session_token(server, admin)}
    assert made.fingerprint not in _all(server, strong)
    r = requests.post(f"{server.url}/pod/v2/companycert/create", json=_body(made), headers=strong)
    assert r.status_code == 200, r.text
    # Audited under the admin who made it; the refused attempt left no trace.
    from townhall.domain.principal import Principal

    actor = Principal(await services.tenants.first())
    mine = await services.audit.entries(actor, username=admin.username)
    certs = [e.summary for e in mine if e.summary.startswith("company_cert.")]
    assert certs == [f"company_cert.created: {made.fingerprint}"]
    theirs = await services.audit.entries(actor, username=provisioner.username)
    assert not [e for e in theirs if e.summary.startswith("company_cert.")]


async def test_an_update_that_changes_nothing_records_nothing(services: Services) -> None:
    from townhall.domain.events import DomainEvent
    from townhall.domain.principal import Principal
    from townhall.services.certificates import CertAttributes

    actor = Principal.system(await services.tenants.first(), "tester")
    made = make_cert()
    created = await services.certificates.create(
        actor, made.pem, CertAttributes(" Same ", "USER", "KNOWN"), reject_expired=True
    )
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    same = await services.certificates.update(
        actor, made.fingerprint.upper(), CertAttributes("Same", "USER")
    )
    assert same == created and heard == []
    changed = await services.certificates.update(
        actor, made.fingerprint, CertAttributes(status="REVOKED")
    )
    assert (changed.name, changed.cert_type, changed.status) == ("Same", "USER", "REVOKED")
    assert changed.updated_at >= created.updated_at and changed.x509 == created.x509
    assert changed == await services.certificates.get(actor, made.fingerprint)
    assert [(e.topic, e.data) for e in heard] == [
        ("company_cert.updated", {"fingerprint": made.fingerprint})
    ]
