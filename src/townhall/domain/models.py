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
class Group:
    id: int
    tenant_id: int
    name: str
    description: str | None
    shared: bool
    admins: tuple[str, ...] = ()
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Contact:
    """An entry on a person's contact list (see domain/contacts.py)."""

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
class LiveConnection:
    """A connected client of a person (an XMPP resource, a WebSocket...), as the
    connection layer that holds it registered it."""

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
"""Directory attributes a person may have (each optional)."""
ACCOUNT_TYPES = ("NORMAL", "SYSTEM", "SDL")


@dataclass(frozen=True, slots=True)
class Person:
    """One account, as every API sees it: Openfire's user (by `username`), Symphony's
    (by `id`, the uid) and RMP's (`username@<a person domain>`). `name` is the display
    name; `properties` hold free-form key/values (Openfire properties, RMP preferences);
    `profile` holds every directory attribute of PROFILE_FIELDS, None where unset."""

    id: int
    tenant_id: int
    username: str
    name: str
    email: str | None
    locked: bool
    created_at: datetime
    updated_at: datetime
    properties: dict[str, str | None] = field(default_factory=dict)
    profile: dict[str, str | None] = field(default_factory=dict)
    account_type: str = "NORMAL"
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class StreamAttributes:
    """What a client may set on a room seen as a stream (Symphony's room attributes);
    None leaves an attribute as it is."""

    name: str | None = None
    description: str | None = None
    keywords: tuple[tuple[str, str], ...] | None = None
    public: bool | None = None
    discoverable: bool | None = None
    members_can_invite: bool | None = None
    read_only: bool | None = None
    copy_protected: bool | None = None
    cross_pod: bool | None = None
    view_history: bool | None = None
    multilateral: bool | None = None
    sub_type: str | None = None


@dataclass(frozen=True, slots=True)
class ChatStream:
    """A room addressed by its stream id. `public` is "anyone may join" (Openfire's
    members-only turned around); `discoverable` is "listed" (Openfire's publicRoom)."""

    room_id: int
    stream_id: str
    name: str
    description: str
    keywords: tuple[tuple[str, str], ...]
    public: bool
    discoverable: bool
    members_can_invite: bool
    read_only: bool
    copy_protected: bool
    cross_pod: bool
    view_history: bool
    multilateral: bool
    sub_type: str | None
    active: bool
    created_at: datetime
    created_by: int | None


@dataclass(frozen=True, slots=True)
class StreamMember:
    user_id: int
    owner: bool
    joined_at: datetime | None


@dataclass(frozen=True, slots=True)
class AppEntitlement:
    """An application the tenant offers (`enabled`) or a user has (`enabled` unused)."""

    app_id: str
    app_name: str | None
    listed: bool
    install: bool
    enabled: bool = True
    products: tuple[dict[str, object], ...] = ()


# Resources, bookings and calendars.

FIELD_TYPES = ("number", "text", "select", "multiselect")
BOOKING_STATUSES = ("confirmed", "tentative", "cancelled")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One custom field a resource type asks of its resources."""

    name: str
    type: str
    required: bool = False
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceCategory:
    slug: str
    name: str
    icon: str | None


@dataclass(frozen=True, slots=True)
class ResourceType:
    slug: str
    name: str
    category: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True, slots=True)
class Resource:
    """A bookable thing, addressed as the resource account `name@domain`."""

    id: int
    name: str
    domain: str
    display_name: str
    type: str
    category: str
    capacity: int | None
    features: tuple[str, ...]
    custom_fields: dict[str, object]
    active: bool
    created_at: datetime
    updated_at: datetime

    @property
    def address(self) -> str:
        return f"{self.name}@{self.domain}"


@dataclass(frozen=True, slots=True)
class Booking:
    id: str
    resource: str
    title: str
    starts_at: datetime
    ends_at: datetime
    status: str
    organizer: str
    attendees: tuple[str, ...]
    services: tuple[str, ...]
    calendar_event_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar as its reader sees it: `access` is the reader's, `type` whose it is."""

    id: int
    name: str
    type: str
    access: str


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """An event, or with `recurrence_id` set, one occurrence of a recurring event."""

    id: str
    calendar: str
    uid: str
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str | None
    organizer: str | None
    attendees: tuple[str, ...]
    rrule: str | None
    status: str
    booking_id: str | None = None
    recurrence_id: datetime | None = None


@dataclass(frozen=True, slots=True)
class BusyPeriod:
    starts_at: datetime
    ends_at: datetime
    type: str


DOMAIN_KINDS = ("primary", "alias", "resource-subdomain")


@dataclass(frozen=True, slots=True)
class Domain:
    """A mail domain of a tenant. `alias` domains are further names of the tenant's
    people; `resource-subdomain`s hold resource accounts under their `parent`."""

    name: str
    kind: str
    parent: str | None
    users: int
    resources: int
    created_at: datetime | None
    settings: dict[str, object] = field(default_factory=dict)
