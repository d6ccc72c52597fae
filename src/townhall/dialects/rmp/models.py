"""RMP request bodies, as msgspec structs: camelCase on the wire, strict types, so a
string where a boolean belongs is a 400 naming the field."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Time = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]
"""An ISO 8601 time with an offset (checked by `http.parse_time`, so a bad one is
refused naming its field); the annotation only describes it."""
Email = Annotated[str, msgspec.Meta(extra_json_schema={"format": "email"})]
DomainName = Annotated[str, msgspec.Meta(extra_json_schema={"format": "hostname"})]
Slug = Annotated[str, msgspec.Meta(extra_json_schema={"pattern": "^[a-z0-9-]{1,100}$"})]
"""A catalogue id (a type's, a category's): lower-case letters, digits and -.
These annotations describe what the services check; they refuse in RMP's own words."""


class Body(msgspec.Struct, rename="camel", forbid_unknown_fields=False):
    pass


class LoginRequest(Body):
    email: Email
    password: str
    server: str | None = None


class CreateUser(Body):
    email: Email
    password: str
    real_name: str
    create_calendar: bool = True
    create_contacts: bool = True
    is_admin: bool = False


class UpdateUser(Body):
    real_name: str | None = None
    password: str | None = None
    is_admin: bool | None = None
    settings: dict[str, Any] | None = None


class ResetPassword(Body):
    new_password: str
    require_change: bool = False


class CreateDomain(Body):
    domain: DomainName
    type: str = "primary"
    admin_email: str | None = None


class CreateBooking(Body):
    resource_id: str
    title: str
    start_time: Time
    end_time: Time
    attendees: list[str] = []
    send_invitations: bool = False
    services: list[str] = []
    status: str = "confirmed"


class UpdateBooking(Body):
    resource_id: str | None = None
    title: str | None = None
    start_time: Time | None = None
    end_time: Time | None = None
    attendees: list[str] | None = None
    send_invitations: bool = False  # as on create: mail only when asked
    services: list[str] | None = None
    status: str | None = None


class ConflictCheck(Body):
    resources: list[str]
    start_time: Time
    end_time: Time


class FieldBody(Body):
    name: str
    type: str
    required: bool = False
    options: list[str] = []


class CategoryBody(Body):
    id: Slug
    name: str
    icon: str | None = None


class CreateType(Body):
    id: Slug
    name: str
    category: Slug
    fields: list[FieldBody] = []
    categories: list[CategoryBody] = []


class UpdateType(Body):
    name: str | None = None
    category: str | None = None
    fields: list[FieldBody] | None = None
    categories: list[CategoryBody] = []


class ResourceBody(Body):
    """Create (name and type required there) or update (every field optional)."""

    name: str | None = None
    type: str | None = None
    category: str | None = None
    custom_fields: dict[str, Any] | None = None
    capacity: int | None = None
    features: list[str] | None = None
    id: str | None = None
    domain: str | None = None
    active: bool | None = None


class ContactBody(Body):
    """A new contact: `name` and `email` are required unless the vCard gives them."""

    name: str | None = None
    email: Email | None = None
    phone: str | None = None
    organization: str | None = None
    address_book: str | None = None
    vcard: str | None = None


class UpdateContactBody(Body):
    """A contact's (or contact group's) changes: an absent field stays; `phone`,
    `organization` or `description` null removes it."""

    name: str | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    phone: str | msgspec.UnsetType | None = msgspec.UNSET
    organization: str | msgspec.UnsetType | None = msgspec.UNSET
    address_book: str | msgspec.UnsetType | None = msgspec.UNSET
    vcard: str | msgspec.UnsetType | None = msgspec.UNSET
    members: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    description: str | msgspec.UnsetType | None = msgspec.UNSET


class CreateContactGroup(Body):
    name: str
    members: list[str]
    description: str | None = None
    address_book: str | None = None
