"""The embedded mail receiver: SMTP on `TOWNHALL_SMTP_LISTEN`, for the hosted domains.

Each recipient is decided by the mail routing core at RCPT time (services/mail_routing.py,
the only place the rules live): a domain not hosted, an unknown user, or a sender every
final owner refuses gets its 5xx there; a mailbox over its quota a `552 5.2.2`. At DATA
the message goes to the mailboxes the core chose. Forwards to other servers are relayed
through the outbound relay (`TOWNHALL_SMTP_URL`) with the original envelope sender;
without a relay they are refused at RCPT, never accepted and dropped.

One listener per server (infrastructure/listeners.py); Maildir delivery from any
process is safe.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from townhall.infrastructure import listeners
from townhall.infrastructure.metrics import SMTP_ACCEPTED, SMTP_REFUSED
from townhall.services.container import Services

if TYPE_CHECKING:  # aiosmtpd is imported only where mail is received
    from aiosmtpd.smtp import SMTP, Envelope, Session

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
        answer = await self._recipient(envelope, address)
        if not answer.startswith("250"):
            SMTP_REFUSED.labels("rcpt").inc()
        return answer

    async def _recipient(self, envelope: Envelope, address: str) -> str:
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
        answer = await self._deliver(envelope)
        if answer.startswith("250"):
            SMTP_ACCEPTED.inc()
        else:
            SMTP_REFUSED.labels("data").inc()
        return answer

    async def _deliver(self, envelope: Envelope) -> str:
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


SETTING = "TOWNHALL_SMTP_LISTEN"


async def start(services: Services, setting: str) -> asyncio.Server | None:
    receiver = Receiver(services)
    loop = asyncio.get_running_loop()

    async def opening(host: str, port: int) -> asyncio.Server:
        from aiosmtpd.smtp import SMTP

        return await loop.create_server(
            lambda: SMTP(receiver, hostname=services.deps.node, decode_data=False),
            host=host,
            port=port,
        )

    return await listeners.open_once(SETTING, setting, opening)
