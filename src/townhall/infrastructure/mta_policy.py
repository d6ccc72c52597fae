"""Postfix's policy-delegation service: the routing core's black and white lists at
RCPT time, for mail Postfix receives (production mode; `TOWNHALL_MTA_POLICY_LISTEN`).

Postfix (`check_policy_service inet:host:port` in smtpd_recipient_restrictions) sends
one request per recipient, `name=value` lines ending in an empty line, and reads back
`action=...` and an empty line; a connection carries many requests (postfix.org
SMTPD_POLICY_README). Each RCPT asks `MailRoutingService.resolve`, the one place the
rules live, exactly as the embedded receiver does:

- every final owner refuses the sender -> `550 5.7.1` (the embedded receiver's answer);
- some owner white-listed the sender -> `PREPEND X-Townhall-Whitelisted: yes`, the
  marker a spam filter after Postfix may honour (it can be forged by a sender unless
  stripped first: ../shared/design/mail.md §4.5);
- a mailbox it would reach is at or over its quota -> `552 5.2.2`, as the embedded
  receiver answers (a message that would only take it over is Dovecot's to bounce);
- anything else -> `DUNNO`: Postfix's own tables (the views) refuse unknown recipients
  and domains, and forwards are expanded by Postfix itself. What only shows after that
  expansion (an owner behind an alias refusing the sender) is the Sieve before-script's
  (services/sender_lists.py renders it).

A failure inside Townhall answers `451 4.3.0` (try again later), never a silent accept.
One listener per server, like the SMTP receiver (infrastructure/listeners.py).
"""

from __future__ import annotations

import asyncio
import logging

from townhall.infrastructure import listeners
from townhall.services.container import Services
from townhall.services.mail_routing import Route

log = logging.getLogger(__name__)
WHITELISTED_HEADER = "X-Townhall-Whitelisted"
MAX_REQUEST_LINES = 100
"""Postfix sends about 40 attributes; more is not Postfix."""


def action(route: Route) -> str:
    """The policy answer for the routing core's decision on one recipient."""
    if not route.accepted and route.reply.startswith("5.7.1"):
        status, _, reason = route.reply.partition(" ")
        _, sep, text = reason.partition(">: ")
        return f"{route.code} {status} {text if sep else reason}"
    if route.accepted and route.whitelisted:
        return f"PREPEND {WHITELISTED_HEADER}: yes"
    return "DUNNO"


class PolicyService:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def decide(self, request: dict[str, str]) -> str:
        if request.get("request") != "smtpd_access_policy":
            return "DUNNO"
        if request.get("protocol_state", "RCPT").upper() != "RCPT":
            return "DUNNO"
        recipient = request.get("recipient", "")
        if not recipient:
            return "DUNNO"
        route = await self._services.mail_routing.resolve(recipient, request.get("sender", ""))
        if route.accepted:
            for user_id, mailbox in route.mailboxes:
                if not await self._services.mailboxes.has_room(user_id, mailbox):
                    return f"552 5.2.2 mailbox {mailbox} is full"
        return action(route)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One Postfix connection: requests until it closes."""
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                try:
                    answer = await self.decide(request)
                except Exception:  # the MTA must hear "later", never be left hanging
                    log.exception("policy request failed")
                    answer = "451 4.3.0 mail routing is unavailable, try again later"
                writer.write(f"action={answer}\n\n".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> dict[str, str] | None:
    """The next request's attributes, or None when the connection ends."""
    request: dict[str, str] = {}
    for _ in range(MAX_REQUEST_LINES):
        line = await reader.readline()
        if not line:
            return None
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            return request
        name, _, value = text.partition("=")
        request[name] = value
    raise ValueError("policy request too long")


SETTING = "TOWNHALL_MTA_POLICY_LISTEN"
"""Off by default: embedded mode needs no policy service."""


async def start(services: Services, setting: str) -> asyncio.Server | None:
    async def opening(host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(PolicyService(services).serve, host=host, port=port)

    return await listeners.open_once(SETTING, setting, opening)
