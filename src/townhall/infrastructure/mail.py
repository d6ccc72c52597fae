"""Sending e-mail through the configured SMTP relay (`TOWNHALL_SMTP_URL`).

Two uses: mail Townhall writes (invitations, notifications: `send`, to the message's
own recipients or to the envelope recipients given), and mail it received for
recipients on other servers (`relay`: the raw bytes unchanged, with the original
envelope sender).

`smtp://host:port` speaks plain SMTP (STARTTLS if the relay offers it),
`smtps://user:password@host:port` implicit TLS; credentials are optional. The standard
library's client runs in a worker thread so a slow relay never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 15


class Mailer:
    """Sends nothing: no relay is configured."""

    configured = False
    """Whether mail can leave this server at all (so the receiver may accept forwards
    to other servers)."""

    async def send(self, message: EmailMessage, recipients: Sequence[str] | None = None) -> bool:
        log.info("no SMTP relay configured; not sending %r", message["Subject"])
        return False

    async def relay(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        """Hand received mail on; raises OSError if it could not (the sender retries)."""
        raise OSError("no SMTP relay configured")


class SmtpMailer(Mailer):
    configured = True

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("TOWNHALL_SMTP_URL must be smtp://host:port or smtps://host:port")
        self._tls = parts.scheme == "smtps"
        self._host = parts.hostname
        self._port = parts.port or (465 if self._tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None

    async def send(self, message: EmailMessage, recipients: Sequence[str] | None = None) -> bool:
        """True if the relay took the message (for `recipients`, else the message's
        own); a failure is logged, not raised, because the change the mail reports has
        been committed already."""
        if recipients is not None and not recipients:
            return False
        try:
            await asyncio.to_thread(self._send, message, recipients)
        except (OSError, smtplib.SMTPException):
            log.exception("could not send %r through %s", message["Subject"], self._host)
            return False
        return True

    async def relay(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        try:
            await asyncio.to_thread(self._relay, sender, recipients, raw)
        except smtplib.SMTPException as exc:
            raise OSError(f"the relay {self._host} refused: {exc}") from exc

    def _session(self) -> smtplib.SMTP:
        kind = smtplib.SMTP_SSL if self._tls else smtplib.SMTP
        smtp = kind(self._host, self._port, timeout=TIMEOUT_SECONDS)
        try:
            if not self._tls:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls()
            if self._user:
                smtp.login(self._user, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _send(self, message: EmailMessage, recipients: Sequence[str] | None) -> None:
        with self._session() as smtp:
            smtp.send_message(message, to_addrs=list(recipients) if recipients else None)

    def _relay(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        with self._session() as smtp:
            smtp.sendmail(sender, list(recipients), raw)


def make_mailer(url: str | None) -> Mailer:
    return SmtpMailer(url) if url else Mailer()
