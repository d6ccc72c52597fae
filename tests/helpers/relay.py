"""A real SMTP peer on loopback standing for the outbound relay, and a Townhall server
that sends through it and receives mail itself."""

from __future__ import annotations

import email
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
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
def mailing_server(database_url: str, folder: Path) -> Iterator[MailingServer]:
    """A server on `database_url` that listens for SMTP and relays through a peer."""
    relay = Relay()
    peer = Controller(relay, hostname="127.0.0.1", port=_free_port())
    peer.start()
    port = _free_port()
    running = start_server(
        database_url,
        folder / "relaying.log",
        TOWNHALL_SMTP_LISTEN=f"127.0.0.1:{port}",
        TOWNHALL_SMTP_URL=f"smtp://127.0.0.1:{peer.port}",
        TOWNHALL_MAIL_DIR=str(folder / "mailboxes"),
    )
    try:
        yield MailingServer(running, port, relay, MaildirStore(folder / "mailboxes"))
    finally:
        stop_server(running)
        peer.stop()
