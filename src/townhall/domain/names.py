"""Rules for names shared by every dialect: usernames, JIDs, room names."""

from __future__ import annotations

import re
import unicodedata

from townhall.domain.errors import Invalid

# Characters RFC 7622 (and Openfire's node-prep) forbid in the local part of a JID.
_FORBIDDEN_IN_NODE = frozenset("\"&'/:<>@")
MAX_NODE_LENGTH = 1023


def node(value: str, field: str) -> str:
    """A JID local part as Townhall stores it: trimmed, NFKC-folded and lower-cased."""
    folded = unicodedata.normalize("NFKC", value.strip()).lower()
    if not folded:
        raise Invalid(field, "must not be empty")
    if len(folded.encode()) > MAX_NODE_LENGTH:
        raise Invalid(field, f"is longer than {MAX_NODE_LENGTH} bytes")
    bad = sorted({c for c in folded if c in _FORBIDDEN_IN_NODE or c.isspace() or ord(c) < 32})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise Invalid(field, f"contains characters not allowed in a JID node: {shown}")
    return folded


_EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*@{_EMAIL_LABEL}(?:\.{_EMAIL_LABEL})*")
MAX_EMAIL_LENGTH = 254


def email(value: str, field: str) -> str:
    """An e-mail address as the directories publish it (JSON Schema's `format: email`):
    a dot-atom local part and a host name, at most 254 characters, trimmed."""
    trimmed = value.strip()
    if len(trimmed) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(trimmed):
        raise Invalid(field, f"{field} is not an e-mail address")
    return trimmed


def split_jid(jid: str) -> tuple[str | None, str, str | None]:
    """(node, domain, resource) of a JID; node and resource may be None."""
    bare, _, resource = jid.partition("/")
    local, at, domain = bare.rpartition("@")
    if not at:
        return None, bare.lower(), resource or None
    return local.lower(), domain.lower(), resource or None


def local_part(name: str, domain: str) -> str:
    """`jane@<domain>` names the local user `jane`; a bare name is local already."""
    local, _, host = name.strip().rpartition("@")
    if local and host.lower() == domain:
        return local.lower()
    return name.strip().lower()


def bare_jid(jid: str) -> str:
    local, domain, _ = split_jid(jid)
    return f"{local}@{domain}" if local else domain


_XEP0106 = {
    " ": "\\20",
    '"': "\\22",
    "&": "\\26",
    "'": "\\27",
    "/": "\\2f",
    ":": "\\3a",
    "<": "\\3c",
    ">": "\\3e",
    "@": "\\40",
}


def escape_node(value: str) -> str:
    """XEP-0106 JID escaping, so `john doe@x` can be the local part `john\\20doe\\40x`."""
    return "".join(_XEP0106.get(c, c) for c in value)


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def domain(value: str, field: str) -> str:
    """A DNS domain name as Townhall stores it: lower-case, no trailing dot, LDH labels.

    An IP address is never one: a domain routes requests to its tenant, and a numeric
    last label (`127.0.0.1`, `10.1`) would claim an address instead of a name
    (no top-level domain is all digits)."""
    name = value.strip().lower().rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise Invalid(field, f"{field} is not a valid domain name")
    not_an_address(name, field)
    return name


def not_an_address(name: str, field: str) -> str:
    """Refuse an IP literal as a tenant's domain (IPv4 in any dotted form, or IPv6)."""
    if ":" in name or name.strip("[]").rsplit(".", 1)[-1].isdigit():
        raise Invalid(field, f"{field} is an IP address, not a domain name")
    return name
