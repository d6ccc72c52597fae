"""Plain value objects the services hand to dialects.

They are frozen dataclasses so a dialect can render them but never write them back
behind a service's back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    name: str
    domain: str


@dataclass(frozen=True, slots=True)
class Brand:
    """A reseller (OX's brand): it owns tenants and may sit under another brand."""

    id: int
    name: str
    parent_id: int | None = None
    mail_username: str | None = None


DEFAULT_BRAND_ID = 1
"""The brand every tenant belongs to unless made under another (made by migration 0008)."""


@dataclass(frozen=True, slots=True)
class BrandAdmin:
    """A reseller's administrator: acts on every tenant of its brand and sub-brands."""

    id: int
    brand_id: int
    username: str


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
MEMBER_AFFILIATIONS = ("owner", "admin", "member")
"""The affiliations that make a party a member of the room (an outcast is banned)."""


@dataclass(frozen=True, slots=True)
class RoomSettings:
    """A room's configuration as a multi-user chat room has it: what Openfire's room body
    sets as a whole, and what every API reads (Symphony's room name is `natural_name`,
    its `public` is not `members_only`, its `discoverable` is `public_room`)."""

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
    allow_private_messages: str = "anyone"
    created_at: datetime | None = None
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Affiliations:
    """Who holds which affiliation: user JIDs and group names per affiliation."""

    jids: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Room:
    """One chat room, however it is addressed: by `name` within its chat `service`
    (Openfire's MUC room) or by `stream_id` (Symphony's room or IM, a room of the
    tenant's default service). `settings` are what every API sees; the conversation
    flags after them (keywords, read-only, ...) are set by the APIs that know them and
    kept by the others. An IM is a room whose `sub_type` is IM."""

    id: int
    service: str
    name: str
    settings: RoomSettings
    affiliations: Affiliations
    created_at: datetime
    modified_at: datetime
    stream_id: str | None = None
    keywords: tuple[tuple[str, str], ...] = ()
    active: bool = True
    read_only: bool = False
    copy_protected: bool = False
    cross_pod: bool = False
    view_history: bool = False
    multilateral: bool = False
    sub_type: str | None = None
    created_by: int | None = None


@dataclass(frozen=True, slots=True)
class RoomPage:
    """One page of the rooms a filter matches, how many match in all, and how many of
    those are members-only."""

    rooms: list[Room]
    total: int
    members_only: int


@dataclass(frozen=True, slots=True)
class RoomMember:
    """A person affiliated with a room as owner, admin or member (a room's members as
    Symphony lists them), and since when."""

    user_id: int
    affiliation: str
    joined_at: datetime | None

    @property
    def owner(self) -> bool:
        return self.affiliation == "owner"


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
    "two_factor_phone",
    "recommended_language",
    # What a provider's provisioning keeps about a person (OX's oxdeliverystatus and
    # oxlegacyref; its msisdn is `mobile_phone`).
    "delivery_status",
    "legacy_ref",
)
"""Directory attributes a person may have (each optional)."""
PROFILE_LISTS = (
    "asset_classes",
    "industries",
    "market_coverage",
    "responsibilities",
    "functions",
    "instruments",
    # OX's custom ids and class of service (e.g. cloud_pim, cloud_productivity).
    "custom_ids",
    "class_of_service",
)
"""Directory attributes that are lists of labels (each optional)."""
ACCOUNT_TYPES = ("NORMAL", "SYSTEM", "SDL")


@dataclass(frozen=True, slots=True)
class Person:
    """One account, as every API sees it: Openfire's user (by `username`), Symphony's
    (by `id`, the uid) and RMP's (`username@<a person domain>`). `name` is the display
    name; `properties` hold free-form key/values (Openfire properties, RMP preferences);
    `profile` holds every directory attribute of PROFILE_FIELDS, None where unset;
    `profile_lists` those of PROFILE_LISTS; `metadata` is a JSON object applications
    keep about the person (Symphony's user metadata), None where unset."""

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
    profile_lists: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None


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
    partstat: str | None = None
    """The reader's answer when the event is an invitation to them (RFC 5545 PARTSTAT)."""


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
