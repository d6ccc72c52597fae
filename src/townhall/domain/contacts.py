"""The rules a contact entry obeys, whichever API writes it.

A contact is an entry on a person's list (Openfire's roster item; a Symphony connection
is a pair of them): the contact's bare JID, a nickname, the groups it is filed under,
and the presence subscription between the two. Subscriptions are XMPP's states, which
are two bits: TO (the owner receives the contact's presence) and FROM (the contact
receives the owner's); REMOVE (-1) is a removal in progress.
"""

from __future__ import annotations

from collections.abc import Sequence

from townhall.domain import names
from townhall.domain.errors import Invalid

REMOVE, NONE, TO, FROM, BOTH = -1, 0, 1, 2, 3
SUBSCRIPTIONS = range(REMOVE, BOTH + 1)
MAX_JID = 3071
MAX_NICKNAME = 1023


def jid(value: str | None) -> str:
    """The bare JID a list is keyed by: lower-cased, a resource dropped."""
    if value is None or not value.strip():
        raise Invalid("jid", "must not be empty", kind="empty")
    local, domain, _ = names.split_jid(value.strip())
    if not domain or any(c.isspace() or c == "@" for c in domain):
        raise Invalid("jid", "is not a JID", kind="not_a_jid", value=value)
    if local is not None:
        try:
            local = names.node(local, "jid")
        except Invalid:
            raise Invalid("jid", "is not a JID", kind="not_a_jid", value=value) from None
    bare = f"{local}@{domain}" if local else domain
    if len(bare) > MAX_JID:
        raise Invalid("jid", f"is longer than {MAX_JID} characters")
    return bare


def nickname(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_NICKNAME:
        raise Invalid("nickname", f"is longer than {MAX_NICKNAME} characters")
    return value


def groups(values: Sequence[str]) -> tuple[str, ...]:
    """Each group once, in the order given."""
    return tuple(dict.fromkeys(values))


def subscription(value: int | None) -> int:
    """A subscription state; none given means none (0)."""
    state = NONE if value is None else value
    if state not in SUBSCRIPTIONS:
        raise Invalid("subscription", f"must be between {REMOVE} and {BOTH}")
    return state


def after_removal(mirror: int, removed: int) -> int:
    """The contact's subscription to the owner once the owner removed its entry for the
    contact, whose subscription was `removed`: what the owner received (TO) the contact
    no longer sends (its FROM goes), and what the owner sent (FROM) the contact no longer
    receives (its TO goes), as XMPP's unsubscribe and unsubscribed do."""
    if mirror < NONE or removed <= NONE:
        return mirror
    lost = (FROM if removed & TO else NONE) | (TO if removed & FROM else NONE)
    return mirror & ~lost
