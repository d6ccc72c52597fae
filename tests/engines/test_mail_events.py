"""Dovecot's push events reach Townhall: a message delivered through Postfix becomes a
`mail.received` domain event (seen on the deployment's Redis channel, as every other
process of the deployment hears it); the receiving route wants its token."""

from __future__ import annotations

import json
import time

import pytest
import redis
import requests

from tests.engines.conftest import EVENTS_TOKEN, REDIS_URL, MailStack
from tests.engines.test_mail_flow import send
from tests.helpers.ox import new_person
from townhall.infrastructure.mailstore.dovecot import PUSH_KEY, DovecotStore

pytestmark = pytest.mark.engines


def test_the_events_route_wants_its_token_and_a_mailbox(stack: MailStack) -> None:
    url = f"{stack.server.url}/internal/mail/events"
    _, name = new_person(stack.server)
    body = {"user": f"{name}@example.org", "event": "messageNew", "imap-uid": 1}
    assert requests.put(url, json=body).status_code == 401
    assert requests.put(url, json=body, auth=("townhall", "wrong")).status_code == 401
    good = ("townhall", EVENTS_TOKEN)
    refused = requests.put(url, json={"user": 5}, auth=good)
    assert refused.status_code == 400 and "user" in refused.json()["error"]
    refused = requests.put(url, json={**body, "imap-uid": "x"}, auth=good)
    assert refused.status_code == 400 and "imap-uid" in refused.json()["error"]
    unknown = requests.put(url, json={**body, "user": "nobody@example.org"}, auth=good)
    assert unknown.status_code == 404
    bearer = {"Authorization": f"Bearer {EVENTS_TOKEN}"}
    assert requests.post(url, json=body, headers=bearer).status_code == 204


async def _push_enabled(stack: MailStack, address: str) -> None:
    """Wait for the server to have set the push key (it does on hearing user.created)."""
    engines = stack.engines
    store = DovecotStore(engines.doveadm_url, engines.doveadm_key, f"127.0.0.1:{engines.lmtp_port}")
    get = {"user": address, "allowEmptyMailboxName": True, "mailbox": "", "key": PUSH_KEY}
    deadline = time.monotonic() + 10
    while not any(
        row.get("value") for row in (await store._batch([("mailboxMetadataGet", get)]))[0]
    ):
        assert time.monotonic() < deadline, f"push never enabled for {address}"
        time.sleep(0.1)


async def test_a_person_made_through_any_api_gets_push_events(stack: MailStack) -> None:
    _, name = new_person(stack.server)  # through Openfire: nothing else is called
    address = f"{name}@example.org"
    await _push_enabled(stack, address)
    listener = redis.Redis.from_url(REDIS_URL).pubsub()
    listener.subscribe(f"{stack.deployment}.events")
    try:
        assert send(stack, "news@ext.test", [address], "pushed") == {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            message = listener.get_message(timeout=0.5)
            if message is None or message["type"] != "message":
                continue
            event = json.loads(message["data"])
            if event["topic"] == "mail.received" and event["subject"] == address:
                assert event["data"]["subject"] == "pushed"
                assert event["data"]["folder"] == "INBOX"
                assert "someone@outside.test" in event["data"]["from"]
                return
        raise AssertionError(f"no mail.received event for {address}")
    finally:
        listener.close()
