"""Mail really flows through the embedded receiver: forwards and lists made through the
OX API decide, at RCPT time, what `smtplib` may send and where it lands."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import (
    ADMIN_PASSWORD,
    RunningServer,
    _free_port,
    start_server,
    stop_server,
    unique,
)
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.mail import mailing_server, send
from tests.helpers.ox import context_admin, new_person
from townhall.config import load_settings
from townhall.domain.principal import Principal
from townhall.infrastructure.mailstore.maildir import MaildirStore
from townhall.services.container import Services
from townhall.services.mailboxes import MailSettings


@pytest.fixture(scope="module")
def mail_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, int, MaildirStore]]:
    folder: Path = tmp_path_factory.mktemp("mail")
    with (
        fresh_database(backend_of(database_url), folder) as url,
        mailing_server(url, folder, relaying=False) as mailing,
    ):
        yield mailing.server, mailing.smtp_port, mailing.store


async def test_forwards_and_black_lists_decide_at_rcpt_time(
    mail_server: tuple[RunningServer, int, MaildirStore],
) -> None:
    server, port, store = mail_server
    ox = context_admin(server)
    alice_uid, alice = new_person(server)
    _, bob = new_person(server)
    alice_at, bob_at = f"{alice}@example.org", f"{bob}@example.org"
    assert ox.put(f"/admin/contexts/1/users/{alice_uid}/blacklist/spammer@bad.test").ok
    assert ox.put("/admin/forwards/1/sales@example.org", json=[alice_at, bob_at]).ok
    with pytest.raises(smtplib.SMTPRecipientsRefused) as direct:
        send(port, "spammer@bad.test", [alice_at], "direct")
    code, reply = direct.value.recipients[alice_at]
    assert code == 550 and b"5.7.1" in reply
    assert send(port, "spammer@bad.test", ["sales@example.org"], "to the alias") == {}
    assert [b"to the alias" in m for m in await store.messages(bob_at)] == [True]
    assert await store.messages(alice_at) == []
    assert send(port, "friend@good.test", [alice_at], "welcome") == {}
    assert len(await store.messages(alice_at)) == 1


def test_unknown_and_foreign_recipients_are_refused(
    mail_server: tuple[RunningServer, int, MaildirStore],
) -> None:
    _, port, _ = mail_server
    for recipient, status in (("nobody@example.org", b"5.1.1"), ("x@not-hosted.test", b"5.1.2")):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refusal:
            send(port, "a@b.test", [recipient], "lost")
        code, reply = refusal.value.recipients[recipient]
        assert code == 550 and status in reply, reply


async def test_a_full_mailbox_refuses_with_552(
    mail_server: tuple[RunningServer, int, MaildirStore],
) -> None:
    server, port, _ = mail_server
    _, name = new_person(server)
    address = f"{name}@example.org"
    assert send(port, "a@b.test", [address], "first") == {}
    # No API sets a quota yet (OX derives it from the class of service): set it in process.
    built = Services.build(load_settings({"TOWNHALL_DATABASE_URL": server.database_url}))
    try:
        tenant = await built.tenants.first()
        assert tenant is not None
        await built.mailboxes.update(Principal.system(tenant), name, MailSettings(quota_bytes=10))
    finally:
        await built.close()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as full:
        send(port, "a@b.test", [address], "second")
    code, reply = full.value.recipients[address]
    assert code == 552 and b"5.2.2" in reply


def test_one_server_of_several_workers_listens_once_and_delivers(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    with fresh_database(backend_of(database_url), tmp_path) as url:
        running = start_server(
            url,
            tmp_path / "server.log",
            workers=2,
            TOWNHALL_SMTP_LISTEN=f"127.0.0.1:{port}",
            TOWNHALL_MAIL_DIR=str(tmp_path / "mailboxes"),
        )
        try:
            _, name = new_person(running)
            address = f"{name}@example.org"
            for n in range(8):  # separate connections, whichever worker holds the port
                assert send(port, "a@b.test", [address], f"n{n}") == {}
            stored = asyncio.run(MaildirStore(tmp_path / "mailboxes").messages(address))
            assert len(stored) == 8
        finally:
            stop_server(running)
        assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_without_a_relay_forwards_to_other_servers_are_refused(
    mail_server: tuple[RunningServer, int, MaildirStore],
) -> None:
    """No outbound relay is set: mail for an alias forwarding elsewhere is refused at
    RCPT, never accepted and dropped (tests/dialects/oxaas/test_relay.py has a relay)."""
    server, port, _ = mail_server
    alias = "away-norelay@example.org"
    assert context_admin(server).put(f"/admin/forwards/1/{alias}", json=["x@far.test"]).ok
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refusal:
        send(port, "a@b.test", [alias], "lost")
    code, reply = refusal.value.recipients[alias]
    assert code == 550 and b"5.7.1" in reply, reply


async def test_without_a_relay_a_welcome_still_reaches_the_mailbox(
    mail_server: tuple[RunningServer, int, MaildirStore],
) -> None:
    server, _, store = mail_server
    uid, name = new_person(server)
    sent = context_admin(server).post(f"/admin/notifications/{uid}@1/welcome")
    assert sent.status_code == 200, sent.text
    stored = await store.messages(f"{name}@example.org")
    assert len(stored) == 1 and b"Welcome to" in stored[0]


def test_an_address_no_mailbox_can_be_filed_under_is_refused_at_rcpt(
    mail_server: tuple[RunningServer, int, MaildirStore],
) -> None:
    server, port, _ = mail_server
    name = unique("slash")
    address = f"{name}/x@example.org"  # a valid address, but a path in a Maildir tree
    made = requests.post(
        f"{server.api}/users",
        json={"username": name, "password": "pw-1234567", "email": address},
        auth=("admin", ADMIN_PASSWORD),
    )
    assert made.status_code == 201, made.text
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refusal:
        send(port, "a@b.test", [address], "nowhere")
    code, reply = refusal.value.recipients[address]
    assert code == 550 and b"5.1.3" in reply, reply
