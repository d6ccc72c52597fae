"""Announcements: messages a brand shows the people of its tenants for a while.

Each is owned by one brand (whose admins manage it) and shown to the people of the
brands it lists (none listed: the owner's), and of the brands below those, while it is
enabled and the moment is inside [starts_at, ends_at). `version` rises on each change,
so a client showing one can tell it changed; `message` is an opaque JSON object the
client renders (OX's msgJsonObject: texts per language, links...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    version: int
    name: str
    message: dict[str, Any]
    starts_at: datetime | None
    """Shown from this instant on (None: from the start)."""
    ends_at: datetime | None
    """Shown until this instant (None: no end)."""
    timezone: str
    """The IANA zone the times were given in, and are shown in."""
    discardable: bool
    enabled: bool
    owner_brand: str
    brands: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AnnouncementDraft:
    """What a create or an update gives; None: not given (an update keeps it; a create
    takes the default). Times are ISO 8601 text: with an offset they are that instant,
    without one they are read in `timezone`."""

    name: str | None = None
    message: dict[str, Any] | None = None
    starts: str | None = None
    ends: str | None = None
    timezone: str | None = None
    discardable: bool | None = None
    enabled: bool | None = None
    owner_brand: str | None = None
    brands: tuple[str, ...] | None = None
    version: int | None = None
    """The version the caller changed (an update): another is a conflict."""
