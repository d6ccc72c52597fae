"""The embedded Maildir store's counters index against a real Maildir, changed the ways
Dovecot (or anything else) changes one: flags in file names, `new/` to `cur/`, other
folders, expunges, and a second process with its own view of the same tree."""

from __future__ import annotations

import mailbox
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from townhall.infrastructure.mailstore import maildir
from townhall.infrastructure.mailstore.maildir import INDEX, MaildirStore

ADDRESS = "Alice@Example.org"


def _raw(subject: str) -> bytes:
    return f"From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\nSubject: {subject}\n\nbody\n".encode()


def _settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust every directory stamp at once, as for a mailbox at rest (the settle rule
    otherwise has a count list a just-changed directory again anyway)."""
    monkeypatch.setattr(maildir, "SETTLE_SECONDS", -3600.0)


def _tick() -> None:
    """Let the file-time clock move on (it is coarse), as it has between real changes."""
    time.sleep(0.02)


async def test_deliveries_are_counted_and_named_as_dovecot_names_them(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path)
    for n in range(3):
        await store.deliver(ADDRESS, _raw(f"m{n}"))
    box = store.folder(ADDRESS)
    assert box == tmp_path / "example.org" / "alice" / "Maildir"
    names = sorted(os.listdir(box / "new"))
    assert len(names) == 3 and all(",S=" in n for n in names)
    assert [m.count(b"m") > 0 for m in await store.messages(ADDRESS)] == [True] * 3
    assert len(mailbox.Maildir(box, create=False)) == 3  # what any Maildir reader sees
    counted = await store.counters(ADDRESS, None)
    assert (counted.messages, counted.unread_inbox, counted.unread_all) == (3, 3, 3)
    assert counted.new_since_login == 3
    assert counted.used_bytes == sum(len(_raw(f"m{n}")) for n in range(3))
    assert [r.subject for r in counted.recent] == ["m2", "m1", "m0"]
    assert counted.recent[0].sender == "Jörg <j@x.test>"
    assert await store.used_bytes(ADDRESS) == counted.used_bytes
    later = await store.counters(ADDRESS, datetime.now(UTC).replace(year=2000))
    assert later.new_since_login == 3
    future = await store.counters(ADDRESS, datetime.fromtimestamp(time.time() + 60, UTC))
    assert future.new_since_login == 0


async def test_settled_index_notices_flag_changes_moves_and_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(monkeypatch)
    store = MaildirStore(tmp_path)
    for n in range(4):
        await store.deliver(ADDRESS, _raw(f"m{n}"))
    box = store.folder(ADDRESS)
    _tick()
    assert (await store.counters(ADDRESS, None)).unread_inbox == 4
    first, second, *_ = sorted(os.listdir(box / "new"))
    _tick()
    # Dovecot's first sight of a message: new/ to cur/ with an empty info, still unread.
    os.rename(box / "new" / first, box / "cur" / f"{first}:2,")
    assert (await store.counters(ADDRESS, None)).unread_inbox == 4
    _tick()
    _tick()
    # Marked seen within cur/ (only cur/ changes).
    os.rename(box / "cur" / f"{first}:2,", box / "cur" / f"{first}:2,RS")
    assert (await store.counters(ADDRESS, None)).unread_inbox == 3
    _tick()
    # Even if something sets cur/'s mtime back, the change shows in its ctime.
    cur, new = (box / "cur").stat(), (box / "new").stat()
    os.rename(box / "new" / second, box / "cur" / f"{second}:2,S")
    os.utime(box / "cur", ns=(cur.st_atime_ns, cur.st_mtime_ns))
    os.utime(box / "new", ns=(new.st_atime_ns, new.st_mtime_ns))
    assert (await store.counters(ADDRESS, None)).unread_inbox == 2
    _tick()
    # A Maildir++ folder appears with one unread and one seen message.
    for sub in ("new", "cur", "tmp"):
        (box / ".Archive" / sub).mkdir(parents=True)
    (box / ".Archive" / "cur" / "1700000000.M1P1.h,S=10:2,").write_bytes(b"Subject: a\n\n12")
    (box / ".Archive" / "cur" / "1700000001.M1P1.h:2,S").write_bytes(b"Subject: b\n\n")
    counted = await store.counters(ADDRESS, None)
    assert (counted.unread_inbox, counted.unread_all, counted.messages) == (2, 3, 4)
    _tick()
    # Expunged from INBOX, the folder removed.
    os.remove(box / "cur" / f"{first}:2,RS")
    for path in sorted((box / ".Archive").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (box / ".Archive").rmdir()
    counted = await store.counters(ADDRESS, None)
    assert (counted.unread_inbox, counted.unread_all, counted.messages) == (2, 2, 3)


async def test_another_process_starts_from_the_index_file_and_sees_later_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(monkeypatch)
    one = MaildirStore(tmp_path)
    for n in range(5):
        await one.deliver(ADDRESS, _raw(f"m{n}"))
    box = one.folder(ADDRESS)
    _tick()
    uids = [r.uid for r in (await one.counters(ADDRESS, None)).recent]
    assert (box / INDEX).is_file()
    # Another process, warm from the file: the same counts and uids.
    other = MaildirStore(tmp_path)
    assert [r.uid for r in (await other.counters(ADDRESS, None)).recent] == uids
    _tick()
    # The first delivers and Dovecot flags one: the other notices both.
    await one.deliver(ADDRESS, _raw("m5"))
    oldest = sorted(os.listdir(box / "new"))[0]
    os.rename(box / "new" / oldest, box / "cur" / f"{oldest}:2,S")
    counted = await other.counters(ADDRESS, None)
    assert (counted.messages, counted.unread_inbox) == (6, 5)
    assert counted.recent[0].subject == "m5"


async def test_a_damaged_index_costs_a_rescan_not_a_wrong_count(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path)
    for n in range(2):
        await store.deliver(ADDRESS, _raw(f"m{n}"))
    box = store.folder(ADDRESS)
    (box / INDEX).write_bytes(b'{"version": 1, "folders": {"INBOX": nonsense')
    assert (await MaildirStore(tmp_path).counters(ADDRESS, None)).unread_inbox == 2
    (box / INDEX).write_bytes(b'{"version": 99, "folders": {}}')
    assert (await MaildirStore(tmp_path).counters(ADDRESS, None)).messages == 2


async def test_remove_and_bad_addresses(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path)
    await store.deliver(ADDRESS, _raw("m"))
    await store.remove(ADDRESS)
    assert not (tmp_path / "example.org" / "alice").exists()
    assert (await store.counters(ADDRESS, None)).messages == 0
    assert await store.used_bytes("nobody@example.org") == 0
    for bad in ("../x@example.org", "x@../etc", "no-at-sign", ".x@example.org"):
        try:
            store.folder(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")
    assert maildir.SETTLE_SECONDS > 0


async def test_messages_of_one_second_keep_their_delivery_order(tmp_path: Path) -> None:
    """Names of one second differ in their unpadded microseconds (`M99999` comes
    before `M100000`), written by another program straight into new/."""
    store = MaildirStore(tmp_path)
    await store.deliver(ADDRESS, _raw("made"))
    new = store.folder(ADDRESS) / "new"
    for micros, subject in ((99_999, "first"), (100_000, "second"), (900_000, "third")):
        (new / f"1700000000.M{micros}P1Q1.host,S=10").write_bytes(_raw(subject))
    store = MaildirStore(tmp_path)  # a fresh process: lists the folder
    counted = await store.counters(ADDRESS, datetime.fromtimestamp(1_700_000_000.5, UTC))
    assert [r.subject for r in counted.recent][1:] == ["third", "second", "first"]
    assert counted.new_since_login == 2  # made now, and third: after .5 s
