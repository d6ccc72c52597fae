"""Address books: each person's named books of vCard entries (contacts and contact
groups), and the rules their fields obey whichever API writes them.

An entry whose e-mail address is a person of the tenant is *linked* to that person
(`Link`): it shows the person's current name and address, so a rename or a new address
made through any API shows in every address book that names them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from townhall.domain import names
from townhall.domain.errors import Invalid

DEFAULT_BOOK = "Contacts"
CONTACT, GROUP = "contact", "group"
MAX_BOOK_NAME = 200
MAX_UID = 255
MAX_NAME = 1023
MAX_PHONE = 64
MAX_ORGANIZATION = 1023
MAX_DESCRIPTION = 4000
MAX_MEMBERS = 1000


@dataclass(frozen=True, slots=True)
class Link:
    """How an address names a person: `domain` set, `username@domain` (a person domain
    of the tenant); None, the person's own e-mail address (the `email` column)."""

    person_id: int
    domain: str | None


@dataclass(frozen=True, slots=True)
class Member:
    """A contact group's member: an address, linked to a person when it names one."""

    email: str
    link: Link | None = None


@dataclass(frozen=True, slots=True)
class Card:
    """One entry of an address book as it reads now (linked fields resolved)."""

    uid: str
    book: str
    kind: str
    name: str
    email: str | None
    phone: str | None
    organization: str | None
    description: str | None
    members: tuple[str, ...]
    linked: bool
    vcard: str


def _plain(value: str, field: str, longest: int) -> str:
    """Trimmed one-line text without control characters, at most `longest` long."""
    trimmed = value.strip()
    if len(trimmed) > longest:
        raise Invalid(field, f"is longer than {longest} characters")
    if any(unicodedata.category(c) == "Cc" for c in trimmed):
        raise Invalid(field, "must not contain control characters")
    return trimmed


def book_name(value: str | None) -> str:
    """A book's name; none given is the "Contacts" folder."""
    if value is None:
        return DEFAULT_BOOK
    name = _plain(value, "address_book", MAX_BOOK_NAME)
    if not name:
        raise Invalid("address_book", "must not be empty")
    return name


def uid(value: str) -> str:
    """A vCard UID as an entry's id: it names the entry in a URL path, so no `/`."""
    found = _plain(value, "uid", MAX_UID)
    if not found or "/" in found or any(c.isspace() for c in found):
        raise Invalid("uid", "must be 1 to 255 characters without spaces or '/'")
    return found


def name(value: str | None) -> str:
    if value is None or not value.strip():
        raise Invalid("name", "is required")
    return _plain(value, "name", MAX_NAME)


def email(value: str | None) -> str:
    if value is None or not value.strip():
        raise Invalid("email", "is required")
    return names.email(value, "email")


def optional(value: str | None, field: str, longest: int) -> str | None:
    """Optional text: None or blank is none."""
    if value is None:
        return None
    return _plain(value, field, longest) or None


def group_name(value: str | None) -> str:
    """A contact group's name without the brackets RMP shows around it (`[Team]` and
    `Team` are the same group)."""
    found = name(value)
    if found.startswith("[") and found.endswith("]"):
        found = found[1:-1].strip()
    if not found:
        raise Invalid("name", "is required")
    return found


def members(values: Sequence[str]) -> list[str]:
    """Each member an e-mail address, each once, in the order given."""
    if len(values) > MAX_MEMBERS:
        raise Invalid("members", f"must hold at most {MAX_MEMBERS} addresses")
    seen: dict[str, str] = {}
    for i, value in enumerate(values):
        address = names.email(value, f"members[{i}]")
        seen.setdefault(address.lower(), address)
    return list(seen.values())
