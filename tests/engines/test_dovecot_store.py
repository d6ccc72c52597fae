"""The Dovecot mail store (LMTP delivery, doveadm HTTP counters) against a real Dovecot:
its counters agree with what IMAP says, and "new since last login" starts again at each
IMAP login, which Dovecot itself writes into Townhall's mail_last_login."""

from __future__ import annotations

import asyncio
import smtplib
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.engines.conftest import MailStack
from tests.engines.test_mail_flow import imap, status, subjects
from tests.engines.test_views import _rows
from tests.helpers.ox import new_person
from townhall.infrastructure.mailstore.dovecot import DovecotStore

pytestmark = pytest.mark.engines


def _store(stack: MailStack) -> DovecotStore:
    engines = stack.engines
    return DovecotStore(engines.doveadm_url, engines.doveadm_key, f"127.0.0.1:{engines.lmtp_port}")


def _raw(subject: str) -> bytes:
    return f"From: news@ext.test\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n".encode()


async def last_login(stack: MailStack, address: str, after: int = 0) -> int:
    """Dovecot's last login of the address (written through dict-sql), once newer than
    `after`."""
    deadline = time.monotonic() + 10
    sql = "SELECT last_login FROM mail_last_login WHERE username = :a"
    while True:
        found = await _rows(stack.server.database_url, sql, a=address)
        if found and int(str(found[0][0])) > after:
            return int(str(found[0][0]))
        assert time.monotonic() < deadline, f"no last login after {after} for {address}"
        await asyncio.sleep(0.1)


async def test_counters_agree_with_imap_status(stack: MailStack) -> None:
    store = _store(stack)
    _, name = new_person(stack.server)
    address = f"{name}@example.org"
    for subject in ("one", "two", "three"):
        await store.deliver(address, _raw(subject))
    counted = await store.counters(address, None)
    assert (counted.messages, counted.new_since_login) == (3, 3)
    assert (counted.unread_inbox, counted.unread_all) == (3, 3)
    assert [m.subject for m in counted.recent] == ["three", "two", "one"]
    assert all(m.sender == "news@ext.test" and not m.seen and m.size > 0 for m in counted.recent)
    assert counted.used_bytes == await store.used_bytes(address) > 0
    with imap(stack, address) as client:
        assert status(client)["MESSAGES"] == 3
        client.select("INBOX")
        assert client.store("1", "+FLAGS", "\\Seen")[0] == "OK"
        client.create("Archive")
        appended = client.append("Archive", "", None, _raw("filed"))
        assert appended[0] == "OK", appended
        inbox, archive = status(client), status(client, "Archive")
    counted = await store.counters(address, None)
    assert counted.messages == inbox["MESSAGES"] == 3
    assert counted.unread_inbox == inbox["UNSEEN"] == 2
    assert counted.unread_all == inbox["UNSEEN"] + archive["UNSEEN"] == 3
    assert [m.seen for m in counted.recent] == [False, False, True]
    await store.remove(address)
    emptied = await store.counters(address, None)
    assert (emptied.messages, emptied.unread_all) == (0, 0)


async def test_a_second_login_starts_new_since_login_again(stack: MailStack) -> None:
    store = _store(stack)
    _, name = new_person(stack.server)
    address = f"{name}@example.org"
    await store.deliver(address, _raw("before any login"))
    time.sleep(1.1)  # the plugin counts seconds: a login in the same second is a tie
    imap(stack, address).logout()
    first = await last_login(stack, address)
    time.sleep(1.1)
    await store.deliver(address, _raw("after the first login"))
    await store.deliver(address, _raw("again"))
    since_first = await store.counters(address, datetime.fromtimestamp(first, UTC))
    assert (since_first.messages, since_first.new_since_login) == (3, 2)
    time.sleep(1.1)
    imap(stack, address).logout()
    second = await last_login(stack, address, after=first)
    since_second = await store.counters(address, datetime.fromtimestamp(second, UTC))
    assert (since_second.messages, since_second.new_since_login) == (3, 0)
    time.sleep(1.1)
    await store.deliver(address, _raw("after the second login"))
    latest = await store.counters(address, datetime.fromtimestamp(second, UTC))
    assert latest.new_since_login == 1
    with imap(stack, address) as client:  # a flag renames the file: not new again
        client.select("INBOX")
        assert client.store("1:2", "+FLAGS", "\\Seen")[0] == "OK"
    flagged = await store.counters(address, datetime.fromtimestamp(second, UTC))
    assert (flagged.messages, flagged.new_since_login) == (4, 1)


