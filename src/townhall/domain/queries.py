"""What listings and searches may filter on: shared by dialects, services and the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UserFilter:
    """What `GET /users`-style listings may filter on; all optional, combined with AND."""

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
