"""Production mail store: Dovecot holds the mail; Townhall delivers over LMTP and reads
counters through doveadm's HTTP API (`TOWNHALL_MAIL_STORE=dovecot`).

Why doveadm HTTP: it is the interface OX App Suite itself uses against Dovecot
(`com.openexchange.dovecot.doveadm.endpoints`), it answers from Dovecot's own indexes
(fast for big mailboxes), and one POST carries a batch of commands, so one
`counters()` is one round trip (../shared/design/mail.md §4.2.4; two on a process's
first read of a mailbox), and the batch is small however big the mailbox is:

- `mailboxStatus` messages/unseen of INBOX, and unseen of every folder (mask `*`);
- the newest five of INBOX (uid, save time, from, subject, flags, size), fetched by
  sequence number, so the batch stays the same size however big the mailbox is.
  Sequence numbers run in UID order, so the newest five are `messages-4:messages`; the
  count comes in the same batch, so the range is the one the previous read of this
  mailbox (in this process) saw, widened by `SLACK` for mail that arrived since, and
  the rows are checked against this batch's own count: when the guess missed (first
  read, a burst of more than `SLACK` messages, expunges) a second round trip fetches
  the exact range. Before, the fetch read every INBOX message (10,000 rows, each
  message's headers, for a mailbox of 10,000);
- `search savedsince` "new since last login": uids of the INBOX messages saved
  strictly after it, in the whole seconds the plugin writes (nothing to search if the
  person never logged in: every message is new). It lists only the new ones, from
  Dovecot's index;
- `quotaGet`: the STORAGE resource, KiB as Dovecot counts it (virtual sizes).

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
from datetime import UTC, datetime
from typing import Any

from townhall.infrastructure.mailstore import MailCounters, MailSummary

RECENT = 5
SLACK = 20
"""Messages a mailbox may gain between two reads and still be read in one round trip."""
REMEMBERED = 10_000
"""Mailboxes whose last INBOX count a process keeps."""
FIELDS = ["seq", "uid", "date.saved.unixtime", "hdr.from", "hdr.subject", "flags", "size.virtual"]
PUSH_KEY = "/private/vendor/vendor.dovecot/http-notify"
NO_SUCH_USER = 67
"""doveadm's exit code (EX_NOUSER) for a user the userdb does not know."""


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
        self._seen: dict[str, int] = {}
        """Per address, INBOX's message count at the last read (the next one's guess)."""

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
        answers = await self._batch([("quotaGet", {"user": address})])
        return _storage_bytes(answers[0])

    async def counters(self, address: str, last_login: datetime | None) -> MailCounters:
        since = int(last_login.timestamp()) if last_login else None
        commands: list[tuple[str, dict[str, Any]]] = [
            (
                "mailboxStatus",
                {"user": address, "field": ["messages", "unseen"], "mailboxMask": ["INBOX"]},
            ),
            ("mailboxStatus", {"user": address, "field": ["unseen"], "mailboxMask": ["*"]}),
            ("quotaGet", {"user": address}),
        ]
        if since is not None:  # saved at `since` or before is not new: from since + 1
            query = ["mailbox", "INBOX", "savedsince", str(since + 1)]
            commands.append(("search", {"user": address, "query": query}))
        seen_before = self._seen.get(address)
        if seen_before is not None:
            low = max(1, seen_before - RECENT + 1)
            commands.append(_fetch(address, f"{low}:{seen_before + SLACK}"))
        answers = await self._batch(commands)
        inbox, every, quota = answers[:3]
        messages = int(inbox[0].get("messages", 0)) if inbox else 0
        new = len(answers[3]) if since is not None else messages
        newest = _newest(answers[-1] if seen_before is not None else [], messages)
        if newest is None:  # no guess, or it missed: the exact range, now that it is known
            exact = [_fetch(address, f"{max(1, messages - RECENT + 1)}:*")] if messages else []
            fetched = (await self._batch(exact))[0] if exact else []
            newest = sorted(fetched, key=lambda m: int(m.get("uid", 0)), reverse=True)[:RECENT]
        self._remember(address, messages)
        return MailCounters(
            messages=messages,
            new_since_login=new,
            unread_inbox=int(inbox[0].get("unseen", 0)) if inbox else 0,
            unread_all=sum(int(m.get("unseen", 0)) for m in every),
            used_bytes=_storage_bytes(quota),
            recent=tuple(_summary(m) for m in newest),
        )

    def _remember(self, address: str, messages: int) -> None:
        """The INBOX count this read saw, the next read's guess (bounded: forgotten all
        at once when full, which costs each mailbox one extra round trip)."""
        if len(self._seen) >= REMEMBERED and address not in self._seen:
            self._seen.clear()
        self._seen[address] = messages

    async def enable_push(self, address: str) -> None:
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
        """Dovecot keeps its own state; nothing of it is held here."""
        return None

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


def _fetch(address: str, sequence: str) -> tuple[str, dict[str, Any]]:
    """INBOX's messages in a sequence range, with what a summary shows."""
    return ("fetch", {"user": address, "field": FIELDS, "query": ["mailbox", "INBOX", sequence]})


def _newest(rows: list[dict[str, str]], messages: int) -> list[dict[str, str]] | None:
    """The newest `RECENT` of INBOX (newest first) from a guessed range, when it holds
    every sequence number from `messages - RECENT + 1` to `messages` (this batch's
    count); None when it does not (a second round trip then fetches them)."""
    wanted = range(max(1, messages - RECENT + 1), messages + 1)
    by_seq = {int(row.get("seq", 0)): row for row in rows}
    if any(seq not in by_seq for seq in wanted):
        return None
    return [by_seq[seq] for seq in reversed(wanted)]


def _storage_bytes(rows: list[dict[str, str]]) -> int:
    for row in rows:
        if row.get("type") == "STORAGE":
            return int(row.get("value", 0)) * 1024
    return 0


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
