"""Mailboxes as Maildir folders, in the layout Dovecot reads unchanged, with an index
that keeps the counters fast.

Layout. `<root>/<domain>/<local part>/Maildir` is what Dovecot opens with
`mail_location = maildir:<root>/%d/%n/Maildir`, so an operator who outgrows the embedded
receiver points Dovecot at the same tree (../shared/design/mail.md §4.2.3). INBOX is the
Maildir itself; other folders are Maildir++ subfolders (`.Sent`, `.Archive.2024`), each
with its own `new/`, `cur/`, `tmp/`. A delivery writes into `tmp/` and renames into
`new/` (safe across processes), named the way Dovecot names its own files
(`<epoch>.M<usec>P<pid>Q<n>.<host>,S=<size>`), so the delivery time and the size can be
read off the name by anyone, Dovecot's quota included. A message is unread when the
info part of its name (`:2,<flags>`) carries no `S`; that is what Dovecot writes when
an IMAP client marks it `\\Seen` (it renames the file, usually from `new/` to `cur/`).

The index, and why this design. Counting by reading the Maildir costs a directory
listing plus one `stat` per message (sizes) or one file read (headers): tens of
milliseconds at 10,000 messages, on every request. The counters instead come from an
index per mailbox, `townhall.index` in the Maildir's root (Dovecot ignores files there
that are not its own), holding per folder the `(inode, mtime, ctime)` of `new/` and
`cur/` and per message its delivery time, size and flags (and, once read, the sender
and subject). Everything that changes a Maildir (a delivery, Dovecot moving a message
to `cur/`, a flag change, an expunge, a client's move between folders) renames or
unlinks a name in one of those directories, which updates the directory's mtime and
ctime; a message file's content never changes. So a count `stat`s two directories per
folder (and the root, for folders appearing or going), and only a folder whose
directory changed is listed again; names already known keep their sizes and headers,
only unknown names are `stat`ed. A directory that changed within the last
`SETTLE_SECONDS` is not trusted to stay unchanged (file times have a coarse clock, so
a second change in the same tick would leave the mtime as it was): it is listed again
on the next count until it has been quiet that long (Git's "racy" rule).

The index lives in memory in each process, checked against the directories as above on
every count, so the file is only a warm start for a process that has not seen the
mailbox yet (a restart, another worker): it is written after a count that changed
something, not on each delivery, because rewriting an index of 10,000 entries per
delivery would make every delivery cost what the mailbox holds. A stale or damaged
file costs one rescan, never a wrong count: its directory times no longer match.

Message uids here are the index's own (ascending in delivery order per folder, kept in
the file), not Dovecot's IMAP UIDs (in `dovecot-uidlist`). File work runs in a thread
so a slow disk never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import itertools
import mailbox
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from pathlib import Path

import msgspec

from townhall.infrastructure.mailstore import MailCounters, MailSummary

INDEX = "townhall.index"
INDEX_VERSION = 1
SETTLE_SECONDS = 2.0
"""How long a directory must have been unchanged before its mtime is trusted."""
RECENT = 5
UNKNOWN = [-1]
"""The stamp of a directory to list again on the next count (None: it does not exist)."""
HEADER_BYTES = 64 * 1024
"""How much of a message is read for its sender and subject (headers come first)."""
INBOX = "INBOX"
MAX_OPEN_INDEXES = 1000
"""Mailboxes whose index a process keeps in memory (the rest start from their file)."""

_counter = itertools.count(1)
_host = socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"


class Entry(msgspec.Struct, array_like=True):
    """One message: where it is (`new` or `cur`), its full file name, delivery time
    (epoch seconds), size, whether seen, the index's uid, and sender and subject once
    read (None until then)."""

    place: str
    name: str
    received: float
    size: int
    seen: bool
    uid: int
    sender: str | None = None
    subject: str | None = None


class Folder(msgspec.Struct):
    """One folder's entries by key (the file name before `:`) and the stamps of
    `new/` and `cur/` they were read at (`UNKNOWN`: list again next time)."""

    stamps: dict[str, list[int] | None] = msgspec.field(default_factory=dict)
    entries: dict[str, Entry] = msgspec.field(default_factory=dict)
    next_uid: int = 1


class Stored(msgspec.Struct):
    version: int
    folders: dict[str, Folder]


@dataclass(frozen=True, slots=True)
class _Totals:
    """What the counters need of one folder, summed once per change of it."""

    times: list[float]
    """Delivery times, ascending (new-since-login is one bisection)."""
    unseen: int
    size: int
    newest: list[str]
    """Keys of the newest `RECENT` messages, newest first."""


@dataclass(slots=True)
class _Index:
    folders: dict[str, Folder] = field(default_factory=dict)
    totals: dict[str, _Totals] = field(default_factory=dict)
    root_stamp: list[int] | None = None
    dirty: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _stamp(path: Path) -> list[int] | None:
    """What changes when a name in the directory is added, renamed or removed."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def _settled(stamp: list[int] | None, now: float) -> bool:
    return stamp is not None and now - max(stamp[1], stamp[2]) / 1e9 >= SETTLE_SECONDS


