"""The production engines end to end: people, forwards, lockouts and quotas made through
Townhall's APIs decide what Postfix accepts and what Dovecot lets in, with no reload."""

from __future__ import annotations

import imaplib
import smtplib
import time
from email.message import EmailMessage

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD
from tests.engines.conftest import MailStack
from tests.helpers.ox import context_admin, new_person
from townhall.config import load_settings
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.mailboxes import MailSettings

pytestmark = pytest.mark.engines
PASSWORD = "pw-1234567"
ADMIN = ("admin", ADMIN_PASSWORD)


def _message(subject: str, body: str = "hello") -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "someone@outside.test"
    message.set_content(body)
    return message


def send(
    stack: MailStack, sender: str, recipients: list[str], subject: str, body: str = "hello"
) -> dict[str, object]:
    with smtplib.SMTP("127.0.0.1", stack.engines.smtp_port, timeout=20) as smtp:
        return smtp.send_message(_message(subject, body), from_addr=sender, to_addrs=recipients)


def imap(stack: MailStack, address: str, password: str = PASSWORD) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", stack.engines.imap_port, timeout=20)
    client.login(address, password)
    return client


def test_a_person_made_through_an_api_logs_in_with_their_password(stack: MailStack) -> None:
    _, name = new_person(stack.server)
    address = f"{name}@example.org"
    with imap(stack, address) as client:
        assert client.select("INBOX")[0] == "OK"
    with pytest.raises(imaplib.IMAP4.error):
        imap(stack, address, "not-the-password")


def messages(stack: MailStack, address: str, expected: int, timeout: float = 20) -> int:
    """INBOX's message count over IMAP, once it reaches `expected` (delivery runs after
    the SMTP session, through Postfix's queue and LMTP) or the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        with imap(stack, address) as client:
            count = status(client)["MESSAGES"]
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def status(client: imaplib.IMAP4, folder: str = "INBOX") -> dict[str, int]:
    kind, data = client.status(folder, "(MESSAGES RECENT UNSEEN UIDNEXT)")
    assert kind == "OK", data
    text = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
    words = text[text.index("(") + 1 : text.rindex(")")].split()
    return {words[i]: int(words[i + 1]) for i in range(0, len(words), 2)}


def subjects(stack: MailStack, address: str) -> list[str]:
    with imap(stack, address) as client:
        client.select("INBOX", readonly=True)
        kind, data = client.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert kind == "OK", data
    found = []
    for part in data:
        if isinstance(part, tuple):
            found.append(part[1].decode().split(":", 1)[1].strip())
    return found


def test_mail_through_postfix_lands_in_dovecot(stack: MailStack) -> None:
    _, name = new_person(stack.server)
    address = f"{name}@example.org"
    assert send(stack, "friend@good.test", [address], "first through postfix") == {}
    assert messages(stack, address, 1) == 1
    assert subjects(stack, address) == ["first through postfix"]
    with pytest.raises(smtplib.SMTPRecipientsRefused) as unknown:
        send(stack, "friend@good.test", ["nobody-here@example.org"], "lost")
    code, reply = unknown.value.recipients["nobody-here@example.org"]
    assert code == 550 and b"5.1.1" in reply, reply


def test_a_forward_made_through_ox_acts_on_the_next_message(stack: MailStack) -> None:
    ox = context_admin(stack.server)
    _, alice = new_person(stack.server)
    _, bob = new_person(stack.server)
    alice_at, bob_at = f"{alice}@example.org", f"{bob}@example.org"
    alias = f"team-{alice}@example.org"
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(stack, "friend@good.test", [alias], "before the forward")
    assert ox.put(f"/admin/forwards/1/{alias}", json=[alice_at, bob_at]).ok
    assert send(stack, "friend@good.test", [alias], "to both") == {}
    assert messages(stack, alice_at, 1) == 1
    assert messages(stack, bob_at, 1) == 1
    assert ox.put(f"/admin/forwards/1/{alias}", json={"recipient": bob_at}).ok
    assert send(stack, "friend@good.test", [alias], "to bob only") == {}
    assert messages(stack, bob_at, 2) == 2
    stack.engines.maillog_until(f"to=<{bob_at}>", f"orig_to=<{alias}>", "status=sent")
    assert subjects(stack, alice_at) == ["to both"]
    assert subjects(stack, bob_at) == ["to both", "to bob only"]


def test_a_lockout_stops_imap_login_but_not_delivery(stack: MailStack) -> None:
    _, name = new_person(stack.server)
    address = f"{name}@example.org"
    imap(stack, address).logout()
    lockouts = f"{stack.server.api}/lockouts/{name}"
    assert requests.post(lockouts, auth=ADMIN).status_code == 201
    with pytest.raises(imaplib.IMAP4.error):
        imap(stack, address)
    assert send(stack, "friend@good.test", [address], "while locked") == {}
    stack.engines.maillog_until(f"to=<{address}>", "status=sent")
    assert requests.delete(lockouts, auth=ADMIN).status_code == 200
    assert messages(stack, address, 1) == 1


async def test_a_message_over_quota_bounces_552(stack: MailStack) -> None:
    uid, name = new_person(stack.server)
    address = f"{name}@example.org"
    built = Services.build(load_settings({"TOWNHALL_DATABASE_URL": stack.server.database_url}))
    try:
        tenant = await built.tenants.first()
        assert tenant is not None
        await built.mailboxes.update(Principal.system(tenant), uid, MailSettings(quota_bytes=4096))
    finally:
        await built.close()
    assert send(stack, "friend@good.test", [address], "small") == {}
    stack.engines.maillog_until(f"to=<{address}>", "status=sent")
    assert send(stack, "friend@good.test", [address], "big", "x" * 20000) == {}
    line = stack.engines.maillog_until(f"to=<{address}>", "status=bounced")
    assert "552 5.2.2" in line, line
    assert messages(stack, address, 1) == 1
    # Once full, the policy service refuses at RCPT time, as the embedded receiver does.
    built = Services.build(load_settings({"TOWNHALL_DATABASE_URL": stack.server.database_url}))
    try:
        tenant = await built.tenants.first()
        assert tenant is not None
        await built.mailboxes.update(Principal.system(tenant), uid, MailSettings(quota_bytes=10))
    finally:
        await built.close()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as full:
        send(stack, "friend@good.test", [address], "no room")
    code, reply = full.value.recipients[address]
    assert code == 552 and b"5.2.2" in reply, reply
