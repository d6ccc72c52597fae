"""Mailboxes as Maildir folders, in the layout Dovecot reads unchanged.

`<root>/<domain>/<local part>/Maildir` is what Dovecot opens with
`mail_location = maildir:<root>/%d/%n/Maildir`, so an operator who outgrows the embedded
receiver points Dovecot at the same tree (../shared/design/mail.md §4.2.3). Maildir's
write-then-rename makes deliveries from several processes safe. File work runs in a
thread so a slow disk never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import mailbox
from pathlib import Path


class MaildirStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, address: str) -> Path:
        local, _, domain = address.lower().rpartition("@")
        if not local or not domain or "/" in address or address.startswith("."):
            raise ValueError(f"not a mailbox address: {address!r}")
        return self.root / domain / local / "Maildir"

    async def deliver(self, address: str, raw: bytes) -> None:
        await asyncio.to_thread(self._deliver, address, raw)

    def _deliver(self, address: str, raw: bytes) -> None:
        folder = self.folder(address)
        folder.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(folder, create=True).add(raw)

    async def used_bytes(self, address: str) -> int:
        return await asyncio.to_thread(self._used_bytes, address)

    def _used_bytes(self, address: str) -> int:
        folder = self.folder(address)
        if not folder.exists():
            return 0
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())

    async def messages(self, address: str) -> list[bytes]:
        """Every stored message (for counters and tests), oldest first."""
        return await asyncio.to_thread(self._messages, address)

    def _messages(self, address: str) -> list[bytes]:
        folder = self.folder(address)
        if not folder.exists():
            return []
        box = mailbox.Maildir(folder, create=False)
        found = sorted(box.iteritems(), key=lambda item: item[1].get_date())
        return [message.as_bytes() for _, message in found]
