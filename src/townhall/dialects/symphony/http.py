"""Plumbing shared by the Symphony routes: session tokens, roles, JSON, errors.

Every `/pod` call carries a `sessionToken` header; it is resolved (and refused with 401)
before the handler runs. Errors are Symphony's `{"code": <status>, "message": ...}`, with
a status the operation's spec declares: most declare only 400/401/403/500, so an unknown
id or a duplicate is a 400 there; operations that declare more say so with `DECLARES_404`.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    Unauthenticated,
)
from townhall.services.base import Actor
from townhall.services.container import Services
from townhall.services.tokens import Session

from .. import unstorable
from .models import Error, Wire

SESSION_KEY = "symphony.session"
AnyRequest = Request[Any, Any, Any]
W = TypeVar("W", bound=Wire)

_STATUS: dict[type[DomainError], int] = {
    Invalid: 400,
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    Forbidden: 403,
    Unauthenticated: 401,
    QuotaExceeded: 429,
}
DECLARED = frozenset({400, 401, 403, 500})
DECLARES_404 = {"declares": frozenset({404})}


class SymphonyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str) -> Response[bytes]:
    return Response(
        msgspec.json.encode(Error(code=status, message=message)),
        status_code=status,
        media_type="application/json",
    )


def _declared(request: AnyRequest, status: int) -> int:
    """`status` if the operation declares it, else 400 (the spec's catch-all client error)."""
    extra: frozenset[int] = request.route_handler.opt.get("declares", frozenset())
    return status if status in DECLARED or status in extra else 400


def handle_domain_error(request: AnyRequest, exc: DomainError) -> Response[bytes]:
    status = next((s for kind, s in _STATUS.items() if isinstance(exc, kind)), 500)
    status = _declared(request, status)
    if isinstance(exc, Invalid):
        return error(400, f"{exc.field}: {exc.reason}")
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


def services(request: AnyRequest) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def authenticate(request: AnyRequest) -> None:
    """Router hook: resolve the `sessionToken` header or refuse the call with 401; then
    refuse (400) path and query values no column can hold (see dialects/unstorable.py)."""
    token = request.headers.get("sessiontoken")
    if not token:
        raise SymphonyError(401, "The sessionToken header is missing")
    request.scope["state"][SESSION_KEY] = await services(request).tokens.session(token)
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if isinstance(value, str) and "\x00" in value:
            raise SymphonyError(400, f"{name}: {unstorable.NUL_REFUSED}")
        if name in INT_QUERY and isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int) and not unstorable.INT64_MIN <= value <= unstorable.INT64_MAX:
            if name == "uid" and name in request.path_params:  # no such user, as for any id
                raise NotFound("user", str(value))
            raise SymphonyError(400, f"{name}: {unstorable.INT64_REFUSED}")


def session(request: AnyRequest) -> Session:
    return request.scope["state"][SESSION_KEY]  # type: ignore[no-any-return]


def actor(request: AnyRequest) -> Actor:
    return session(request).actor


def require(request: AnyRequest, allowed: Iterable[str]) -> Actor:
    """The caller, if it holds one of the roles; 403 otherwise."""
    current = session(request)
    if not current.roles & frozenset(allowed):
        raise SymphonyError(403, "The caller lacks the role this operation needs")
    return current.actor


def require_user_admin(request: AnyRequest) -> Actor:
    return require(request, role_names.USER_ADMINS)


INT_QUERY = frozenset({"skip", "limit", "lastUserId", "uid"})  # integer query parameters


def refuse_unstorable(raw: bytes, decoded: Any) -> None:
    """400 naming the field for a value `unstorable.find` finds, rather than a database error;
    `raw` is looked at first so ordinary bodies are not walked."""
    if not unstorable.suspect(raw):
        return
    found = unstorable.find(msgspec.to_builtins(decoded))
    if found is not None:
        raise SymphonyError(400, f"{found[0] or 'body'}: {found[1]}")


async def body(request: AnyRequest, kind: type[W]) -> W:
    raw = await request.body()
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


def int_list(raw: str | None, field: str) -> list[int]:
    if not raw:
        return []
    try:
        found = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise SymphonyError(400, f"{field} must be a comma-separated list of integers") from None
    if not all(unstorable.INT64_MIN <= value <= unstorable.INT64_MAX for value in found):
        raise SymphonyError(400, f"{field}: {unstorable.INT64_REFUSED}")
    return found


def str_list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]
