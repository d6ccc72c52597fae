"""Request/response plumbing shared by the Openfire routes: auth, negotiation, errors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions.http_exceptions import NotFoundException, RequestEntityTooLarge
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Receive, Scope, Send

from townhall.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)
from townhall.domain.events import DomainEvent
from townhall.domain.models import Tenant
from townhall.domain.principal import Principal
from townhall.infrastructure.cache import TTLCache
from townhall.services.container import Services

from .. import kit, unstorable
from ..documents import Contract, Param
from . import wire
from .wire import BadRequest, Collection, Entity, Grouped, NotAcceptable, UnsupportedMediaType

PREFIX = "/plugins/restapi/v1"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "origin, content-type, accept, authorization",
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS, HEAD",
}


class OpenfireError(Exception):
    """An error exactly as the plugin words it (its ErrorResponse entity)."""

    def __init__(
        self, status: int, exception: str, message: str, resource: str | None = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.exception = exception
        self.message = message
        self.resource = resource


ERROR = Entity("error", (wire.Text("exception"), wire.Text("message"), wire.Text("resource")))

CONTRACT = Contract(
    title="Openfire REST API (Townhall)",
    url=f"{PREFIX}/openapi.yaml",
    prefixes=(f"{PREFIX}/",),
    security={
        "sharedSecret": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`plugin.restapi.secret` as the whole header, when "
            "`plugin.restapi.httpAuth` is not `basic`",
        },
        "basic": {
            "type": "http",
            "scheme": "basic",
            "description": "an administrator's account, when `plugin.restapi.httpAuth` is "
            "`basic` (the default)",
        },
    },
    errors={
        400: ERROR,
        401: None,  # the auth filter's bare 401
        403: ERROR,
        404: ERROR,
        406: None,  # Accept names neither XML nor JSON
        409: ERROR,
        413: ERROR,
        415: None,  # a body neither XML nor JSON
        429: ERROR,
        503: ERROR,
    },
    media=(wire.JSON, wire.XML),
    description=(
        "XML by default, JSON on `Accept: application/json`; bodies are read in either. "
        "The schemas describe the JSON form (dates as epoch milliseconds); their `xml` "
        "hints give the XML form. An error is the plugin's error entity, in the one media "
        "type `Accept` names, else the body's. 403 and 503 are bare when the auth filter "
        "answers them (the API disabled, the database away)."
    ),
)
"""The published document: what `documents.document` needs to know about this API."""

PAGE_PARAMS = (
    Param("start", int, description="Townhall's paging: the first item, from 0"),
    Param("limit", int, description="Townhall's paging: at most this many"),
)
"""Townhall's optional paging of the plugin's full lists (total in `X-Total-Count`)."""
SERVICE = Param("servicename", description="the chat service (default `conference`)")
INVITES = Param("sendInvitations", bool, description="invite the affiliated users")
EXPAND = Param("expandGroups", bool, description="list group members among the affiliated")

FIELDS = {
    # people
    "display_name": "name",
    # contacts
    "subscription": "subscriptionType",
    # groups
    "group_name": "name",
    # chat services and rooms
    "service_name": "serviceName",
    "room_name": "roomName",
    "natural_name": "naturalName",
    "max_users": "maxUsers",
    "allow_private_messages": "allowPM",
    "broadcast_presence_roles": "broadcastPresenceRoles",
    **{f"{a}_groups": f"{a}Groups" for a in ("owner", "admin", "member", "outcast")},
    "invitees": "jidsToInvite",
    # paging
    "offset": "start",
}
"""Domain field names that the plugin spells otherwise."""

Wording = tuple[int, str, str] | tuple[int, str, str, str]
"""(status, exception name, the plugin's message[, resource]). The message may quote the
offending `{value}` of the error; the entity's `resource` is the error's subject (an
Invalid's wire field) unless a fourth item gives it (`{value}`: the offending value).
The services state these refusals neutrally; the plugin words them its own way."""

# (domain error, concept) -> the plugin's wording; for an Invalid, a row keyed by
# (Invalid, concept or rule, domain field) comes first.
_DEFAULTS: dict[tuple[type[DomainError], str] | tuple[type[DomainError], str, str], Wording] = {
    (NotFound, "user"): (404, "UserNotFoundException", "Could not get user"),
    (AlreadyExists, "user"): (409, "UserAlreadyExistsException", "Could not create new user"),
    (NotFound, "group"): (404, "GroupNotFoundException", "Could not find group"),
    (AlreadyExists, "group"): (409, "GroupAlreadyExistsException", "Could not create a group"),
    (NotFound, "contact"): (404, "RosterItemNotFound", "Roster Item could not deleted"),
    (AlreadyExists, "contact"): (
        409,
        "UserAlreadyExistsException",
        "Could not create roster item",
    ),
    (NotFound, "chat_service"): (
        404,
        "MUCServiceNotFoundException",
        "Chat service does not exist or is not accessible.",
    ),
    (AlreadyExists, "chat_service"): (
        409,
        "AlreadyExistsException",
        "Could not create the chat service",
    ),
    (NotFound, "room"): (
        404,
        "RoomNotFoundException",
        "Chat room does not exist or is not accessible.",
    ),
    (NotFound, "property"): (404, "PropertyNotFoundException", "Could not find property"),
    (NotFound, "cluster_node"): (
        404,
        "ClusterNodeNotFoundException",
        "Could not find a cluster node with this NodeID.",
    ),
    (Invalid, "property", "key"): (400, "IllegalArgumentException", "The property needs a key"),
    (Invalid, "jid", "members"): (
        400,
        "IllegalArgumentException",
        "Cannot parse a member value as a JID: {value}",
    ),
    (Invalid, "jid", "admins"): (
        400,
        "IllegalArgumentException",
        "Cannot parse a admin value as a JID: {value}",
    ),
    (Invalid, "jid", "username"): (
        400,
        "IllegalArgumentException",
        "Cannot parse a username value as a JID: {value}",
    ),
    # The plugin answers this with a 500; a refusal of the input is a 400 (the rest as
    # the plugin words it).
    (Invalid, "non_local_user", "username"): (
        400,
        "GroupNotFoundException",
        "This service cannot be used for non-local users.",
        "{value}",
    ),
    (Invalid, "empty", "jid"): (400, "IllegalArgumentException", "JID is null", "JID"),
    (Invalid, "not_a_jid", "jid"): (
        400,
        "IllegalArgumentException",
        "Cannot parse {value!r} as a JID",
    ),
    (Invalid, "empty", "body"): (
        400,
        "IllegalArgumentException",
        "Message content/body is null or empty",
    ),
    # rooms
    (Invalid, "room", "room_name"): (
        400,
        "IllegalArgumentException",
        "Could not update the channel. The room name is different to the entity room name.",
    ),
    **{
        (Invalid, "room", field): (
            400,
            "IllegalArgumentException",
            "Unable to parse value as jid: {value}",
        )
        for field in ("owners", "admins", "members", "outcasts", "jid", "invitees")
    },
    (Conflict, "room_affiliations"): (
        409,
        "NotAllowedException",
        "The requested room defines duplicate affiliations for the following entities: {value}",
    ),
    (Conflict, "room_affiliation"): (
        409,
        "NotAllowedException",
        "Entity does not have this affiliation with the room.",
    ),
    (Conflict, "room_owner"): (409, "NotAllowedException", "A room must keep at least one owner."),
}


@contextmanager
def worded(**messages: str) -> Iterator[None]:
    """Give domain errors the plugin's endpoint-specific message, e.g. NotFound=...."""
    try:
        yield
    except DomainError as exc:
        wording = messages.get(type(exc).__name__)
        if wording is not None:
            exc.wire_message = wording  # type: ignore[attr-defined]
        raise


def plugin_answer(exc: DomainError) -> OpenfireError | None:
    """The plugin's own answer to `exc`, if its table has one."""
    invalid = exc if isinstance(exc, Invalid) else None
    found = _DEFAULTS.get((type(exc), exc.kind, invalid.field)) if invalid else None
    found = found or _DEFAULTS.get((type(exc), exc.kind))
    if found is None:
        return None
    status, name, message, *resource = found
    value = exc.value
    subject = kit.wire_field(invalid, FIELDS) if invalid else exc.subject
    shown = resource[0].format(value=value) if resource else subject
    return OpenfireError(status, name, message.format(value=value), shown)


def to_openfire(exc: DomainError) -> OpenfireError:
    wording = getattr(exc, "wire_message", None)
    default = plugin_answer(exc)
    if default:
        default.message = wording or default.message
        return default
    if isinstance(exc, Invalid):
        return _invalid(exc, wording)
    if isinstance(exc, Forbidden):
        return OpenfireError(403, "NotAllowedException", wording or exc.detail, exc.subject)
    if isinstance(exc, (Conflict, AlreadyExists)):
        return OpenfireError(409, "NotAllowedException", wording or exc.detail, exc.subject)
    if isinstance(exc, NotFound):
        return OpenfireError(404, "NotFoundException", wording or str(exc), exc.subject)
    if isinstance(exc, Unavailable):
        return OpenfireError(503, "ServiceUnavailableException", exc.detail, exc.kind)
    if isinstance(exc, TooManyAttempts):
        return OpenfireError(429, "NotAllowedException", exc.detail, exc.subject)
    return OpenfireError(500, type(exc).__name__, wording or str(exc), exc.subject)


def _invalid(exc: Invalid, wording: str | None) -> OpenfireError:
    """The plugin's IllegalArgumentException, worded as a Java one reads: the field (in
    the plugin's spelling, also the entity's `resource`), then what is wrong with it."""
    field = kit.wire_field(exc, FIELDS)
    message = wording or kit.message_for(exc, FIELDS, sep=" ")
    return OpenfireError(400, "IllegalArgumentException", message, field)


class Bare(Response[bytes]):
    """A status with no entity and no Content-Type, as the plugin answers writes.

    The Content-Type matters: the official Python client reports success only when a
    2xx answer is labelled neither JSON nor XML.
    """

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        response = super().to_asgi_response(*args, **kwargs)
        with suppress(KeyError):
            del response.headers["content-type"]
        return response


def bare(status: int, headers: Mapping[str, str] | None = None) -> Response[bytes]:
    return Bare(b"", status_code=status, headers={**CORS_HEADERS, **(headers or {})})


async def send_bare(send: Send, status: int, extra: Mapping[str, str] | None = None) -> None:
    """A bodiless status straight onto the wire, before any route runs."""
    shown = {**CORS_HEADERS, **(extra or {})}
    headers = [(k.lower().encode(), v.encode()) for k, v in shown.items()]
    headers.append((b"content-length", b"0"))
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send_too_many(send: Send, headers: Mapping[str, str], exc: TooManyAttempts) -> None:
    """429 with `Retry-After` and the plugin's error entity, straight onto the wire (the
    auth filter answers before any route runs)."""
    fmt = wire.error_format(headers.get("accept"), headers.get("content-type"))
    entity = {"exception": "NotAllowedException", "message": exc.detail, "resource": exc.subject}
    body = wire.render(ERROR, entity, fmt)
    sent = {**CORS_HEADERS, **kit.retry_headers(exc)}
    raw = [(k.lower().encode(), v.encode()) for k, v in sent.items()]
    raw.append((b"content-type", (wire.JSON if fmt == "json" else wire.XML).encode()))
    raw.append((b"content-length", str(len(body)).encode()))
    start: Any = {"type": "http.response.start", "status": 429, "headers": raw}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


def error_response(request: Request[Any, Any, Any], err: OpenfireError) -> Response[bytes]:
    fmt = wire.error_format(request.headers.get("accept"), request.headers.get("content-type"))
    body = wire.render(
        ERROR, {"exception": err.exception, "message": err.message, "resource": err.resource}, fmt
    )
    return Response(
        body,
        status_code=err.status,
        media_type=wire.JSON if fmt == "json" else wire.XML,
        headers=CORS_HEADERS,
    )


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    response = error_response(request, to_openfire(exc))
    response.headers.update(kit.retry_headers(exc))
    return response


def handle_openfire_error(request: Request[Any, Any, Any], exc: OpenfireError) -> Response[bytes]:
    return error_response(request, exc)


def handle_bad_request(request: Request[Any, Any, Any], exc: BadRequest) -> Response[bytes]:
    return error_response(
        request, OpenfireError(400, "IllegalArgumentException", exc.message, exc.field)
    )


def handle_too_large(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    limit = request.app.request_max_body_size
    return error_response(
        request,
        OpenfireError(
            413,
            "IllegalArgumentException",
            f"The request body is larger than {limit} bytes",
            "body",
        ),
    )


def handle_unsupported(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    return bare(415)


def handle_not_acceptable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    return bare(406)


def handle_unrouted(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """A path segment a route turns away as not routing (an unknown affiliation list):
    the plugin's bare 404 for a path it has no resource for, not Litestar's JSON."""
    return bare(404)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    DomainError: handle_domain_error,
    OpenfireError: handle_openfire_error,
    BadRequest: handle_bad_request,
    UnsupportedMediaType: handle_unsupported,
    NotAcceptable: handle_not_acceptable,
    NotFoundException: handle_unrouted,
    RequestEntityTooLarge: handle_too_large,
}


def respond(
    request: Request[Any, Any, Any],
    shape: Entity | Collection | Grouped,
    data: Any,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    fmt = wire.response_format(request.headers.get("accept"))
    return Response(
        wire.render(shape, data, fmt),
        status_code=200,
        media_type=wire.JSON if fmt == "json" else wire.XML,
        headers={**CORS_HEADERS, **(headers or {})},
    )


def respond_rows(
    request: Request[Any, Any, Any],
    shape: Collection,
    names: tuple[str, ...],
    rows: Iterable[Sequence[Any]],
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    """`respond` for a list given as rows (tuples of the fields `names` lists)."""
    fmt = wire.response_format(request.headers.get("accept"))
    return Response(
        wire.render_rows(shape, names, rows, fmt),
        status_code=200,
        media_type=wire.JSON if fmt == "json" else wire.XML,
        headers={**CORS_HEADERS, **(headers or {})},
    )


async def read(request: Request[Any, Any, Any], shape: Entity | Collection) -> Any:
    return wire.parse_body(await request.body(), request.headers.get("content-type"), shape)


async def refuse_unstorable_text(request: Request[Any, Any, Any]) -> None:
    """Router hook: a query parameter or path holding a NUL (`%00`) is a 400 naming it,
    not a database error (dialects/unstorable.py). Async, or Litestar would run it in a
    worker thread."""
    kit.refuse_unstorable_request(request)


def paging(request: Request[Any, Any, Any]) -> tuple[int, int | None]:
    """Townhall's optional `start`/`limit` paging (absent: the plugin's full list)."""
    query = request.query_params
    start = kit.integer(query.get("start"), "start", 0, 0, unstorable.INT64_MAX)
    limit = query.get("limit")
    return start, None if limit is None else kit.integer(limit, "limit", 0, 0, unstorable.INT64_MAX)


def tail(value: str) -> str:
    """A `{name:path}` parameter without the slash Litestar leaves in front: the way to
    take a last segment that may hold a decoded `/` (a JID resource, a group name)."""
    return value.removeprefix("/")


def flag(value: str | None) -> bool:
    """Java's Boolean.valueOf: "true" in any case is true, anything else false."""
    return value is not None and value.lower() == "true"


# -- authentication ---------------------------------------------------------------------


def api_enabled(settings: Mapping[str, str | None]) -> bool:
    """Townhall serves the API unless `plugin.restapi.enabled` is explicitly false."""
    return (settings.get("plugin.restapi.enabled") or "true").lower() != "false"


def client_allowed(
    headers: Mapping[str, str],
    client: Any,
    settings: Mapping[str, str | None],
    trusted: kit.Networks,
) -> bool:
    """`plugin.restapi.allowedIPs`: the caller's address must be listed verbatim (an
    empty list allows everyone). The plugin's forwarding headers name the caller only
    when the peer is a trusted proxy (setting `trusted_proxies`); anyone else could
    write any address there."""
    listed = (settings.get("plugin.restapi.allowedIPs") or "").split(",")
    allowed = {ip.strip() for ip in listed if ip.strip()}
    if not allowed:
        return True
    forwarded = (
        headers.get("x-forwarded-for")
        or headers.get("x_forwarded_for")
        or headers.get("x-forward-for")
    )
    return kit.client_address((client or ("",))[0], forwarded, trusted) in allowed


_OPEN_PATHS = (f"{PREFIX}/system/liveness", f"{PREFIX}/system/readiness")


class OpenfireAuth:
    """The plugin's auth filter: HTTP Basic for an admin, or the shared secret.

    `plugin.restapi.httpAuth` picks the scheme (`basic` unless set otherwise),
    `plugin.restapi.secret` holds the secret, `plugin.restapi.enabled=false` turns the
    API off (403) and `plugin.restapi.allowedIPs` limits the callers. A failure is a bare
    401 with no WWW-Authenticate header, as the plugin sends.

    It wraps the whole application rather than the plugin's routes because the plugin
    authenticates before routing: bad credentials on an unknown path give 401, not 404.
    """

    def __init__(self, next_app: ASGIApp, app: Litestar) -> None:
        self._next = next_app
        self._app = app
        self._accepted: TTLCache[tuple[int, str], Principal] = TTLCache(ttl_seconds=2.0)
        self._subscribed = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"  # type: ignore[comparison-overlap]
            or not (path == PREFIX or path.startswith(PREFIX + "/"))
            or path == f"{PREFIX}/openapi.yaml"
            or path.startswith(_OPEN_PATHS)
        ):
            await self._next(scope, receive, send)
            return
        next_app = self._next
        svc: Services = self._app.state.services
        if not self._subscribed:
            svc.deps.events.subscribe(self._forget)
            self._subscribed = True
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            tenant = await svc.tenants.for_host(headers.get("host"))
            settings = await svc.properties.raw(tenant.id, "plugin.restapi.")
            status = await self._check(scope, headers, settings, svc, tenant)
        except Unavailable as exc:  # outside Litestar: no handler would answer it
            await send_bare(send, 503, kit.retry_headers(exc))
            return
        except TooManyAttempts as exc:
            await send_too_many(send, headers, exc)
            return
        if status is not None:
            await send_bare(send, status)
            return
        await next_app(scope, receive, send)

    def _forget(self, event: DomainEvent) -> None:
        """A change to a person (but the creation of one, which changes no accepted
        credential), to the plugin's properties or a restore may refuse what was
        accepted."""
        topic = event.topic
        if topic.startswith(("user.", "property.", "backup.")) and topic != "user.created":
            self._accepted.clear()

    async def _check(
        self,
        scope: Scope,
        headers: dict[str, str],
        settings: Mapping[str, str | None],
        svc: Services,
        tenant: Tenant,
    ) -> int | None:
        if not api_enabled(settings):
            return 403
        if scope.get("method") == "OPTIONS" or scope["path"].startswith(f"{PREFIX}/userservice"):
            return None
        trusted = kit.trusted_proxies(self._app)
        if not client_allowed(headers, scope.get("client"), settings, trusted):
            return 401
        header = headers.get("authorization")
        if not header:
            return 401

        async def authenticate() -> Principal:  # only when nothing is remembered
            peer = (scope.get("client") or ("",))[0]
            address = kit.client_address(peer, headers.get("x-forwarded-for"), trusted)
            return await self._authenticate(header, settings, svc, tenant, address)

        try:
            accepted = await self._accepted.fetch((tenant.id, header), authenticate)
        except Unauthenticated:
            return 401
        scope.setdefault("state", {})[kit.PRINCIPAL] = accepted
        return None

    async def _authenticate(
        self,
        header: str,
        settings: Mapping[str, str | None],
        svc: Services,
        tenant: Tenant,
        address: str,
    ) -> Principal:
        mode = (settings.get("plugin.restapi.httpAuth") or "basic").lower()
        if mode != "basic":
            secret = settings.get("plugin.restapi.secret")
            return await svc.auth.shared_secret(tenant, header, secret, "restapi-secret", address)
        username, password = _basic_credentials(header)
        return await svc.auth.password(tenant, username, password, address, admins_only=True)


def _basic_credentials(header: str) -> tuple[str, str]:
    """(username, password) of an HTTP Basic header, which the plugin also accepts
    without its `Basic ` scheme word."""
    token = header[6:] if header.startswith(("Basic ", "basic ")) else header
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthenticated("session", "", "not HTTP Basic credentials") from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise Unauthenticated("session", "", "not HTTP Basic credentials")
    return username, password
