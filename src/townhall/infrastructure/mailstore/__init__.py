"""Where mail is stored and counted: the `MailStore` port and its two adapters.

Embedded mode (the default) keeps Dovecot-layout Maildirs under the data folder
(`maildir.py`); production mode hands delivery to Dovecot over LMTP and reads counters
through doveadm's HTTP API (`dovecot.py`). The services see only this port, so the
same use cases (deliver, count, remove) hold in both modes
(../shared/design/mail.md §4.2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MailSummary:
    """One message as the counters show it (the newest few of INBOX)."""

    uid: int
    sender: str
    subject: str
    received: datetime
    size: int
    seen: bool


@dataclass(frozen=True, slots=True)
class MailCounters:
    """A mailbox's counters, read in one go (one doveadm batch in production)."""

    messages: int
    """Messages in INBOX."""
    new_since_login: int
    """INBOX messages delivered after the last mail login (all of them if never)."""
    unread_inbox: int
    unread_all: int
    """Messages without \\Seen across every folder."""
    used_bytes: int
    recent: tuple[MailSummary, ...]
    """The newest INBOX messages, newest first (at most 5)."""


class MailStore(Protocol):
    def can_hold(self, address: str) -> bool:
        """Whether a mailbox can be kept under this address at all (asked at RCPT, so
        mail the store could not file is refused before it is accepted)."""

    async def deliver(self, address: str, raw: bytes) -> None:
        """Store one message in the mailbox's INBOX."""

    async def used_bytes(self, address: str) -> int: ...

    async def counters(self, address: str, last_login: datetime | None) -> MailCounters: ...

    async def opened(self, address: str) -> None:
        """A person now receives mail under this address (made, or their address
        changed): whatever the store needs before the first delivery."""

    async def remove(self, address: str) -> None:
        """Drop the mailbox and its mail (the person was deleted)."""

    def forget(self) -> None:
        """Drop what is kept in memory about mailboxes (a restore replaced them)."""
