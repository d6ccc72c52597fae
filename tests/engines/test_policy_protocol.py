"""Townhall's policy service speaks Postfix's policy-delegation protocol: many requests
per connection, an answer for each, DUNNO for what is not a recipient decision."""

from __future__ import annotations

import socket

import pytest

from tests.engines.conftest import MailStack
from tests.helpers.ox import context_admin, new_person

pytestmark = pytest.mark.engines


def _ask(conn: socket.socket, reader: socket.SocketIO, **attributes: str) -> str:
    request = {"request": "smtpd_access_policy", "protocol_state": "RCPT", **attributes}
    conn.sendall("".join(f"{k}={v}\n" for k, v in request.items()).encode() + b"\n")
    lines = []
    while True:
        line = reader.readline().decode().rstrip("\n")
        if not line:
            return "\n".join(lines)
        lines.append(line)


def test_one_connection_many_answers(stack: MailStack) -> None:
    ox = context_admin(stack.server)
    uid, name = new_person(stack.server)
    address = f"{name}@example.org"
    assert ox.put(f"/admin/contexts/1/users/{uid}/blacklist/*@bad.test").ok
    assert ox.put(f"/admin/contexts/1/users/{uid}/whitelist/boss@bad.test").ok
    with socket.create_connection(("127.0.0.1", stack.policy_port), timeout=10) as conn:
        reader = socket.SocketIO(conn, "rb")
        refused = _ask(conn, reader, sender="spam@bad.test", recipient=address)
        assert refused.startswith("action=550 5.7.1 ") and "spam@bad.test" in refused, refused
        marked = _ask(conn, reader, sender="boss@bad.test", recipient=address)
        assert marked == "action=PREPEND X-Townhall-Whitelisted: yes"
        assert _ask(conn, reader, sender="a@good.test", recipient=address) == "action=DUNNO"
        # Unknown people and other domains are Postfix's own tables' to refuse.
        unknown = _ask(conn, reader, sender="spam@bad.test", recipient="nobody@example.org")
        assert unknown == "action=DUNNO"
        assert _ask(conn, reader, protocol_state="DATA", recipient=address) == "action=DUNNO"
        assert _ask(conn, reader, sender="spam@bad.test", recipient="") == "action=DUNNO"
