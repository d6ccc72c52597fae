"""Plumbing shared by the Symphony routes: session tokens, roles, JSON, errors.

Every `/pod` call carries a `sessionToken` header; the router's first guard resolves it
to the caller's Principal (or refuses the call with 401) before the handler runs. Errors
are Symphony's `{"code": <status>, "message": ...}`, with a status the operation's spec
declares: most declare only 400/401/403/500, so an unknown id or a duplicate is a 400
there; operations that declare more say so with `DECLARES_404`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from townhall.domain import roles as role_names
from townhall.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)
from townhall.domain.principal import Principal

from .. import kit, unstorable
from ..documents import Contract, Param
from .models import Error, Wire

AnyRequest = Request[Any, Any, Any]
W = TypeVar("W", bound=Wire)

STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (Invalid, 400),
    (NotFound, 404),
    (AlreadyExists, 409),
    (Conflict, 409),
    (Forbidden, 403),
    (Unauthenticated, 401),
    (QuotaExceeded, 429),
    (Unavailable, 503),
)
DECLARED = frozenset({400, 401, 403, 500})
DECLARES_404 = {"declares": frozenset({404})}
FIELDS = {
    "email": "emailAddress",
    "username": "userName",
    "display_name": "displayName",
    "account_type": "accountType",
    "current_key": "currentKey",
    "previous_key": "previousKey",
    "ids": "uid",
    "offset": "skip",
    "first_name": "firstName",
    "last_name": "lastName",
    "company_name": "companyName",
    "work_phone": "workPhoneNumber",
    "mobile_phone": "mobilePhoneNumber",
    "sms_number": "smsNumber",
    "job_function": "jobFunction",
    "two_factor_phone": "twoFactorAuthPhone",
    "recommended_language": "recommendedLanguage",
    "asset_classes": "assetClasses",
    "market_coverage": "marketCoverage",
    "responsibilities": "responsibility",
    "functions": "function",
    "instruments": "instrument",
    "metadata": "userMetadata",
    # contacts
    "user_id": "userId",
    # entitlements
    "feature": "entitlment",
    "delegate_id": "userId",
    "app_id": "appId",
    "app_name": "appName",
    # company certificates
    "cert_name": "name",
    "cert_type": "type",
    "cert_status": "status",
    # disclaimers and information barriers
    "disclaimer_id": "id",
    "disclaimer_name": "name",
    "frequency_hours": "frequencyInHours",
    "is_default": "isDefault",
    "group_name": "name",
    "member_ids": "users",
    "policy_type": "policyType",
    # rooms and IMs
    "natural_name": "name",
    "im_members": "uidList",
}
"""Domain field names as Symphony spells them."""
LACKS_ROLE = "The caller lacks the role this operation needs"

CONTRACT = Contract(
    title="Symphony Pod API (Townhall)",
    url="/pod/openapi.json",
    prefixes=("/pod/", "/login/", "/relay/"),
    security={"sessionToken": {"type": "apiKey", "in": "header", "name": "sessionToken"}},
    # What any operation may answer: an unknown id and a duplicate are 400s where the
    # operation declares no 404 or 409 (`_declared`), a path no route serves (a uid
    # that is not a number) is a 404, and only a login answers 429 (its own answers).
    errors={status: Error for status in (400, 401, 403, 404, 413, 503)},
    description=(
        "Every `/pod` operation takes the `sessionToken` header a `/login` answered; the "
        "login operations need none. Refusals are Symphony's `Error` body."
    ),
)
"""The published document: what `documents.document` needs to know about this API."""

IDS = {"type": "string", "pattern": "^-?[0-9]+(,-?[0-9]+)*$"}
"""A comma-separated list of ids in a query parameter (`uid=1,2,3`)."""


def page_params(most: int) -> tuple[Param, Param]:
    """The query parameters of a paged list whose service refuses a negative `skip`
    and a `limit` outside 1 to `most`."""
    return (
        Param("skip", {"type": "integer", "minimum": 0}),
        Param("limit", {"type": "integer", "minimum": 1, "maximum": most}),
    )


class SymphonyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        msgspec.json.encode(Error(code=status, message=message)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _declared(request: AnyRequest, status: int) -> int:
    """`status` if the operation declares it, else 400 (the spec's catch-all client error)."""
    extra: frozenset[int] = request.route_handler.opt.get("declares", frozenset())
    return status if status in DECLARED or status in extra else 400


def handle_domain_error(request: AnyRequest, exc: DomainError) -> Response[bytes]:
    if isinstance(exc, Unavailable):  # not the client's fault: never folded into 400
        response = error(503, exc.detail)
        response.headers.update(kit.retry_headers(exc))
        return response
    if isinstance(exc, TooManyAttempts):  # a login's answer, whatever the spec declares
        return error(429, exc.detail, kit.retry_headers(exc))
    status = _declared(request, kit.status_for(exc, STATUS))
    if isinstance(exc, Invalid):
        return error(400, kit.message_for(exc, FIELDS))
    if isinstance(exc, NotFound):
        return error(status, f"{exc.kind} {exc.subject} not found".replace("_", " "))
    if isinstance(exc, AlreadyExists):
        return error(status, f"{exc.kind} {exc.subject} already exists".replace("_", " "))
    return error(status, exc.detail or str(exc))


def handle_symphony_error(request: AnyRequest, exc: SymphonyError) -> Response[bytes]:
    return error(exc.status, exc.message)


def handle_http_error(request: AnyRequest, exc: HTTPException) -> Response[bytes]:
    return error(exc.status_code, exc.detail)


def handle_server_error(request: AnyRequest, exc: Exception) -> Response[bytes]:
    """An unexpected failure (logged with its stack trace by Litestar): still Symphony's
    `Error` body, as every declared 500 is, never Litestar's own `{"status_code", ...}`."""
    return error(500, "Internal server error")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: handle_domain_error,
    SymphonyError: handle_symphony_error,
    HTTPException: handle_http_error,
    500: handle_server_error,
}

