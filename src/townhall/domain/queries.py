"""What listings and searches may filter on: shared by dialects, services and the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_PAGE = 100_000
"""The longest page any listing hands out at once."""


@dataclass(frozen=True, slots=True)
class PersonFilter:
    """What listings of people may filter on; all optional, combined with AND."""

    username_contains: str | None = None
    property_key: str | None = None
    property_value: str | None = None
    email: str | None = None
    name_contains: str | None = None
    # Username, name or e-mail address contains it, ignoring case (RMP's `search`).
    text: str | None = None


@dataclass(frozen=True, slots=True)
class RoomFilter:
    """What listings and searches of rooms filter on; all optional, combined with AND.

    `name_contains`: in the room's name or natural name (a directory's search);
    `text`: in its natural name, description or keywords, and each of `labels` in its
    keywords (a conversation search); all ignoring case. `listed_only`: only rooms
    listed in the directory (`public_room`). `creator`, `owner`, `member`: person ids
    (a member is an owner, admin or member). IMs are rooms too, left out unless
    `include_ims`."""

    name_contains: str | None = None
    text: str | None = None
    labels: tuple[str, ...] = ()
    listed_only: bool = False
    active: bool | None = None
    members_only: bool | None = None
    sub_type: str | None = None
    creator: int | None = None
    owner: int | None = None
    member: int | None = None
    include_ims: bool = True


@dataclass(frozen=True, slots=True)
class ResourceQuery:
    """What resource listings filter on; all optional, combined with AND.

    `features`: every one of them ("a projector and a whiteboard"). `free_from` /
    `free_till`: no live booking shares an instant with [free_from, free_till); equal
    times ask "free at that instant". `text`: in the display or account name.
    `parent_domain`: only the resource sub-domains of that person domain."""

    type: str | None = None
    category: str | None = None
    min_capacity: int | None = None
    features: tuple[str, ...] = ()
    free_from: datetime | None = None
    free_till: datetime | None = None
    text: str | None = None
    parent_domain: str | None = None


@dataclass(frozen=True, slots=True)
class BookingQuery:
    """What booking listings filter on; all optional, combined with AND. `since` /
    `until`: bookings that share an instant with that range; `resource`: its address.
    Whose bookings are listed is the booking service's to decide."""

    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    resource: str | None = None
