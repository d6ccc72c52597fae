"""The rules a person's fields obey, whichever API writes them.

One rule per field, so an address refused through one API is refused through all of
them, and a value accepted is one every database column can hold.
"""

from __future__ import annotations

import json
from typing import Any

from townhall.domain import names, recurrence, roles
from townhall.domain.errors import Invalid
from townhall.domain.models import ACCOUNT_TYPES, PROFILE_FIELDS, PROFILE_LISTS

MAX_NAME = 1023
MAX_PROPERTY_KEY = 200
PROFILE_LIMITS = {
    **dict.fromkeys(PROFILE_FIELDS, 255),
    "work_phone": 64,
    "mobile_phone": 64,
    "sms_number": 64,
    "two_factor_phone": 64,
    "delivery_status": 64,
}
MAX_LABEL = 255
MAX_LABELS = 100
MAX_METADATA_BYTES = 64 * 1024


def username(value: str | None) -> str:
    """A username is a JID local part (see names.node): trimmed, folded, lower-cased."""
    return names.node(value or "", "username")


def email(value: str | None) -> str | None:
    """An e-mail address, or None for none (an empty string clears it)."""
    if value is None or not value.strip():
        return None
    return names.email(value, "email")


def display_name(value: str) -> str:
    if len(value) > MAX_NAME:
        raise Invalid("display_name", f"is longer than {MAX_NAME} characters")
    return value


MIN_PASSWORD = 8
"""The shortest password, unless the deployment sets another (`password_min_length`)."""


def password(value: str | None, min_length: int = MIN_PASSWORD) -> str | None:
    """None means no password (the account signs in some other way, if at all)."""
    if value is not None and not value:
        raise Invalid("password", "must not be empty")
    if value is not None and len(value) < min_length:
        raise Invalid("password", f"must be at least {min_length} characters", "password_policy")
    return value


TIMEZONE_PROPERTY = "rmp.timezone"
"""The property holding a person's time-zone preference (an IANA name), which their
calendar series expand in; refused unless the zone database knows it."""


def properties(values: dict[str, str | None]) -> dict[str, str | None]:
    for key, value in values.items():
        if not key or len(key) > MAX_PROPERTY_KEY:
            raise Invalid("properties", f"holds a key not 1 to {MAX_PROPERTY_KEY} characters long")
        if key == TIMEZONE_PROPERTY and value is not None:
            values = {**values, key: recurrence.zone(value, "timezone").key}
    return values


def profile(values: dict[str, str | None]) -> dict[str, str | None]:
    for field, value in values.items():
        limit = PROFILE_LIMITS.get(field)
        if limit is None:
            raise Invalid(field, "is not a profile attribute")
        if value is not None and len(value) > limit:
            raise Invalid(field, f"is longer than {limit} characters")
    return values


def profile_lists(values: dict[str, tuple[str, ...] | None]) -> dict[str, tuple[str, ...] | None]:
    """Lists of labels (asset classes, industries ...): each label text a column holds."""
    for field, labels in values.items():
        if field not in PROFILE_LISTS:
            raise Invalid(field, "is not a profile attribute")
        if labels is None:
            continue
        if len(labels) > MAX_LABELS:
            raise Invalid(field, f"holds more than {MAX_LABELS} labels")
        for label in labels:
            if len(label) > MAX_LABEL:
                raise Invalid(field, f"holds a label longer than {MAX_LABEL} characters")
    return values


def metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Application metadata: any JSON object, kept small (it is read with the person)."""
    if value is not None and len(json.dumps(value).encode()) > MAX_METADATA_BYTES:
        raise Invalid("metadata", f"is larger than {MAX_METADATA_BYTES} bytes")
    return value


def account_type(value: str | None) -> str | None:
    if value is not None and value not in ACCOUNT_TYPES:
        raise Invalid("account_type", f"must be one of {', '.join(ACCOUNT_TYPES)}")
    return value


def directory_roles(wanted: frozenset[str] | None) -> frozenset[str] | None:
    """Roles a directory may grant (Townhall's own server admin role is not one)."""
    if wanted is not None:
        bad = sorted(wanted - roles.SYMPHONY_ROLES)
        if bad:
            raise Invalid("roles", f"holds the unknown role {bad[0]}")
    return wanted