async def test_more_new_messages_than_the_newest_five_are_all_counted(
    stack: MailStack,
) -> None:
    store = _store(stack)
    _, name = new_person(stack.server)
    address = f"{name}@example.org"
    for n in range(3):
        await store.deliver(address, _raw(f"old {n}"))
    time.sleep(1.1)
    imap(stack, address).logout()
    login = datetime.fromtimestamp(await last_login(stack, address), UTC)
    time.sleep(1.1)
    for n in range(8):
        await store.deliver(address, _raw(f"new {n}"))
    counted = await store.counters(address, login)
    assert (counted.messages, counted.new_since_login) == (11, 8)
    assert counted.used_bytes == await store.used_bytes(address) > 0


async def test_unknown_mailboxes_count_nothing_and_refuse_delivery(stack: MailStack) -> None:
    store = _store(stack)
    counted = await store.counters("nobody-at-all@example.org", None)
    assert (counted.messages, counted.used_bytes, counted.recent) == (0, 0, ())
    with pytest.raises(OSError):
        await store.deliver("nobody-at-all@example.org", _raw("lost"))


def test_townhall_delivers_into_dovecot_when_told_to(stack: MailStack) -> None:
    """TOWNHALL_MAIL_STORE=dovecot: what Townhall stores itself (its own receiver here,
    notifications in production) goes over LMTP into the mailbox IMAP reads."""
    _, name = new_person(stack.server)
    address = f"{name}@example.org"
    message = f"From: a@b.test\r\nTo: {address}\r\nSubject: via townhall\r\n\r\nhi\r\n"
    with smtplib.SMTP("127.0.0.1", stack.embedded_smtp_port, timeout=20) as smtp:
        assert smtp.sendmail("a@b.test", [address], message) == {}
    assert subjects(stack, address) == ["via townhall"]


class _CountingStore(DovecotStore):
    """The real store, counting its doveadm round trips."""

    posts = 0

    def _post(self, body: list[list[Any]]) -> list[list[Any]]:
        self.posts += 1
        return super()._post(body)


async def test_an_unchanged_inbox_is_one_command_and_every_change_shows(
    stack: MailStack,
) -> None:
    """The newest five are fetched again only when INBOX's modification sequence
    moved: a new message, an expunge or a flag change shows at the next read."""
    engines = stack.engines
    store = _CountingStore(
        engines.doveadm_url, engines.doveadm_key, f"127.0.0.1:{engines.lmtp_port}"
    )
    _, name = new_person(stack.server)
    address = f"{name}@example.org"
    for n in range(7):
        await store.deliver(address, _raw(f"m{n}"))
    counted = await store.counters(address, None)
    assert [m.subject for m in counted.recent] == ["m6", "m5", "m4", "m3", "m2"]
    assert (counted.messages, store.posts) == (7, 2)  # status, then the newest five
    assert (await store.counters(address, None)).recent == counted.recent
    assert store.posts == 3  # unchanged: the status alone
    await store.deliver(address, _raw("m7"))
    counted = await store.counters(address, None)
    assert [m.subject for m in counted.recent] == ["m7", "m6", "m5", "m4", "m3"]
    assert (counted.messages, store.posts) == (8, 5)
    with imap(stack, address) as client:
        client.select("INBOX")
        assert client.store("8", "+FLAGS", "\\Seen")[0] == "OK"
    counted = await store.counters(address, None)
    assert [m.seen for m in counted.recent] == [True, False, False, False, False]
    with imap(stack, address) as client:
        client.select("INBOX")
        assert client.store("7:8", "+FLAGS", "\\Deleted")[0] == "OK"
        assert client.expunge()[0] == "OK"
    counted = await store.counters(address, None)
    assert [m.subject for m in counted.recent] == ["m5", "m4", "m3", "m2", "m1"]
    assert counted.messages == 6
