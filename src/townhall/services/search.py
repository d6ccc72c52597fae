"""Relevance-ranked search across resources, users and bookings.

The store hands over a bounded set of rows that contain the query; each is scored here
by how the query meets its fields. A match's quality falls in a band by kind — exact
1.0, prefix 0.8-0.9, word prefix 0.6-0.7, substring 0.4-0.5 (within a band, the more
of the field the query covers, the higher) — times the field's weight: names, ids and
titles count fully, descriptive fields (type, category, features, custom fields, a
booking's resource) half. A row scores its best field; ties go by name.

Who sees what follows the listings: every signed-in user may list the tenant's
resources and people, so search shows them all; bookings are the caller's own (as
organiser or attendee), plus, for a domain admin, those of resources under its domains,
and for a server admin every one of the tenant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from townhall.domain.errors import Invalid
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import search as store
from townhall.store.database import Tx
from townhall.store.search import BookingScope

TYPES = ("resources", "users", "bookings")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_QUERY = 200
CANDIDATES = 500
"""Rows per type the database hands over for scoring, best-ranked first."""

PRIMARY = 1.0
SECONDARY = 0.5
_BANDS = {"prefix": 0.8, "word": 0.6, "substring": 0.4}
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str
    types: tuple[str, ...] = TYPES
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class ResourceHit:
    address: str
    name: str
    type: str
    score: float


@dataclass(frozen=True, slots=True)
class UserHit:
    username: str
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class BookingHit:
    id: str
    title: str
    starts_at: datetime
    score: float


@dataclass(frozen=True, slots=True)
class SearchResults:
    """The hits of each asked type, best first; None for a type not asked."""

    resources: list[ResourceHit] | None = None
    users: list[UserHit] | None = None
    bookings: list[BookingHit] | None = None


def quality(needle: str, value: str) -> float:
    """How well `needle` (lower-case) meets one field's `value`, 0..1."""
    text = value.strip().lower()
    if not needle or not text or needle not in text:
        return 0.0
    if text == needle:
        return 1.0
    coverage = 0.1 * len(needle) / len(text)
    if text.startswith(needle):
        return _BANDS["prefix"] + coverage
    if any(text[m.start() :].startswith(needle) for m in _WORD.finditer(text)):
        return _BANDS["word"] + coverage
    return _BANDS["substring"] + coverage


def relevance(needle: str, fields: Iterable[tuple[str, float]]) -> float:
    """The best weighted match over (value, weight) fields, rounded for the wire."""
    return round(max((quality(needle, v) * w for v, w in fields), default=0.0), 2)


def _texts(values: Iterable[object]) -> list[str]:
    """Scalar values as text, so a custom field `floor: 3` is found by "3"."""
    return [str(v) for v in values if isinstance(v, str | int | float) and not isinstance(v, bool)]


def _resource_score(needle: str, found: store.ResourceMatch) -> float:
    account = found.address.partition("@")[0]
    descriptive = [found.type, found.category, *found.features]
    descriptive += _texts(found.custom_fields.values())
    return relevance(
        needle,
        [(found.name, PRIMARY), (account, PRIMARY), (found.address, PRIMARY)]
        + [(value, SECONDARY) for value in descriptive],
    )


def _user_score(needle: str, found: store.UserMatch, domain: str) -> float:
    fields = [found.username, found.name, f"{found.username}@{domain}", found.email or ""]
    return relevance(needle, [(value, PRIMARY) for value in fields])


def _booking_score(needle: str, found: store.BookingMatch) -> float:
    return relevance(
        needle,
        [
            (found.title, PRIMARY),
            (found.id, PRIMARY),
            (found.resource_name, SECONDARY),
            (found.resource, SECONDARY),
        ],
    )


def check(query: SearchQuery) -> str:
    """The query's text as matched (trimmed, lower-case), if the query is acceptable."""
    needle = query.text.strip().lower()
    if not needle:
        raise Invalid("query", "must not be empty")
    if len(needle) > MAX_QUERY:
        raise Invalid("query", f"is longer than {MAX_QUERY} characters")
    if "\x00" in needle:
        raise Invalid("query", "must not contain NUL characters")
    unknown = [t for t in query.types if t not in TYPES]
    if unknown or not query.types:
        raise Invalid("types", f"must be some of {', '.join(TYPES)}")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise Invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    return needle


def booking_scope(caller: Principal) -> BookingScope:
    if caller.is_server_admin:
        return BookingScope(everything=True)
    return BookingScope(
        user_id=caller.user_id, email=caller.address.lower(), domains=caller.admin_domains
    )


class SearchService(Service):
    async def search(self, caller: Principal, query: SearchQuery) -> SearchResults:
        """The best `query.limit` hits of each asked type the caller may see."""
        needle = check(query)
        asked, limit = query.types, query.limit
        async with self.db.read() as tx:
            return SearchResults(
                resources=await _resources(tx, caller, needle, limit)
                if "resources" in asked
                else None,
                users=await _users(tx, caller, needle, limit) if "users" in asked else None,
                bookings=await _bookings(tx, caller, needle, limit)
                if "bookings" in asked
                else None,
            )


async def _resources(tx: Tx, caller: Principal, needle: str, limit: int) -> list[ResourceHit]:
    rows = await store.find_resources(tx, caller.tenant_id, needle, CANDIDATES)
    hits = [ResourceHit(r.address, r.name, r.type, _resource_score(needle, r)) for r in rows]
    hits.sort(key=lambda h: (-h.score, h.name.lower(), h.address))
    return [h for h in hits if h.score > 0][:limit]


async def _users(tx: Tx, caller: Principal, needle: str, limit: int) -> list[UserHit]:
    tenant = caller.tenant
    rows = await store.find_users(tx, tenant.id, tenant.domain, needle, CANDIDATES)
    hits = [UserHit(u.username, u.name, _user_score(needle, u, tenant.domain)) for u in rows]
    hits.sort(key=lambda h: (-h.score, h.name.lower(), h.username))
    return [h for h in hits if h.score > 0][:limit]


async def _bookings(tx: Tx, caller: Principal, needle: str, limit: int) -> list[BookingHit]:
    scope = booking_scope(caller)
    rows = await store.find_bookings(tx, caller.tenant_id, needle, scope, CANDIDATES)
    hits = [BookingHit(b.id, b.title, b.starts_at, _booking_score(needle, b)) for b in rows]
    hits.sort(key=lambda h: (-h.score, h.title.lower(), h.starts_at, h.id))
    return [h for h in hits if h.score > 0][:limit]
