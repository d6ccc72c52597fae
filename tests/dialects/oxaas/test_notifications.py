"""Notifications: rendered from the templates in the person's language with the brand's
name, stored in the person's mailbox AND sent through the relay (a real SMTP peer)."""

from __future__ import annotations

import email
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.dialects.oxaas.test_scopes import Brands, _brands, _services
from tests.helpers.mail import MailingServer, mailing_server
from tests.helpers.ox import Ox, context_admin, new_person, refused
from townhall.domain.principal import Principal
from townhall.services.people import NewPerson

PREFIXES = ("/oxaas/v1", "/api/oxaas/v1")


@pytest.fixture(scope="module")
def mailing(
    server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MailingServer]:
    with mailing_server(server.database_url, tmp_path_factory.mktemp("notify")) as running:
        yield running


@pytest.fixture(scope="module")
async def brands(server: RunningServer) -> Brands:
    return await _brands(server.database_url)


def _brand_name(ox: Ox) -> str:
    return str(ox.get("/admin/contexts/1/brand").json()["brandname"])


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_a_welcome_reaches_the_mailbox_and_the_relay(
    mailing: MailingServer, prefix: str
) -> None:
    ox = context_admin(mailing.server, prefix)
    uid, name = new_person(mailing.server)
    address = f"{name}@example.org"
    sent = ox.post(f"/admin/notifications/{uid}@1/welcome")
    assert sent.status_code == 200, sent.text
    rendered = email.message_from_string(sent.json()["mail"])
    brand = _brand_name(ox)
    assert rendered["Subject"] == f"Welcome to {brand}"
    assert rendered["To"] == address and rendered["Content-Language"] == "en"
    assert address in rendered.get_payload(decode=True).decode()
    stored = await mailing.store.messages(address)
    assert len(stored) == 1 and f"Welcome to {brand}".encode() in stored[0]
    relayed = mailing.relay.wait_for(address)
    assert relayed.recipients == [address]
    assert relayed.message["Message-ID"] == rendered["Message-ID"]


async def test_the_persons_language_is_used_where_known(mailing: MailingServer) -> None:
    name = unique("greta")
    async with _services(mailing.server.database_url) as services:
        first = await services.tenants.first()
        assert first is not None
        made = await services.people.create(
            Principal.system(first),
            NewPerson(
                name,
                "pw-1234567",
                name="Greta",
                email=f"{name}@example.org",
                profile={"recommended_language": "de-DE"},
            ),
        )
    ox = context_admin(mailing.server)
    sent = ox.post(f"/admin/notifications/{made.id}@1/overquota", json={"quota_threshold": 1000})
    assert sent.status_code == 200, sent.text
    rendered = email.message_from_string(sent.json()["mail"])
    assert rendered["Subject"] == f"Ihr Postfach bei {_brand_name(ox)} ist fast voll"
    body = rendered.get_payload(decode=True).decode()
    assert "Hallo Greta" in body and "1000" in body
    assert len(await mailing.store.messages(f"{name}@example.org")) == 1


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_kind_renders(mailing: MailingServer, prefix: str) -> None:
    ox = context_admin(mailing.server, prefix)
    uid, _ = new_person(mailing.server)
    for path, body, words in (
        ("overquota", {"quota_threshold": 250}, ("nearly full", "250")),
        ("overquota/filestore", None, ("file storage",)),
        ("spamdisabled", None, ("disabled", "spam")),
    ):
        sent = ox.post(f"/admin/notifications/{uid}@1/{path}", json=body)
        assert sent.status_code == 200, (path, sent.text)
        rendered = email.message_from_string(sent.json()["mail"])
        text = f"{rendered['Subject']}\n{rendered.get_payload(decode=True).decode()}"
        for word in words:
            assert word in text, (path, word)


def test_a_person_without_an_address_gets_the_plain_400(mailing: MailingServer) -> None:
    name = unique("noaddress")
    made = requests.post(
        f"{mailing.server.api}/users",
        json={"username": name, "password": "pw-1234567"},
        auth=("admin", ADMIN_PASSWORD),
    )
    assert made.status_code == 201, made.text
    ox = context_admin(mailing.server)
    uid = ox.get("/admin/contexts/1/users", params={"uids": name}).json()[name]["user-id"]
    for prefix in PREFIXES:
        answer = context_admin(mailing.server, prefix).post(f"/admin/notifications/{uid}@1/welcome")
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.text == f"{uid}@1 has no primary mail address"


async def test_bad_requests_are_refused_naming_the_field(mailing: MailingServer) -> None:
    ox = context_admin(mailing.server)
    uid, name = new_person(mailing.server)
    before = len(mailing.relay.received)
    refused(ox.post(f"/admin/notifications/{uid}@1/overquota"), 400, "quota_threshold")
    bad = {"quota_threshold": "lots"}
    refused(ox.post(f"/admin/notifications/{uid}@1/overquota", json=bad), 400, "quota_threshold")
    refused(ox.post(f"/admin/notifications/{uid}/welcome"), 400, "usercontext")
    refused(ox.post(f"/admin/notifications/x{uid}@1/welcome"), 400, "userid")
    refused(ox.post(f"/admin/notifications/{uid}@one/welcome"), 400, "contextid")
    refused(ox.post("/admin/notifications/999999@1/welcome"), 404, "user 999999")
    refused(ox.post(f"/admin/notifications/{uid}@999999/welcome"), 404, "context")
    assert len(mailing.relay.received) == before
    assert await mailing.store.messages(f"{name}@example.org") == []


@pytest.mark.parametrize("prefix", PREFIXES)
def test_context_admins_and_their_brand_admins_pass_no_one_else(
    mailing: MailingServer, brands: Brands, prefix: str
) -> None:
    """Past the guard, a user who is not there is a 404; refused, a 401."""
    path = f"/admin/notifications/999999@{brands.context}/welcome"
    for allowed in (brands.context_admin, brands.sub_admin, brands.top_admin):
        refused(Ox(mailing.server, allowed, prefix).post(path), 404, "user")
    for outsider in (brands.other_admin, ("admin", ADMIN_PASSWORD)):
        refused(Ox(mailing.server, outsider, prefix).post(path), 401)
    refused(
        Ox(mailing.server, brands.context_admin, prefix).post("/admin/notifications/1@1/welcome"),
        401,
    )
