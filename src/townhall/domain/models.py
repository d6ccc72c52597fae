"""Plain value objects the services hand to dialects.

They are frozen dataclasses so a dialect can render them but never write them back
behind a service's back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    name: str
    domain: str


@dataclass(frozen=True, slots=True)
class User:
    id: int
    tenant_id: int
    username: str
    name: str
    email: str | None
    locked: bool
    created_at: datetime
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    tenant_id: int
    name: str
    description: str | None
    shared: bool
    admins: tuple[str, ...] = ()
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RosterItem:
    jid: str
    nickname: str | None
    subscription: int
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChatService:
    id: int
    tenant_id: int
    name: str
    description: str | None
    hidden: bool


AFFILIATIONS = ("owner", "admin", "member", "outcast")


@dataclass(frozen=True, slots=True)
class RoomSettings:
    """Everything about a room a client may set; shared by create and update."""

    natural_name: str = ""
    description: str = ""
    password: str | None = None
    subject: str | None = None
    max_users: int = 0
    persistent: bool = False
    public_room: bool = False
    registration_enabled: bool = False
    can_anyone_discover_jid: bool = False
    can_occupants_change_subject: bool = False
    can_occupants_invite: bool = False
    can_change_nickname: bool = False
    log_enabled: bool = False
    login_restricted_to_nickname: bool = False
    members_only: bool = False
    moderated: bool = False
    broadcast_presence_roles: tuple[str, ...] = ()
    allow_pm: str = "anyone"
    created_at: datetime | None = None
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Affiliations:
    """Who holds which affiliation: user JIDs and group names per affiliation."""

    jids: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Room:
    id: int
    service: str
    name: str
    settings: RoomSettings
    affiliations: Affiliations
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class LiveSession:
    id: int
    username: str | None
    resource: str
    node: str
    status: str
    presence_show: str | None
    presence_message: str | None
    priority: int
    host_address: str | None
    host_name: str | None
    secure: bool
    created_at: datetime
    last_active_at: datetime


@dataclass(frozen=True, slots=True)
class RoomMessage:
    sender: str | None
    to: str | None
    type: str
    body: str | None
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Occupant:
    """Someone in a room: `jid` is the in-room address (room@service/nick)."""

    nickname: str
    real_jid: str
    role: str
    affiliation: str
    jid: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    username: str | None
    occurred_at: datetime
    summary: str
    node: str | None
    details: str | None


PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "company_name",
    "department",
    "division",
    "location",
    "job_function",
    "work_phone",
    "mobile_phone",
    "sms_number",
)
ACCOUNT_TYPES = ("NORMAL", "SYSTEM", "SDL")


@dataclass(frozen=True, slots=True)
class Person:
    """A user with the profile a directory shows (Symphony's view of a user). The display
    name is the user's `name`, the one Openfire shows too."""

    user: User
    profile: dict[str, str | None]
    account_type: str
    roles: frozenset[str]
    updated_at: datetime
