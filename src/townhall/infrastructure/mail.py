"""Sending e-mail through the configured SMTP relay (`TOWNHALL_SMTP_URL`).

`smtp://host:port` speaks plain SMTP (STARTTLS if the relay offers it),
`smtps://user:password@host:port` implicit TLS; credentials are optional. The standard
library's client runs in a worker thread so a slow relay never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 15


class Mailer:
    """Sends nothing: no relay is configured."""

    async def send(self, message: EmailMessage) -> bool:
        log.info("no SMTP relay configured; not sending %r", message["Subject"])
        return False


class SmtpMailer(Mailer):
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("TOWNHALL_SMTP_URL must be smtp://host:port or smtps://host:port")
        self._tls = parts.scheme == "smtps"
        self._host = parts.hostname
        self._port = parts.port or (465 if self._tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None

    async def send(self, message: EmailMessage) -> bool:
        """True if the relay took the message; a failure is logged, not raised, because
        the change the mail reports has been committed already."""
        try:
            await asyncio.to_thread(self._send, message)
        except (OSError, smtplib.SMTPException):
            log.exception("could not send %r through %s", message["Subject"], self._host)
            return False
        return True

    def _send(self, message: EmailMessage) -> None:
        kind = smtplib.SMTP_SSL if self._tls else smtplib.SMTP
        with kind(self._host, self._port, timeout=TIMEOUT_SECONDS) as smtp:
            if not self._tls:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls()
            if self._user:
                smtp.login(self._user, self._password or "")
            smtp.send_message(message)


def make_mailer(url: str | None) -> Mailer:
    return SmtpMailer(url) if url else Mailer()
