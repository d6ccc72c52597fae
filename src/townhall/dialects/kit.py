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
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from litestar import Litestar, Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp

from townhall.domain.errors import DomainError, Forbidden, Invalid, TooManyAttempts
from townhall.domain.principal import Principal
from townhall.services.container import Services

from . import unstorable

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
    def provide(state: State, principal: Principal) -> Any:
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


def client_address(connection: AnyConnection) -> str:
    """The address of the connection's peer (never a forwarding header, which any client
    can write), for the per-address login limits; empty if the server does not know it."""
    return connection.client.host if connection.client else ""


def retry_after(exc: TooManyAttempts) -> dict[str, str]:
    """The `Retry-After` header every API's "too many" answer carries."""
    return {"Retry-After": str(exc.retry_after_seconds)}


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
    """A JSON body as `kind`; a body that is not, or holds what no column can store (NUL
    characters, integers beyond 64 bits), is Malformed naming the wire field."""
    try:
        decoded = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise Malformed(wire_path(str(exc)), f"Invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise Malformed("body", f"Malformed JSON: {exc}") from None
    if unstorable.suspect(raw):
        refuse_unstorable(msgspec.json.decode(raw))
    return decoded


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


# -- errors ------------------------------------------------------------------------------


def status_for(
    exc: DomainError, table: Iterable[tuple[type[DomainError], int]], default: int = 500
) -> int:
    """The status of the first error class in `table` that `exc` is an instance of (so
    list subclasses before their bases)."""
    return next((status for kind, status in table if isinstance(exc, kind)), default)


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

    `prefixes`: paths it answers also when no route matches (`unrouted` answers those
    in its own error format). `refusals`: errors it raises on purpose (answered, not
    failures to log). `before_routing`: an ASGI layer that must act before Litestar
    routes (Openfire authenticates before routing). `tenant_defaults`: what the API
    sets up in a new tenant."""

    name: str
    routers: Callable[[], list[Router]]
    prefixes: tuple[str, ...] = ()
    unrouted: Callable[[AnyRequest, HTTPException], Response[Any]] | None = None
    refusals: tuple[type[Exception], ...] = ()
    before_routing: Callable[[ASGIApp, Litestar], ASGIApp] | None = None
    tenant_defaults: Callable[[Services, Principal], Awaitable[None]] | None = None
