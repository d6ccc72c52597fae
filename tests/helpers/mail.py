"""Townhall servers that receive mail (the embedded listener), optionally sending through
a real SMTP peer on loopback that stands for the outbound relay, and a client that
sends them mail."""

from __future__ import annotations

import email
import smtplib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.conftest import RunningServer, _free_port, start_server, stop_server
from townhall.infrastructure.mailstore.maildir import MaildirStore


@dataclass
class Relayed:
    sender: str
    recipients: list[str]
    message: Message
    raw: bytes


class Relay:
    """aiosmtpd handler that keeps what it is given."""

    def __init__(self) -> None:
        self.received: list[Relayed] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        self.received.append(
            Relayed(envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(raw), raw)
        )
        return "250 OK"

    def wait_for(self, recipient: str, timeout: float = 10) -> Relayed:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.received:
                if recipient in item.recipients:
                    return item
            time.sleep(0.05)
        raise AssertionError(f"nothing relayed to {recipient}: {self.received}")

    def to(self, recipient: str) -> list[Relayed]:
        return [r for r in self.received if recipient in r.recipients]


@dataclass
class MailingServer:
    server: RunningServer
    smtp_port: int
    relay: Relay
    store: MaildirStore


@contextmanager
def mailing_server(
    database_url: str, folder: Path, relaying: bool = True, **env: str
) -> Iterator[MailingServer]:
    """A server on `database_url` that listens for SMTP, keeps its mailboxes under
    `folder` and, if `relaying`, relays through a peer (whose port is 0 otherwise)."""
    relay = Relay()
    peer = Controller(relay, hostname="127.0.0.1", port=_free_port()) if relaying else None
    if peer is not None:
        peer.start()
        env = {"TOWNHALL_SMTP_URL": f"smtp://127.0.0.1:{peer.port}", **env}
    port = _free_port()
    running = start_server(
        database_url,
        folder / "mailing.log",
        TOWNHALL_SMTP_LISTEN=f"127.0.0.1:{port}",
        TOWNHALL_MAIL_DIR=str(folder / "mailboxes"),
        **env,
    )
    try:
        yield MailingServer(running, port, relay, MaildirStore(folder / "mailboxes"))
    finally:
        stop_server(running)
        if peer is not None:
            peer.stop()


def message(subject: str, sender: str = "someone@outside.test") -> EmailMessage:
    made = EmailMessage()
    made["Subject"] = subject
    made["From"] = sender
    made.set_content("hello " + subject)
    return made


def send(port: int, sender: str, recipients: list[str], subject: str) -> dict[str, object]:
    """Send one message over a new SMTP connection; the refused recipients (an error
    if all are)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        return smtp.send_message(message(subject, sender), from_addr=sender, to_addrs=recipients)
