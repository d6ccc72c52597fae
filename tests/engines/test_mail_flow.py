"""The production engines end to end: people, forwards, lockouts and quotas made through
Townhall's APIs decide what Postfix accepts and what Dovecot lets in, with no reload."""

from __future__ import annotations

import imaplib
import smtplib
from email.message import EmailMessage

import pytest

from tests.engines.conftest import MailStack
from tests.helpers.ox import new_person

pytestmark = pytest.mark.engines
PASSWORD = "pw-1234567"


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