INT_QUERY = frozenset({"skip", "limit", "lastUserId", "uid"})  # integer query parameters


async def _session(connection: kit.AnyConnection) -> Principal:
    """The `sessionToken` header's holder; then path and query values no column can
    hold are refused (400; see dialects/unstorable.py)."""
    token = connection.headers.get("sessiontoken")
    if not token:
        raise SymphonyError(401, "The sessionToken header is missing")
    found = await kit.services_of(connection).auth.session(token)
    for name, value in [*connection.path_params.items(), *connection.query_params.multi_items()]:
        if isinstance(value, str) and "\x00" in value:
            raise SymphonyError(400, f"{name}: {unstorable.NUL_REFUSED}")
        if name in INT_QUERY and isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int) and not unstorable.INT64_MIN <= value <= unstorable.INT64_MAX:
            if name == "uid" and name in connection.path_params:  # no such user, as any id
                raise NotFound("user", str(value))
            raise SymphonyError(400, f"{name}: {unstorable.INT64_REFUSED}")
    return found


authenticated = kit.authenticates(_session)
"""The `/pod` router's first guard."""


def role_guard(allowed: frozenset[str]) -> kit.Guard:
    """Only callers holding one of the roles (with what `server_admin` implies)."""
    return kit.requires(lambda caller: caller.holds_any(allowed), LACKS_ROLE)


user_admins = role_guard(role_names.USER_ADMINS)


def refuse_unstorable(raw: bytes, decoded: Any) -> None:
    """400 naming the field for a value `unstorable.find` finds, rather than a database error;
    `raw` is looked at first so ordinary bodies are not walked."""
    if not unstorable.suspect(raw):
        return
    found = unstorable.find(msgspec.to_builtins(decoded))
    if found is not None:
        raise SymphonyError(400, f"{found[0] or 'body'}: {found[1]}")


def refuse_deep(raw: bytes) -> None:
    """A body nested beyond what any Symphony payload needs is a 400 naming the body,
    before a decoder recurses into it (see dialects/unstorable.py)."""
    if unstorable.too_deep(raw):
        raise SymphonyError(400, f"body: {unstorable.DEPTH_REFUSED}")


async def body(request: AnyRequest, kind: type[W]) -> W:
    raw = await request.body()
    refuse_deep(raw)
    try:
        decoded = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise SymphonyError(400, f"Invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise SymphonyError(400, f"Malformed JSON: {exc}") from None
    refuse_unstorable(raw, decoded)
    return decoded


def ok(payload: Any, status: int = 200) -> Response[bytes]:
    return Response(msgspec.json.encode(payload), status_code=status, media_type="application/json")


def no_content() -> Response[bytes]:
    return Response(b"", status_code=204)


int_list = kit.int_list
str_list = kit.str_list
