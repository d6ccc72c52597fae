"""Black and white lists made through /oxaas/v1 act inside the engines: the policy
service refuses a black-listed sender for a direct recipient at RCPT (the routing core
decides, as in embedded mode), marks a white-listed one, and the Sieve before-script
Townhall renders drops what reaches a refusing owner through a forward."""

from __future__ import annotations

import smtplib

import pytest

from tests.engines.conftest import MailStack
from tests.engines.test_mail_flow import imap, messages, send, subjects
from tests.helpers.ox import context_admin, new_person

pytestmark = pytest.mark.engines


def test_a_black_listed_sender_is_refused_550_for_a_direct_recipient(stack: MailStack) -> None:
    ox = context_admin(stack.server)
    uid, name = new_person(stack.server)
    address = f"{name}@example.org"
    assert ox.put(f"/admin/contexts/1/users/{uid}/blacklist/spammer@bad.test").ok
    assert ox.put(f"/admin/contexts/1/users/{uid}/blacklist/worse.test").ok
    for sender in ("spammer@bad.test", "anyone@worse.test"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(stack, sender, [address], "refused")
        code, reply = refused.value.recipients[address]
        assert code == 550 and b"5.7.1" in reply and b"refused by the recipient" in reply, reply
    assert send(stack, "friend@good.test", [address], "welcome") == {}
    assert messages(stack, address, 1) == 1
    assert ox.delete(f"/admin/contexts/1/users/{uid}/blacklist/spammer@bad.test").ok
    assert send(stack, "spammer@bad.test", [address], "forgiven") == {}
    assert messages(stack, address, 2) == 2


def test_a_white_listed_sender_is_marked(stack: MailStack) -> None:
    ox = context_admin(stack.server)
    uid, name = new_person(stack.server)
    address = f"{name}@example.org"
    assert ox.put(f"/admin/contexts/1/users/{uid}/blacklist/bad.test").ok
    assert ox.put(f"/admin/contexts/1/users/{uid}/whitelist/boss@bad.test").ok
    assert send(stack, "boss@bad.test", [address], "white wins") == {}
    assert messages(stack, address, 1) == 1
    with imap(stack, address) as client:
        client.select("INBOX", readonly=True)
        kind, data = client.fetch("1", "(BODY.PEEK[HEADER])")
    assert kind == "OK"
    header = data[0][1].decode() if isinstance(data[0], tuple) else ""
    assert "X-Townhall-Whitelisted: yes" in header, header


def test_behind_a_forward_only_the_owners_who_accept_get_it(stack: MailStack) -> None:
    ox = context_admin(stack.server)
    alice_uid, alice = new_person(stack.server)
    _, bob = new_person(stack.server)
    alice_at, bob_at = f"{alice}@example.org", f"{bob}@example.org"
    alias = f"sales-{alice}@example.org"
    assert ox.put(f"/admin/forwards/1/{alias}", json=[alice_at, bob_at]).ok
    assert ox.put(f"/admin/contexts/1/users/{alice_uid}/blacklist/spammer@bad.test").ok
    assert send(stack, "spammer@bad.test", [alias], "to the alias") == {}
    assert messages(stack, bob_at, 1) == 1
    stack.engines.maillog_until(f"to=<{alice_at}>", f"orig_to=<{alias}>", "status=sent")
    assert subjects(stack, bob_at) == ["to the alias"]
    assert messages(stack, alice_at, 1, timeout=0) == 0
    # Lists cleared: the script goes, the next message reaches alice too.
    assert ox.delete(f"/admin/contexts/1/users/{alice_uid}/blacklist").ok
    assert send(stack, "spammer@bad.test", [alias], "after clearing") == {}
    assert messages(stack, alice_at, 1) == 1
