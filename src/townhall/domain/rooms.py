"""The rules a chat room's names and settings obey, whichever API writes them.

One rule per field, so a room refused through one API is refused through every other:
room names are JID nodes (lower-cased), a chat service's name is a domain label, a
party is named by a JID or a local username.
"""

from __future__ import annotations

from townhall.domain import names
from townhall.domain.errors import Invalid, NotFound
from townhall.domain.models import RoomSettings

ALLOW_PRIVATE_MESSAGES = ("anyone", "participants", "moderators", "none")
ROLES = ("moderator", "participant", "visitor")
MAX_SERVICE_NAME = 200
MAX_NATURAL_NAME = 1000
IM = "IM"
"""The sub-type of a room that is an IM (a 1:1 or small group chat, not a room)."""
_NOT_IN_DOMAIN = frozenset("@/\\\"&'<>:")


def room_name(value: str | None) -> str:
    """A room's name as stored: a JID node (see names.node)."""
    return names.node(value or "", "room_name")


def lookup(value: str) -> str:
    """A room name as a client addressed it; a name that cannot be a room names none."""
    try:
        return room_name(value)
    except Invalid:
        raise NotFound("room", value) from None


def service_name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise Invalid("service_name", "must not be empty")
    if len(name) > MAX_SERVICE_NAME:
        raise Invalid("service_name", f"is longer than {MAX_SERVICE_NAME} characters")
    if any(c in _NOT_IN_DOMAIN or c.isspace() or ord(c) < 32 for c in name):
        raise Invalid("service_name", "contains characters not allowed in a domain name")
    return name


def natural_name(value: str) -> str:
    if len(value) > MAX_NATURAL_NAME:
        raise Invalid("natural_name", f"is longer than {MAX_NATURAL_NAME} characters")
    return value


def settings(given: RoomSettings) -> RoomSettings:
    natural_name(given.natural_name)
    if given.max_users < 0:
        raise Invalid("max_users", "must not be negative (0 means no limit)")
    if given.allow_private_messages not in ALLOW_PRIVATE_MESSAGES:
        allowed = ", ".join(ALLOW_PRIVATE_MESSAGES)
        raise Invalid("allow_private_messages", f"must be one of {allowed}")
    unknown = sorted(set(given.broadcast_presence_roles) - set(ROLES))
    if unknown:
        raise Invalid(
            "broadcast_presence_roles",
            f"names an unknown role {unknown[0]!r}; roles are {', '.join(ROLES)}",
        )
    return given


def bare_jid(value: str, field: str, domain: str) -> str:
    """The bare JID a JID (any resource dropped) or a local username stands for.

    A value that is neither is refused naming the field and the value (`kind` room, so
    a dialect can word it as its API does)."""
    if "@" in value:
        local, _, host = value.split("/", 1)[0].partition("@")
    else:
        local, host = value, domain
    host = host.strip().lower()
    unusable = not host or any(c in _NOT_IN_DOMAIN or c.isspace() for c in host)
    try:
        node = names.node(local, field)
    except Invalid:
        unusable = True
    if unusable:
        raise Invalid(field, "is not a JID", kind="room", value=value)
    return f"{node}@{host}"
