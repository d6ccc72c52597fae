"""What every dialect shares, so that each one keeps only its wire: its auth hook-up,
its error body and its tables.

- Providers: a handler asks for a service by its name (`people: PeopleService`) and
  for the caller (`principal: Principal`); Litestar's dependency injection hands them in.
- Guards: a dialect's first guard authenticates (`authenticates`) and leaves the one
  `Principal` in the connection's state; role guards (`requires`) check it.
- One body decoder and one set of query parsers, which refuse bad input with
  `Malformed(field)`: a neutral error naming the wire field, answered by each dialect
  in its own error format.
- `status_for`: a dialect's status-code table looked up by error class.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from litestar import Litestar, Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp

from townhall.domain.errors import DomainError, Forbidden, Invalid
from townhall.domain.principal import Principal
from townhall.services.container import Services

from . import unstorable
from .documents import Contract

T = TypeVar("T")
AnyConnection = ASGIConnection[Any, Any, Any, Any]
AnyRequest = Request[Any, Any, Any]
Guard = Callable[[AnyConnection, BaseRouteHandler], Awaitable[None] | None]
PRINCIPAL = "townhall.principal"


class Malformed(Invalid):
    """The request itself cannot be read as the API defines it (not JSON, a string where
    a number belongs, a parameter out of range). `field` is the wire path, as the client
    wrote it, so a dialect shows it as it is rather than translating it."""


# -- providers ---------------------------------------------------------------------------


def _service_provider(name: str) -> Provide:
    def provide(state: State) -> Any:
        return getattr(state.services, name)

    return Provide(provide, sync_to_thread=False)


def _service_after_principal(name: str) -> Provide:
    def provide(state: State, principal: NamedDependency[Principal]) -> Any:
        return getattr(state.services, name)

    return Provide(provide, sync_to_thread=False)


def after_principal() -> dict[str, Provide]:
    """The service providers for routers whose every route is authenticated: they wait
    for `principal`, so Litestar resolves a handler's service and principal one after
    the other. Side by side they would share a task group, which costs about a third of
    the throughput of a simple read (bench/openfire_load.py, GET one user)."""
    return {
        f.name: _service_after_principal(f.name)
        for f in dataclasses.fields(Services)
        if f.name != "deps"
    }


def _principal(request: AnyRequest) -> Principal:
    return principal_of(request)


def _services(state: State) -> Services:
    return state.services  # type: ignore[no-any-return]


def providers() -> dict[str, Provide]:
    """Every service under its name in `Services`, `principal`, and `services` (all of
    them, for a handler that dispatches, such as Openfire's userservice)."""
    named = {
        f.name: _service_provider(f.name) for f in dataclasses.fields(Services) if f.name != "deps"
    }
    return {
        **named,
        "principal": Provide(_principal, sync_to_thread=False),
        "services": Provide(_services, sync_to_thread=False),
    }


def services_of(connection: AnyConnection) -> Services:
    """For the code that runs before a handler (guards, middleware, sockets)."""
    return connection.app.state.services  # type: ignore[no-any-return]


# -- principals and guards ---------------------------------------------------------------


def remember(connection: AnyConnection, principal: Principal) -> None:
    connection.scope["state"][PRINCIPAL] = principal


def principal_of(connection: AnyConnection) -> Principal:
    return connection.scope["state"][PRINCIPAL]  # type: ignore[no-any-return]


def authenticates(resolve: Callable[[AnyConnection], Awaitable[Principal]]) -> Guard:
    """A router's first guard: `resolve` finds the caller (or raises Unauthenticated)."""

    async def guard(connection: AnyConnection, _: BaseRouteHandler) -> None:
        remember(connection, await resolve(connection))

    return guard


def requires(rule: Callable[[Principal], bool], refusal: str) -> Guard:
    """A guard that lets only callers for whom `rule` holds through (403 otherwise).
    Async although it awaits nothing: Litestar runs a sync guard in a worker thread."""

    async def guard(connection: AnyConnection, _: BaseRouteHandler) -> None:
        if not rule(principal_of(connection)):
            raise Forbidden("operation", connection.scope["path"], refusal)

    return guard


# -- bodies and query parameters --------------------------------------------------------


def decode(raw: bytes, kind: type[T]) -> T:
    """A JSON body as `kind`; a body that is not, nests too deep to decode safely, or
    holds what no column can store (NUL characters, integers beyond 64 bits), is
    Malformed naming the wire field."""
    refuse_deep(raw)
    try:
        decoded = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise Malformed(wire_path(str(exc)), f"Invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise Malformed("body", f"Malformed JSON: {exc}") from None
    if unstorable.suspect(raw):
        refuse_unstorable(msgspec.json.decode(raw))
    return decoded


def refuse_deep(raw: bytes, field: str = "body") -> None:
    """JSON nested beyond `unstorable.MAX_DEPTH` is Malformed before any decoder recurses
    into it (a RecursionError would be a 500 with a stack trace in the log)."""
    if unstorable.too_deep(raw):
        raise Malformed(field, unstorable.DEPTH_REFUSED)


def wire_path(message: str) -> str:
    """The wire field msgspec's message names: `... - at `$.fields[0].type`` and/or
    `Object missing required field `name``, joined into `fields[0].type` or `name`."""
    where = re.search(r"at `\$\.?([^`]*)`", message)
    missing = re.search(r"missing required field `([^`]*)`", message)
    parts = [where.group(1) if where else "", missing.group(1) if missing else ""]
    return ".".join(part for part in parts if part) or "body"


def refuse_unstorable(value: Any, path: str = "") -> None:
    found = unstorable.find(value, path)
    if found is not None:
        raise Malformed(found[0] or "body", found[1])


def refuse_unstorable_request(connection: AnyConnection) -> None:
    """Query parameters and the path carry no NUL (`%00`): Malformed, not a database
    error (see dialects/unstorable.py)."""
    for key, value in connection.query_params.multi_items():
        refuse_unstorable(value, key)
    refuse_unstorable(connection.scope["path"], "path")


def integer(raw: str | None, field: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Malformed(field, "must be a whole number") from None
    if not low <= value <= high:
        raise Malformed(field, f"must be between {low} and {high}")
    return value


def boolean(raw: str | None, field: str, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value not in {"true", "false", "1", "0"}:
        raise Malformed(field, "must be true or false")
    return value in {"true", "1"}


def int_list(raw: str | None, field: str) -> list[int]:
    """`1,2,3` (empty or absent: none); each must fit in 64 bits."""
    if not raw:
        return []
    try:
        found = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise Malformed(field, "must be a comma-separated list of integers") from None
    if not all(unstorable.INT64_MIN <= value <= unstorable.INT64_MAX for value in found):
        raise Malformed(field, unstorable.INT64_REFUSED)
    return found


def str_list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


# -- client addresses --------------------------------------------------------------------

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
TRUSTED_PROXIES = "trusted_proxies"
"""The app state key of the parsed `trusted_proxies` setting."""


def networks(text: str) -> Networks:
    """`10.0.0.0/8, 127.0.0.1` as networks (a bare address is a network of one); a bad
    entry is a ValueError naming it, raised when the app is built."""
    found = []
    for entry in (part.strip() for part in text.split(",")):
        if entry:
            try:
                found.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"trusted_proxies: {entry!r} is not an address or CIDR") from None
    return tuple(found)


def _within(address: str, trusted: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: Networks) -> str:
    """Who is calling: the peer, unless the peer is a trusted proxy; then the rightmost
    address of `X-Forwarded-For` that is not a trusted proxy (each proxy appends the
    address it saw, so anything left of that is the client's own, forgeable, claim)."""
    if not forwarded_for or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


def trusted_proxies(connection_app: Litestar) -> Networks:
    return connection_app.state.get(TRUSTED_PROXIES, ())  # type: ignore[no-any-return]


def caller_address(connection: AnyConnection) -> str:
    """Who is calling, as `client_address` decides (a forwarding header counts only from
    a trusted proxy), for the per-address login limits; empty if the server cannot tell."""
    peer = connection.client.host if connection.client else ""
    forwarded = connection.headers.get("x-forwarded-for")
    return client_address(peer, forwarded, trusted_proxies(connection.app))


# -- errors ------------------------------------------------------------------------------


def status_for(
    exc: DomainError, table: Iterable[tuple[type[DomainError], int]], default: int = 500
) -> int:
    """The status of the first error class in `table` that `exc` is an instance of (so
    list subclasses before their bases)."""
    return next((status for kind, status in table if isinstance(exc, kind)), default)


def retry_headers(exc: DomainError) -> dict[str, str]:
    """`Retry-After` for a refusal that passes with time (`Unavailable`, `TooManyAttempts`),
    else none: every API's "try again later" answers carry it."""
    retry = getattr(exc, "retry_after", None)
    return {"Retry-After": str(retry)} if isinstance(retry, int) else {}


def wire_field(exc: Invalid, spellings: Mapping[str, str]) -> str:
    """The field an Invalid names, as the dialect spells it (`email` -> `emailAddress`);
    a Malformed field is already the wire's. A path such as `attendees[2]` keeps its
    index: only its first segment is translated."""
    if isinstance(exc, Malformed):
        return exc.field
    return spelt(exc.field, spellings)


def spelt(field: str, spellings: Mapping[str, str]) -> str:
    """A domain field path as the dialect spells it (`custom_fields.floor` ->
    `customFields.floor`): only its first segment is translated."""
    cut = min((i for i in (field.find("."), field.find("[")) if i >= 0), default=len(field))
    return spellings.get(field[:cut], field[:cut]) + field[cut:]


def message_for(exc: DomainError, spellings: Mapping[str, str], sep: str = ": ") -> str:
    """For an Invalid, the field (in the dialect's spelling) and the reason, which never
    names the field itself (`limit` + `must be an integer`); else the error's detail."""
    if isinstance(exc, Invalid):
        return f"{wire_field(exc, spellings)}{sep}{exc.reason}"
    return exc.detail or str(exc)


# -- dialects ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dialect:
    """One API as the application mounts it.

    `prefixes`: the paths it serves (the access log and the metrics name the API by
    them); with `unrouted`, it answers those no route matches in its own error format.
    `refusals`: errors it raises on purpose (answered, not failures to log).
    `before_routing`: an ASGI layer that must act before Litestar
    routes (Openfire authenticates before routing). `tenant_defaults`: what the API
    sets up in a new tenant. `contract`: its published OpenAPI document. `templates`:
    the folder of the Jinja templates it renders (the web console's)."""

    name: str
    routers: Callable[[], list[Router]]
    prefixes: tuple[str, ...] = ()
    unrouted: Callable[[AnyRequest, HTTPException], Response[Any]] | None = None
    refusals: tuple[type[Exception], ...] = ()
    before_routing: Callable[[ASGIApp, Litestar], ASGIApp] | None = None
    tenant_defaults: Callable[[Services, Principal], Awaitable[None]] | None = None
    contract: Contract | None = None
    templates: Path | None = None
