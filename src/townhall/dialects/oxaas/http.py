"""Plumbing shared by the OX Cloud-Plugins routes: Basic auth scopes, contexts, errors.

Every route takes HTTP Basic. Who may call it is one of the reference's scopes, each a
guard that resolves the caller to the one `Principal` of the context (tenant) the path
names (contracts/oxaas.md "Conventions"):

- context admin: an administrator of the context's tenant (a server admin there); with
  `TOWNHALL_MASTER_ACCOUNT_OVERRIDE`, also the admins of the brand owning the context
  (or a brand above it) and the master admin (the operator);
- context admin only: the context's admins and the owning brand's admins, whatever the
  override says;
- reseller admin: brand admins, and the master admin only with the override; context
  admins never. The principal names the brand it acts for (`Principal.brand_id`); the
  routes act on that brand, the brands below it and their contexts.
- tennant (the mail reads, `/mail/{uid}`): a brand's mail-read credential, for the
  mailboxes of the brand's contexts and of its sub-brands' contexts; nobody else (no
  admin of any kind). An unknown mailbox is a 404 once the credential is good (SMTP
  tells as much at RCPT time); a mailbox of another brand's context is a 401.

Refusals are OX's `{"error": "<message>"}`: 400 names the parameter, 401 carries
`WWW-Authenticate: Basic realm="oxaas"`, 404 says what was not found, 409 a duplicate.
A caller outside its scope is a 401, as OX answers it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import Any, TypedDict

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler

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
from townhall.domain.models import DEFAULT_BRAND_ID, Brand, Tenant
from townhall.domain.principal import Principal

from .. import kit
from ..documents import Contract

AnyRequest = Request[Any, Any, Any]
AnyConnection = ASGIConnection[Any, Any, Any, Any]
CHALLENGE = {"WWW-Authenticate": 'Basic realm="oxaas"'}
PREFIXES = ("/oxaas/v1", "/api/oxaas/v1")
FIELDS = {
    "mobile_phone": "msisdn",
    "delivery_status": "oxdeliverystatus",
    "legacy_ref": "oxlegacyref",
    "custom_ids": "custom",
    "class_of_service": "classofservice",
    "spam_level": "spamlevel",
    "anti_phishing": "oxantiphishing",
    "quota_mode": "quotamode",
    "username": "uidname",
    "message": "msgJsonObject",
    "starts_at": "startDatetime",
    "ends_at": "endDatetime",
    "owner_brand": "ownerBrand",
}
"""Domain field names as OX spells them."""


class OxError(Exception):
    """A refusal the dialect decides itself (a malformed id, no credentials)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Failure(TypedDict):
    error: str


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response[bytes]:
    shown = {**(CHALLENGE if status == 401 else {}), **(headers or {})}
    return Response(
        msgspec.json.encode({"error": message}),
        status_code=status,
        media_type="application/json",
        headers=shown,
    )


def ok(body: Any, status: int = 200) -> Response[bytes]:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (Invalid, 400),
    (NotFound, 404),
    (AlreadyExists, 409),
    (Conflict, 409),
    (Forbidden, 401),
    (Unauthenticated, 401),
    (TooManyAttempts, 429),
    (Unavailable, 503),
)


def handle_domain_error(request: AnyRequest, exc: DomainError) -> Response[bytes]:
    status = kit.status_for(exc, _STATUS)
    if isinstance(exc, Invalid):
        message = kit.message_for(exc, FIELDS)
    elif isinstance(exc, NotFound):
        message = f"{kit.spelt(exc.kind, FIELDS)} {exc.subject} not found".replace("_", " ")
    elif isinstance(exc, AlreadyExists):
        message = f"{exc.kind} {exc.subject} already exists".replace("_", " ")
    elif isinstance(exc, Unauthenticated | Forbidden):
        message = "not authorized"  # never which part of the credential was wrong
    else:
        message = exc.detail or str(exc)
    return error(status, message, kit.retry_headers(exc))


def handle_ox_error(request: AnyRequest, exc: OxError) -> Response[bytes]:
    return error(exc.status, exc.message)


def handle_http_error(request: AnyRequest, exc: HTTPException) -> Response[bytes]:
    return error(exc.status_code, str(exc.detail))


def handle_server_error(request: AnyRequest, exc: Exception) -> Response[bytes]:
    return error(500, "internal server error")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: handle_domain_error,
    OxError: handle_ox_error,
    HTTPException: handle_http_error,
    500: handle_server_error,
}

CONTRACT = Contract(
    title="Open-Xchange Cloud-Plugins API (Townhall)",
    url="/oxaas/v1/openapi.json",
    prefixes=(PREFIXES[0] + "/",),  # /api/oxaas/v1 serves the same routes
    security={"basic": {"type": "http", "scheme": "basic"}},
    errors={status: Failure for status in (400, 401, 404, 409, 413, 429, 503)},
)


# -- ids ---------------------------------------------------------------------------------


def number(raw: Any, field: str) -> int:
    """A context or user id: a decimal number, else 400 naming it."""
    text = str(raw)
    if not text.isdigit() or len(text) > 18:
        raise OxError(400, f"{field} must be a number")
    return int(text)


def user_context(raw: Any) -> tuple[int, int]:
    """`userid@contextid` (the notifications' path) as (user id, context id)."""
    user, at, context = str(raw).partition("@")
    if not at:
        raise OxError(400, "usercontext must be userid@contextid")
    return number(user, "userid"), number(context, "contextid")


