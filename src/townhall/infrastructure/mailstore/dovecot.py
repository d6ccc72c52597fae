"""Production mail store: Dovecot holds the mail; Townhall delivers over LMTP and reads
counters through doveadm's HTTP API (`TOWNHALL_MAIL_STORE=dovecot`).

Why doveadm HTTP: it is the interface OX App Suite itself uses against Dovecot
(`com.openexchange.dovecot.doveadm.endpoints`), it answers from Dovecot's own indexes
(fast for big mailboxes), and one POST carries a batch of commands
(../shared/design/mail.md §4.2.4). A `counters()` read costs whatever the mailbox's
size:

- one `mailboxStatus` of every folder (mask `*`): messages and unseen of INBOX, unseen
  of all, and the used size as the sum of the folders' virtual sizes (what the count
  quota backend counts with quota_vsizes), plus INBOX's uidvalidity and highest
  modification sequence;
- the newest five of INBOX (uid, save time, from, subject, flags, size) by sequence
  number (`messages-4:*`: sequence numbers run in UID order), fetched only when the
  modification sequence moved since this process's previous read of the mailbox (a
  message added, expunged or flagged moves it, and Dovecot tracks it whether or not a
  client enabled CONDSTORE). Unchanged, a read is one command; changed, two round
  trips (three when "new" must be searched). Before, the fetch read every INBOX
  message (10,000 rows of headers);
- "new since last login" from those five save dates when one of them is older than the
  login (save dates grow with UIDs); only when all five are new a `search savedsince`
  (strictly after the login, in the whole seconds the plugin writes) counts them. A
  search reads every message's save date (~50 ms at 10,000), so it is kept for the case
  that needs it. Dovecot keeps the save date given at delivery
  (`mail_always_cache_fields = date.save` in deploy/): without it a Maildir message's
  save date is its file's ctime, which a flag change (a rename) moves past the login.

Each doveadm command opens the user and the mailbox; deploy/'s doveadm service keeps
its process (`service_count = 0`) and the auth cache keeps the userdb answer, which
took a command at 10,000 messages from ~25 ms to ~10 ms.

The last login itself is Dovecot's: its last_login plugin writes `mail_last_login`
through dict-sql on every IMAP login. Delivery uses the stdlib LMTP client in a thread
(LMTP refuses per recipient, e.g. 552 over quota, which surfaces as OSError). The
doveadm key is secret: the API can do almost anything to any mailbox.
"""

from __future__ import annotations

import asyncio
import base64
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from townhall.infrastructure.mailstore import MailCounters, MailSummary

RECENT = 5
REMEMBERED = 10_000
"""Mailboxes whose newest five a process keeps."""
FIELDS = ["seq", "uid", "date.saved.unixtime", "hdr.from", "hdr.subject", "flags", "size.virtual"]
PUSH_KEY = "/private/vendor/vendor.dovecot/http-notify"
NO_SUCH_USER = 67
"""doveadm's exit code (EX_NOUSER) for a user the userdb does not know."""


@dataclass
class _Inbox:
    """What a read learnt of INBOX, valid while its version (uidvalidity, highest
    modification sequence, count) stays: a message added, expunged or flagged moves it."""

    version: str
    newest: list[dict[str, str]]
    since: int | None = None
    new: int = 0
    """Messages saved after `since` (the last login the read was asked about)."""


class DoveadmError(OSError):
    """doveadm answered a command with an error (its exit code)."""


