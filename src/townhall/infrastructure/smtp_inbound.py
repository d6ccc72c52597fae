"""The embedded mail receiver: SMTP on `TOWNHALL_SMTP_LISTEN`, for the hosted domains.

Each recipient is decided by the mail routing core at RCPT time (services/mail_routing.py,
the only place the rules live): a domain not hosted, an unknown user, or a sender every
final owner refuses gets its 5xx there; a mailbox over its quota a `552 5.2.2`. At DATA
the message goes to the mailboxes the core chose. Forwards to other servers are relayed
through the outbound relay (`TOWNHALL_SMTP_URL`) with the original envelope sender;
without a relay they are refused at RCPT, never accepted and dropped.

One listener per server: the first worker to bind the address serves SMTP and the
others leave it to that one (Maildir delivery from any process is safe; a worker that
dies is replaced and binds again). No SO_REUSEPORT: with it, a second server on the
same machine could bind the same port and silently take half of another's mail.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from townhall.services.container import Services

log = logging.getLogger(__name__)
ROUTES = "townhall_routes"
"""The envelope attribute holding each accepted recipient's mailboxes."""
EXTERNAL = "townhall_external"
"""The envelope attribute holding the addresses on other servers the mail goes on to."""


class Receiver:
    """aiosmtpd's handler: RCPT asks the routing core, DATA delivers."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        route = await self._services.mail_routing.resolve(address, envelope.mail_from or "")
        if not route.accepted:
            return route.smtp
        if route.external and not self._services.mailboxes.relays:
            return f"550 5.7.1 <{address}>: forwarding to other servers is not set up here"
        for user_id, mailbox in route.mailboxes:
            if not self._services.mailboxes.can_hold(mailbox):  # e.g. a '/' in the address
                return f"550 5.1.3 <{address}>: no mailbox can be kept for {mailbox} here"
            if not await self._services.mailboxes.has_room(user_id, mailbox):
                return f"552 5.2.2 <{address}>: mailbox {mailbox} is full"
        routes: list[tuple[int, str]] = getattr(envelope, ROUTES, [])
        routes += [m for m in route.mailboxes if m not in routes]
        setattr(envelope, ROUTES, routes)
        external: list[str] = getattr(envelope, EXTERNAL, [])
        external += [a for a in route.external if a not in external]
        setattr(envelope, EXTERNAL, external)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        mailboxes = getattr(envelope, ROUTES, [])
        external = getattr(envelope, EXTERNAL, [])
        if external:  # first, so a relay failure (4xx, the sender retries) delivers nothing twice
            try:
                await self._services.mailboxes.relay(envelope.mail_from or "", external, raw)
            except OSError as exc:
                log.warning("relaying to %s failed: %s", external, exc)
                return "451 4.4.0 could not relay to other servers; try again later"
        try:
            await self._services.mailboxes.deliver(mailboxes, raw)
        except OSError as exc:
            log.warning("delivery failed: %s", exc)
            return "451 4.3.0 delivery failed; try again later"
        return "250 2.0.0 delivered"


def listen_address(setting: str) -> tuple[str, int] | None:
    """`host:port`, or None for `off`."""
    if setting.strip().lower() in ("", "off"):
        return None
    host, _, port = setting.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("TOWNHALL_SMTP_LISTEN must be host:port or off")
    return host, int(port)


async def start(services: Services, setting: str) -> asyncio.Server | None:
    where = listen_address(setting)
    if where is None:
        return None
    loop = asyncio.get_running_loop()
    receiver = Receiver(services)
    try:
        return await loop.create_server(
            lambda: SMTP(receiver, hostname=services.deps.node, decode_data=False),
            host=where[0],
            port=where[1],
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or int(os.environ.get("TOWNHALL_WORKERS", "1")) < 2:
            raise
        log.debug("SMTP on %s is served by another worker", setting)
        return None


def cannot_listen(setting: str) -> str | None:
    """Why the SMTP listener could not open (None if it can), checked before start so
    a held port is one clear line instead of a worker's traceback."""
    try:
        where = listen_address(setting)
    except ValueError as exc:
        return str(exc)
    if where is None:
        return None
    family = socket.AF_INET6 if ":" in where[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio does
        try:
            probe.bind(where)
        except OSError as exc:
            return f"TOWNHALL_SMTP_LISTEN {setting}: {exc.strerror or exc}"
    return None