async def context_of(connection: AnyConnection) -> Tenant:
    """The tenant the path's `contextid` names, or else the query's `contextId` or
    `contextName` (404 if there is none)."""
    tenants = kit.services_of(connection).tenants
    path = connection.path_params
    raw = path.get("contextid") or connection.query_params.get("contextId")
    if "usercontext" in path:  # the notifications' `userid@contextid`
        raw = user_context(path["usercontext"])[1]
    if "contextId" in path:  # the forwards' path: the context's id or its name
        raw = path["contextId"] if str(path["contextId"]).isdigit() else None
    if raw is None:
        name = path.get("contextId") or connection.query_params.get("contextName")
        if not name:
            raise OxError(400, "contextId or contextName is required")
        try:
            return await tenants.by_name(name)
        except NotFound:
            raise OxError(404, f"context {name} not found") from None
    context_id = number(raw, "contextid" if "contextid" in connection.path_params else "contextId")
    try:
        return await tenants.by_id(context_id)
    except NotFound:
        raise OxError(404, f"context {context_id} not found") from None


# -- auth --------------------------------------------------------------------------------


def credentials(connection: AnyConnection) -> tuple[str, str]:
    """(username, password) of the Basic header; missing, malformed or with an empty
    password: 401."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise Unauthenticated("session", "", "no Basic credentials")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthenticated("session", "", "not HTTP Basic credentials") from None
    username, colon, password = decoded.partition(":")
    if not colon or not username or not password:
        raise Unauthenticated("session", username, "no username or an empty password")
    return username, password


async def _resolve(connection: AnyConnection, override_applies: bool) -> Principal:
    svc = kit.services_of(connection)
    username, password = credentials(connection)
    tenant = await context_of(connection)
    address = kit.caller_address(connection)
    override = svc.brands.master_override if override_applies else True
    if await svc.auth.is_brand_admin(username):
        admin = await svc.auth.brand_admin(username, password, address)
        if not override or not await svc.brands.reaches(admin, tenant):
            raise Forbidden("context", str(tenant.id), "outside the brand admin's brands")
        return Principal.system(tenant, f"brand admin {username}")
    try:
        found = await svc.auth.password(tenant, username, password, address)
    except Unauthenticated:
        if not (override_applies and override):
            raise
        return await _master(connection, tenant, username, password, address)
    if not found.is_server_admin:
        raise Forbidden("context", str(tenant.id), "not an administrator of the context")
    kit.refuse_unstorable_request(connection)
    return found


async def _master(
    connection: AnyConnection, tenant: Tenant, username: str, password: str, address: str
) -> Principal:
    """The operator acting on any context (only with the master override)."""
    svc = kit.services_of(connection)
    first = await svc.tenants.first()
    if first is None or first.id == tenant.id:
        raise Unauthenticated("session", username, "wrong password")
    operator = await svc.auth.password(first, username, password, address)
    if not await svc.tenants.is_operator(operator):
        raise Forbidden("context", str(tenant.id), "not the master admin")
    return Principal.system(tenant, f"master {username}")


async def context_admin(connection: AnyConnection, _: BaseRouteHandler) -> None:
    """contextAdminAuth."""
    kit.remember(connection, await _resolve(connection, override_applies=True))


async def context_admin_only(connection: AnyConnection, _: BaseRouteHandler) -> None:
    """contextAdminOnlyAuth: brand admins need no override; the master admin is refused."""
    kit.remember(connection, await _resolve(connection, override_applies=False))


BRAND = "oxaas_brand"
"""The connection-state key of the caller's brand (resellerAdminAuth)."""


async def reseller_admin(connection: AnyConnection, _: BaseRouteHandler) -> None:
    """resellerAdminAuth: a brand admin acts for its brand; the master admin (the
    operator) for the default brand and every brand, only with the override. The
    principal sits in the first tenant (where brand-level changes are audited) with no
    role there: it is not the operator unless it is the master admin."""
    svc = kit.services_of(connection)
    username, password = credentials(connection)
    address = kit.caller_address(connection)
    first = await svc.tenants.first()
    if first is None:
        raise Unauthenticated("session", username, "no tenant yet")
    if await svc.auth.is_brand_admin(username):
        admin = await svc.auth.brand_admin(username, password, address)
        principal = Principal(first, f"brand admin {username}", brand_id=admin.brand_id)
        brand = await svc.brands.of_admin(admin)
    else:
        if not svc.brands.master_override:
            raise Unauthenticated("session", username, "not a reseller admin")
        operator = await svc.auth.password(first, username, password, address)
        if not await svc.tenants.is_operator(operator):
            raise Forbidden("brand", username, "not the master admin")
        principal = replace(
            Principal.system(first, f"master {username}"), brand_id=DEFAULT_BRAND_ID
        )
        brand = await svc.brands.of_default()
    kit.refuse_unstorable_request(connection)
    kit.remember(connection, principal)
    connection.scope["state"][BRAND] = brand


def brand_of_caller(connection: AnyConnection) -> Brand:
    """The brand a reseller_admin-guarded caller acts for (its `Principal.brand_id`)."""
    return connection.scope["state"][BRAND]  # type: ignore[no-any-return]


async def tennant(connection: AnyConnection, _: BaseRouteHandler) -> None:
    """tennantAuth: the brand's mail-read credential, for a mailbox the brand reaches.
    The credential is checked before the mailbox is looked up, so a caller without
    one learns nothing of which mailboxes exist."""
    svc = kit.services_of(connection)
    username, password = credentials(connection)
    brand = await svc.auth.brand_mail_reader(username, password, kit.caller_address(connection))
    mailbox = await svc.mailboxes.holder(str(connection.path_params.get("uid", "")))
    tenant = await svc.tenants.by_id(mailbox.tenant_id)
    if not await svc.brands.covers(brand, tenant):
        raise Forbidden("mailbox", mailbox.address, "outside the brand of the credential")
    kit.remember(connection, Principal.system(tenant, f"brand mail reader {username}"))