class DovecotStore:
    def __init__(self, doveadm_url: str, api_key: str, lmtp: str, timeout: float = 10) -> None:
        self.url = doveadm_url
        self._auth = "X-Dovecot-API " + base64.b64encode(api_key.encode()).decode()
        host, _, port = lmtp.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("TOWNHALL_LMTP must be host:port")
        self._lmtp = (host, int(port))
        self._timeout = timeout
        self._seen: dict[str, _Inbox] = {}
        """Per address, what the last read learnt of INBOX."""

    async def deliver(self, address: str, raw: bytes) -> None:
        await asyncio.to_thread(self._deliver, address, raw)

    def _deliver(self, address: str, raw: bytes) -> None:
        with smtplib.LMTP(self._lmtp[0], self._lmtp[1], timeout=self._timeout) as lmtp:
            try:
                refused = lmtp.sendmail("", [address], raw)
            except smtplib.SMTPException as exc:
                raise OSError(f"LMTP delivery to {address} failed: {exc}") from exc
        if refused:
            raise OSError(f"LMTP delivery to {address} refused: {refused[address]!r}")

    async def used_bytes(self, address: str) -> int:
        folders = (await self._batch([_status(address)]))[0]
        return sum(int(row.get("vsize", 0)) for row in folders)

    async def counters(self, address: str, last_login: datetime | None) -> MailCounters:
        folders = (await self._batch([_status(address)]))[0]
        inbox = next((row for row in folders if row.get("mailbox") == "INBOX"), {})
        messages = int(inbox.get("messages", 0))
        since = int(last_login.timestamp()) if last_login else None
        version = f"{inbox.get('uidvalidity')}:{inbox.get('highestmodseq')}:{messages}"
        known = self._seen.get(address)
        if known is None or known.version != version:
            known = _Inbox(version, await self._newest(address, messages))
        if since is None:
            known.since, known.new = None, messages
        elif known.since != since:
            known.since, known.new = since, await self._new_since(address, since, known)
        if len(self._seen) >= REMEMBERED and address not in self._seen:
            self._seen.clear()  # bounded: each mailbox then pays one fetch again
        self._seen[address] = known
        return MailCounters(
            messages=messages,
            new_since_login=known.new,
            unread_inbox=int(inbox.get("unseen", 0)),
            unread_all=sum(int(row.get("unseen", 0)) for row in folders),
            used_bytes=sum(int(row.get("vsize", 0)) for row in folders),
            recent=tuple(_summary(m) for m in known.newest),
        )

    async def _newest(self, address: str, messages: int) -> list[dict[str, str]]:
        """INBOX's newest five, newest first, by sequence number (they run in UID order)."""
        if not messages:
            return []
        fetched = (await self._batch([_fetch(address, f"{max(1, messages - RECENT + 1)}:*")]))[0]
        return sorted(fetched, key=lambda m: int(m.get("uid", 0)), reverse=True)[:RECENT]

    async def _new_since(self, address: str, since: int, inbox: _Inbox) -> int:
        """INBOX messages saved after the last login.

        Save dates grow with UIDs (a message gets its UID when it is saved), so when
        the newest five include one saved before the login, the new ones are among
        them; only when all five are new does Dovecot search the save dates."""
        new = sum(1 for row in inbox.newest if _saved(row) > since)
        if new < len(inbox.newest) or len(inbox.newest) < RECENT:  # or all of INBOX
            return new
        query = ["mailbox", "INBOX", "savedsince", str(since + 1)]  # after `since`
        return len((await self._batch([("search", {"user": address, "query": query})]))[0])

    async def opened(self, address: str) -> None:
        """Have Dovecot's `ox` push driver report this mailbox's new mail to Townhall
        (the driver acts only for users with this server metadata key)."""
        await self._batch(
            [
                (
                    "mailboxMetadataSet",
                    {
                        "user": address,
                        "allowEmptyMailboxName": True,
                        "mailbox": "",
                        "key": PUSH_KEY,
                        "value": f"user={address}",
                    },
                )
            ]
        )

    def forget(self) -> None:
        """Dovecot keeps the mail (a restore does not replace it); what was learnt of
        INBOXes is read again."""
        self._seen.clear()

    async def answers(self) -> bool:
        """Readiness: doveadm's HTTP API accepts the key (its command list, one GET)."""
        return await asyncio.to_thread(self._answers)

    def _answers(self) -> bool:
        request = urllib.request.Request(self.url, headers={"Authorization": self._auth})
        try:
            with urllib.request.urlopen(request, timeout=min(self._timeout, 2.0)) as answer:
                return bool(answer.status == 200)
        except OSError:  # refused, timed out, or an HTTP error status
            return False

    def can_hold(self, address: str) -> bool:
        """Dovecot files any address its userdb (the views) lists."""
        return True

    async def remove(self, address: str) -> None:
        """Expunge every message of every folder (the folders and the home stay for the
        operator's retention tools; a user Dovecot no longer knows is already gone)."""
        await self._batch([("expunge", {"user": address, "query": ["mailbox", "*", "all"]})])

    async def _batch(
        self, commands: list[tuple[str, dict[str, Any]]]
    ) -> list[list[dict[str, str]]]:
        """Run the commands in one POST; each one's answer rows, in order. A user
        Dovecot does not know has no mail (empty rows), as a Maildir never written."""
        body = [[name, params, f"c{i}"] for i, (name, params) in enumerate(commands)]
        answers = await asyncio.to_thread(self._post, body)
        rows: list[list[dict[str, str]]] = []
        for kind, payload, _tag in answers:
            if kind == "doveadmResponse":
                rows.append(list(payload))
            elif isinstance(payload, dict) and payload.get("exitCode") == NO_SUCH_USER:
                rows.append([])
            else:
                raise DoveadmError(f"doveadm {kind}: {payload}")
        return rows

    def _post(self, body: list[list[Any]]) -> list[list[Any]]:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            headers={"Authorization": self._auth, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:
                return list(json.loads(answer.read()))
        except urllib.error.HTTPError as exc:
            raise DoveadmError(f"doveadm HTTP {exc.code}: {exc.read()[:200]!r}") from exc


def _status(address: str) -> tuple[str, dict[str, Any]]:
    """Messages, unseen and size of every folder (INBOX among them): the size sums to
    what the count quota backend counts, as quota_vsizes has it."""
    fields = ["messages", "unseen", "vsize", "uidvalidity", "highestmodseq"]
    return ("mailboxStatus", {"user": address, "field": fields, "mailboxMask": ["*"]})


def _fetch(address: str, sequence: str) -> tuple[str, dict[str, Any]]:
    """INBOX's messages in a sequence range, with what a summary shows."""
    return ("fetch", {"user": address, "field": FIELDS, "query": ["mailbox", "INBOX", sequence]})


def _summary(row: dict[str, str]) -> MailSummary:
    return MailSummary(
        uid=int(row.get("uid", 0)),
        sender=row.get("hdr.from", ""),
        subject=row.get("hdr.subject", ""),
        received=datetime.fromtimestamp(_saved(row), UTC),
        size=int(row.get("size.virtual", 0)),
        seen="\\Seen" in row.get("flags", "").split(),
    )


def _saved(row: dict[str, str]) -> int:
    return int(row.get("date.saved.unixtime", 0))
