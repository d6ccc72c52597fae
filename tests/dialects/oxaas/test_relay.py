"""Mail leaves this server through the outbound relay (a real SMTP peer on loopback):
received mail for a forward to another server, and RMP invitations to outside
attendees, while internal attendees get their invitation in their mailbox here."""

from __future__ import annotations

import email
import smtplib
from collections.abc import Iterator

import icalendar
import pytest

from tests.conftest import RunningServer, _free_port, start_server, stop_server, unique
from tests.helpers.mail import MailingServer, mailing_server, message
from tests.helpers.ox import context_admin, new_person
from tests.helpers.rmp import admin, at, book, make_resource
from townhall.infrastructure.mailstore.maildir import MaildirStore


@pytest.fixture(scope="module")
def mailing(
    server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MailingServer]:
    with mailing_server(server.database_url, tmp_path_factory.mktemp("relay")) as running:
        yield running


async def test_a_forward_to_another_server_is_relayed_with_its_envelope_sender(
    mailing: MailingServer,
) -> None:
    ox = context_admin(mailing.server)
    _, name = new_person(mailing.server)
    local = f"{name}@example.org"
    alias = f"{unique('out')}@example.org"
    far = f"{unique('someone')}@far.test"
    assert ox.put(f"/admin/forwards/1/{alias}", json=[far, local]).ok
    subject = unique("relayed")
    with smtplib.SMTP("127.0.0.1", mailing.smtp_port, timeout=10) as smtp:
        refused = smtp.send_message(
            message(subject, "sender@origin.test"), from_addr="sender@origin.test", to_addrs=[alias]
        )
    assert refused == {}
    relayed = mailing.relay.wait_for(far)
    assert relayed.sender == "sender@origin.test"  # the envelope sender, kept
    assert relayed.recipients == [far]  # only the outside recipient: the local one is ours
    assert relayed.message["Subject"] == subject
    stored = await mailing.store.messages(local)
    assert [subject.encode() in m for m in stored] == [True]


def test_this_server_is_no_open_relay(mailing: MailingServer) -> None:
    """Only a forward of a hosted address leads elsewhere: mail straight to an outside
    address is refused even though a relay is set."""
    with (
        pytest.raises(smtplib.SMTPRecipientsRefused) as refusal,
        smtplib.SMTP("127.0.0.1", mailing.smtp_port, timeout=10) as smtp,
    ):
        smtp.send_message(
            message("abuse", "a@b.test"), from_addr="a@b.test", to_addrs=["x@far.test"]
        )
    code, reply = refusal.value.recipients["x@far.test"]
    assert code == 550 and b"5.1.2" in reply
    assert mailing.relay.to("x@far.test") == []


async def test_internal_invitees_find_the_invitation_in_their_mailbox(
    mailing: MailingServer,
) -> None:
    _, name = new_person(mailing.server)
    inside, outside = f"{name}@example.org", f"{unique('guest')}@example.net"
    rmp = admin(mailing.server)
    resource = make_resource(rmp)
    made = book(
        rmp, resource, at(14, 10), at(15, 10), attendees=[inside, outside], sendInvitations=True
    )
    assert made.status_code == 201, made.text
    relayed = mailing.relay.wait_for(outside)
    assert relayed.recipients == [outside]  # the internal invitee is not the relay's
    stored = await mailing.store.messages(inside)
    assert len(stored) == 1
    invitation = email.message_from_bytes(stored[0])
    assert invitation["Subject"] == relayed.message["Subject"]
    parts = [p.get_content_type() for p in invitation.walk()]
    assert "text/calendar" in parts
    calendar = next(p for p in invitation.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "REQUEST"
    event = icalendar.Calendar.from_ical(calendar.get_payload(decode=True)).walk("VEVENT")[0]
    assert {str(a).removeprefix("mailto:") for a in event["ATTENDEE"]} == {inside, outside}
    assert mailing.relay.to(inside) == []


@pytest.fixture(scope="module")
def unreachable_relay(
    server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, int, MaildirStore]]:
    """A server whose relay is set but does not answer (nothing listens on its port)."""
    folder = tmp_path_factory.mktemp("dead-relay")
    port = _free_port()
    running = start_server(
        server.database_url,
        folder / "server.log",
        TOWNHALL_SMTP_LISTEN=f"127.0.0.1:{port}",
        TOWNHALL_SMTP_URL=f"smtp://127.0.0.1:{_free_port()}",
        TOWNHALL_MAIL_DIR=str(folder / "mailboxes"),
    )
    yield running, port, MaildirStore(folder / "mailboxes")
    stop_server(running)


async def test_a_relay_that_does_not_take_it_is_a_451_and_nothing_is_stored(
    unreachable_relay: tuple[RunningServer, int, MaildirStore],
) -> None:
    """The sender retries later; the local recipient must not get it twice."""
    server, port, store = unreachable_relay
    _, name = new_person(server)
    local = f"{name}@example.org"
    alias = f"{unique('down')}@example.org"
    assert context_admin(server).put(f"/admin/forwards/1/{alias}", json=["x@far.test", local]).ok
    with (
        pytest.raises(smtplib.SMTPDataError) as refusal,
        smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp,
    ):
        smtp.send_message(
            message("later", "a@origin.test"), from_addr="a@origin.test", to_addrs=[alias]
        )
    assert refusal.value.smtp_code == 451
    assert await store.messages(local) == []