def _parts(name: str) -> tuple[str, bool]:
    """The key (the name before the info) and whether the `S` flag is set."""
    key, _, info = name.partition(":")
    flags = info.partition(",")[2] if info.startswith("2,") else ""
    return key, "S" in flags


def _size_in(key: str) -> int | None:
    """The `,S=<size>` Dovecot (and this store) put in the name."""
    for part in key.split(",")[1:]:
        if part.startswith("S=") and part[2:].isdigit():
            return int(part[2:])
    return None


def _time_in(key: str) -> float | None:
    """The delivery time a name carries, to the microsecond where it says (`.M<usec>`,
    not zero-padded: three messages of one second sort by it, not by the name)."""
    head, _, rest = key.partition(".")
    if not head.isdigit():
        return None
    micros = rest[1:].partition("P")[0] if rest.startswith("M") else ""
    return int(head) + (int(micros) / 1_000_000 if micros.isdigit() else 0)


def _text(value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(make_header(decode_header(value))).strip()
    except (ValueError, LookupError, UnicodeError):
        return value.strip()


class MaildirStore:
    """The embedded adapter of the `MailStore` port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._indexes: dict[Path, _Index] = {}
        self._guard = threading.Lock()

    def forget(self) -> None:
        """The Maildir tree was replaced (a restore): indexes are read afresh."""
        with self._guard:
            self._indexes.clear()

    def can_hold(self, address: str) -> bool:
        try:
            self.folder(address)
        except ValueError:
            return False
        return True

    def folder(self, address: str) -> Path:
        local, _, domain = address.lower().rpartition("@")
        if (
            not local
            or not domain
            or "/" in address
            or "\x00" in address
            or local.startswith(".")
            or domain.startswith(".")
        ):
            raise ValueError(f"not a mailbox address: {address!r}")
        return self.root / domain / local / "Maildir"

    # -- delivery ------------------------------------------------------------------------

    async def deliver(self, address: str, raw: bytes) -> None:
        await asyncio.to_thread(self._deliver, address, raw)

    def _deliver(self, address: str, raw: bytes) -> None:
        box = self.folder(address)
        for sub in ("tmp", "new", "cur"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        now = time.time()
        seconds, micros = int(now), int((now % 1) * 1_000_000)
        key = f"{seconds}.M{micros}P{os.getpid()}Q{next(_counter)}.{_host},S={len(raw)}"
        temporary = box / "tmp" / key
        with temporary.open("xb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, box / "new" / key)
        index = self._indexes.get(box)
        if index is not None:  # known now; new/'s stamp stays, so the next count lists it
            with index.lock:
                inbox = index.folders.setdefault(INBOX, Folder())
                inbox.entries[key] = Entry("new", key, seconds, len(raw), False, inbox.next_uid)
                inbox.next_uid += 1
                inbox.stamps["new"] = UNKNOWN
                index.totals.pop(INBOX, None)
                index.dirty = True

    # -- reading -------------------------------------------------------------------------

    async def used_bytes(self, address: str) -> int:
        """Asked at every RCPT (quota): the sums only, no headers read, no index write."""
        return await asyncio.to_thread(self._used, address)

    def _used(self, address: str) -> int:
        box = self.folder(address)
        if not box.is_dir():
            return 0
        index = self._index(box)
        with index.lock:
            self._refresh(box, index)
            return sum(self._totals(index, name).size for name in list(index.folders))

    async def counters(self, address: str, last_login: datetime | None) -> MailCounters:
        return await asyncio.to_thread(self._counted, address, last_login)

    def _counted(self, address: str, last_login: datetime | None) -> MailCounters:
        box = self.folder(address)
        if not box.is_dir():
            return MailCounters(0, 0, 0, 0, 0, ())
        index = self._index(box)
        with index.lock:
            self._refresh(box, index)
            totals = [self._totals(index, name) for name in index.folders]
            inbox = self._totals(index, INBOX)
            newest = [index.folders[INBOX].entries[key] for key in inbox.newest]
            since = last_login.timestamp() if last_login else None
            later = len(inbox.times) - bisect.bisect_right(inbox.times, since) if since else None
            counted = MailCounters(
                messages=len(inbox.times),
                new_since_login=len(inbox.times) if later is None else later,
                unread_inbox=inbox.unseen,
                unread_all=sum(t.unseen for t in totals),
                used_bytes=sum(t.size for t in totals),
                recent=tuple(self._summary(box, index, e) for e in newest),
            )
            if index.dirty:
                self._save(box, index)
        return counted

    def _totals(self, index: _Index, name: str) -> _Totals:
        """The folder's sums, kept until the folder changes."""
        found = index.totals.get(name)
        if found is None:
            entries = index.folders.setdefault(name, Folder()).entries
            newest = heapq.nlargest(
                RECENT, entries, key=lambda k: (entries[k].received, entries[k].uid)
            )
            found = index.totals[name] = _Totals(
                times=sorted(e.received for e in entries.values()),
                unseen=sum(1 for e in entries.values() if not e.seen),
                size=sum(e.size for e in entries.values()),
                newest=newest,
            )
        return found

    def _summary(self, box: Path, index: _Index, entry: Entry) -> MailSummary:
        if entry.sender is None or entry.subject is None:
            path = box / entry.place / entry.name
            try:
                with path.open("rb") as handle:
                    head = BytesHeaderParser().parsebytes(handle.read(HEADER_BYTES))
                entry.sender, entry.subject = _text(head["From"]), _text(head["Subject"])
                index.dirty = True
            except FileNotFoundError:  # moved since the listing: shown without headers
                pass
        return MailSummary(
            uid=entry.uid,
            sender=entry.sender or "",
            subject=entry.subject or "",
            received=datetime.fromtimestamp(entry.received, UTC),
            size=entry.size,
            seen=entry.seen,
        )

    def _index(self, box: Path) -> _Index:
        with self._guard:
            index = self._indexes.pop(box, None)
            if index is None:
                index = _Index(folders=self._load(box))
                if len(self._indexes) >= MAX_OPEN_INDEXES:  # the least recently used goes
                    del self._indexes[next(iter(self._indexes))]
            self._indexes[box] = index
            return index

    def _load(self, box: Path) -> dict[str, Folder]:
        """The index file's folders (none if it is missing, damaged or of another
        version: the directories are then listed afresh)."""
        try:
            stored = msgspec.json.decode((box / INDEX).read_bytes(), type=Stored)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return {}
        return stored.folders if stored.version == INDEX_VERSION else {}

    def _save(self, box: Path, index: _Index) -> None:
        temporary = box / f"{INDEX}.{os.getpid()}.{threading.get_ident()}.tmp"
        with contextlib.suppress(OSError):  # the index is a cache: a failed write costs a rescan
            temporary.write_bytes(msgspec.json.encode(Stored(INDEX_VERSION, index.folders)))
            os.replace(temporary, box / INDEX)
            index.dirty = False

    def _refresh(self, box: Path, index: _Index) -> None:
        """Bring the index up to date with the directories, listing only what changed."""
        now = time.time()
        root = _stamp(box)
        if root != index.root_stamp or not _settled(root, now) or not index.folders:
            names = {INBOX} | {
                e.name
                for e in os.scandir(box)
                if e.name.startswith(".") and e.name not in (".", "..") and e.is_dir()
            }
            for gone in set(index.folders) - names:
                del index.folders[gone]
                index.totals.pop(gone, None)
                index.dirty = True
            for name in names:
                index.folders.setdefault(name, Folder())
            index.root_stamp = root if _settled(root, now) else None
        for name, folder in index.folders.items():
            path = box if name == INBOX else box / name
            changed = False
            for place in ("new", "cur"):
                stamp = _stamp(path / place)
                if stamp == folder.stamps.get(place, UNKNOWN):
                    continue
                changed = True
                folder.stamps[place] = stamp if stamp is None or _settled(stamp, now) else UNKNOWN
            if changed and self._rescan(path, folder):
                index.totals.pop(name, None)
                index.dirty = True

    def _rescan(self, path: Path, folder: Folder) -> bool:
        """List `new/` and `cur/` and reconcile: known keys take their new place and
        flags, unknown ones are `stat`ed, vanished ones go. Whether anything changed."""
        changed = False
        seen: dict[str, tuple[str, str, bool]] = {}
        for place in ("new", "cur"):
            with contextlib.suppress(FileNotFoundError):
                for item in os.scandir(path / place):
                    if item.name.startswith("."):
                        continue
                    key, is_seen = _parts(item.name)
                    seen[key] = (place, item.name, is_seen)
        entries = folder.entries
        for key in [k for k in entries if k not in seen]:
            del entries[key]
            changed = True
        fresh: list[Entry] = []
        for key, (place, name, is_seen) in seen.items():
            known = entries.get(key)
            if known is not None:
                if known.name != name or known.place != place:
                    known.place, known.name, known.seen = place, name, is_seen
                    changed = True
                continue
            size, received = _size_in(key), _time_in(key)
            if size is None or received is None:
                try:
                    st = (path / place / name).stat()
                except FileNotFoundError:  # moved meanwhile: the next listing finds it
                    continue
                size = st.st_size if size is None else size
                received = st.st_mtime if received is None else received
            fresh.append(Entry(place, name, received, size, is_seen, 0))
        for entry in sorted(fresh, key=lambda e: (e.received, e.name)):
            entry.uid = folder.next_uid
            folder.next_uid += 1
            entries[entry.name.partition(":")[0]] = entry
        return changed or bool(fresh)

    # -- removal and tests ---------------------------------------------------------------

    async def opened(self, address: str) -> None:
        """Nothing to prepare: the first delivery makes the Maildir."""

    async def remove(self, address: str) -> None:
        await asyncio.to_thread(self._remove, address)

    def _remove(self, address: str) -> None:
        box = self.folder(address)
        with self._guard:
            self._indexes.pop(box, None)
        shutil.rmtree(box.parent, ignore_errors=True)

    async def messages(self, address: str) -> list[bytes]:
        """Every stored message of INBOX (for tests), oldest first."""
        return await asyncio.to_thread(self._messages, address)

    def _messages(self, address: str) -> list[bytes]:
        folder = self.folder(address)
        if not folder.exists():
            return []
        box = mailbox.Maildir(folder, create=False, factory=None)
        found = sorted(box.iterkeys(), key=lambda key: (_time_in(key) or 0, key))
        return [box.get_bytes(key) for key in found]
