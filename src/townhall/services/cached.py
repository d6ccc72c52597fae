"""What services cache, and what each committed change makes stale.

A read method marked `@cached(kind, key)` answers from the read cache
(infrastructure/readcache.py) under `tenant:{domain}:{kind}:{key}`; the key must name
everything the answer depends on (the caller's person where the answer is theirs). The
checks a method makes about its input run only on a miss, which is safe: an entry exists
only for input that was answered once.

`Service.unit` calls `touched` with the topics of the changes a write recorded and
makes those kinds forget, before the transaction commits and again after it (services/
base.py). The rule is coarse on purpose: a change makes every entry of the kinds it may
affect in the tenant stale, so no rule has to know which keys one booking reaches (the
resource's free/busy, the organiser's, each attendee's, their calendars...). Topics not
listed make *every* kind stale, so a new kind of write is correct before anyone thinks
of the cache.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from townhall.domain.principal import Principal
from townhall.infrastructure.readcache import KINDS, ReadCache, Scope

P = ParamSpec("P")
T = TypeVar("T")

_BOOKINGS = frozenset({"calendar", "freebusy"})
_RESOURCES = frozenset({"resource", "calendar", "freebusy"})
NOTHING: frozenset[str] = frozenset()
EVERYTHING = frozenset(KINDS)
RULES: tuple[tuple[str, frozenset[str]], ...] = (
    ("booking.", _BOOKINGS),
    ("event.", _BOOKINGS),
    ("calendar.", _BOOKINGS),
    ("resource.", _RESOURCES),
    ("presence.", NOTHING),
    ("message.", NOTHING),
    ("connection.", NOTHING),
    ("notification.", NOTHING),
    ("mailbox.", NOTHING),
    ("room.", NOTHING),
    ("announcement.", NOTHING),
    ("job.", NOTHING),
)
"""By topic prefix, the kinds a change may make stale (the first match wins)."""
ABOVE_TENANTS = ("tenant.", "brand.")
"""Changes that may reach another tenant than the actor's: they make every tenant forget."""


def touched(topics: Iterable[str]) -> frozenset[str]:
    kinds: set[str] = set()
    for topic in topics:
        for prefix, stale in RULES:
            if topic.startswith(prefix):
                kinds |= stale
                break
        else:
            return EVERYTHING
    return frozenset(kinds)


def everywhere(actor: Principal, topics: Iterable[str]) -> bool:
    """Whether a change must make every tenant's entries forget: a caller above tenants
    (OX's reseller admins sit in the first tenant yet change others) or a change of
    tenants themselves."""
    return actor.brand_id is not None or any(t.startswith(ABOVE_TENANTS) for t in topics)


def scope_of(actor: Principal) -> Scope:
    return Scope(actor.tenant_id, actor.tenant.domain)


class _HasCache(Protocol):
    @property
    def read_cache(self) -> ReadCache: ...


S = TypeVar("S", bound=_HasCache)


def cached(
    kind: str, key: Callable[Concatenate[Principal, P], str | None], answer: Any
) -> Callable[
    [Callable[Concatenate[S, Principal, P], Awaitable[T]]],
    Callable[Concatenate[S, Principal, P], Awaitable[T]],
]:
    """Read `kind` through the cache; `key` names the entry from the method's
    arguments (None: not cached), `answer` is the type the entry decodes into."""

    def wrap(
        method: Callable[Concatenate[S, Principal, P], Awaitable[T]],
    ) -> Callable[Concatenate[S, Principal, P], Awaitable[T]]:
        async def read(self: S, actor: Principal, /, *args: P.args, **kwargs: P.kwargs) -> T:
            ident = key(actor, *args, **kwargs)
            if ident is None:
                return await method(self, actor, *args, **kwargs)
            return await self.read_cache.fetch(
                scope_of(actor),
                kind,
                ident,
                lambda: method(self, actor, *args, **kwargs),
                answer,
            )

        functools.update_wrapper(read, method)
        return read

    return wrap
