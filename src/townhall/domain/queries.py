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
class StreamQuery:
    text: str
    labels: tuple[str, ...] = ()
    active: bool | None = None
    private: bool | None = None
    owner: int | None = None
    creator: int | None = None
    member: int | None = None
    sub_type: str | None = None
    include_hidden: bool = False


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
