"""What every page of the console shares: who is signed in, the CSRF check, rendering,
and how a refusal is shown.

The session is an opaque token of the auth service (kind `console`), kept in an
HttpOnly cookie scoped to `/admin`: it is looked up on every request, so signing out,
locking the account or changing its password ends it at once in every server process,
exactly as for the APIs' session tokens.

CSRF: every form that changes something carries a token that the server checks on every
POST. Once signed in, the token is an HMAC of the session token (so it cannot be had
without the HttpOnly session cookie, and dies with the session); on the sign-in form,
before there is a session, a random value also set in a SameSite=Strict cookie (the
double-submit pattern). The four APIs are untouched: the check is a guard of the console's
own router.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from townhall.dialects import kit
from townhall.domain import roles
from townhall.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from townhall.domain.principal import Principal

BASE = "/admin"
SESSION_COOKIE = "townhall_console"
LOGIN_COOKIE = "townhall_console_login"
CSRF_FIELD = "_csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TENANT_ADMINS = frozenset({roles.SUPER_ADMINISTRATOR, roles.ADMINISTRATOR})
STATUSES: tuple[tuple[type[DomainError], int], ...] = (
    (TooManyAttempts, 429),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (AlreadyExists, 409),
    (Conflict, 409),
    (Invalid, 400),
)

AnyRequest = Request[Any, Any, Any]


def admits(who: Principal) -> bool:
    """Who may use the console: a server admin, a tenant-wide administrator (Symphony's
    super administrators and administrators) or a domain admin. What each may then do
    is the services' to decide, as for the APIs."""
    return who.is_admin or who.holds_any(TENANT_ADMINS)


def is_https(connection: kit.AnyConnection) -> bool:
    return connection.url.scheme == "https"


def session_cookie(connection: kit.AnyConnection, token: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path=BASE,
        httponly=True,
        samesite="strict",
        secure=is_https(connection),
    )


def expired(name: str, connection: kit.AnyConnection) -> Cookie:
    return Cookie(
        key=name,
        value="",
        path=BASE,
        max_age=0,
        httponly=True,
        samesite="strict",
        secure=is_https(connection),
    )


# -- who is signed in --------------------------------------------------------------------


async def _signed_in(connection: kit.AnyConnection) -> Principal:
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("session", "", "not signed in")
    who = await kit.services_of(connection).auth.session(token, "console")
    if not admits(who):
        raise Forbidden("console", who.username or "", "this console is for administrators")
    return who


signed_in = kit.authenticates(_signed_in)
"""The guard of every page but sign-in: the principal, checked again on each request."""

server_admins_only = kit.requires(
    lambda who: who.is_server_admin, "Only a server administrator may do this"
)
"""For the pages whose services leave the rule to the caller, as the APIs' do (groups,
system properties)."""


# -- CSRF --------------------------------------------------------------------------------


def csrf_token(connection: kit.AnyConnection) -> str:
    """The token this browser's forms must carry (empty: none can be checked yet)."""
    session = connection.cookies.get(SESSION_COOKIE)
    if session:
        return hmac.new(session.encode(), b"townhall-console-csrf", hashlib.sha256).hexdigest()
    return connection.cookies.get(LOGIN_COOKIE, "")


async def checks_csrf(connection: kit.AnyConnection, _: Any) -> None:
    """Every request that may change something carries the token (form field or
    header), or is refused before its handler runs."""
    if not isinstance(connection, Request) or connection.method in SAFE_METHODS:
        return
    offered = connection.headers.get(CSRF_HEADER)
    if not offered:
        form = await connection.form()
        value = form.get(CSRF_FIELD)
        offered = value if isinstance(value, str) else None
    expected = csrf_token(connection)
    if not offered or not expected or not hmac.compare_digest(offered, expected):
        raise Forbidden(
            "csrf", "", "The form's security token is missing or out of date: reload the page."
        )


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


# -- rendering ---------------------------------------------------------------------------


def render(
    request: AnyRequest,
    template: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
    cookies: list[Cookie] | None = None,
) -> Template:
    """A page, with what the layout needs: the caller (if signed in), the CSRF token,
    the current section. A boosted (htmx) request is told which URL to show."""
    state = request.scope["state"]
    principal = state.get(kit.PRINCIPAL)
    headers = {}
    if request.headers.get("hx-request"):
        headers["HX-Push-Url"] = (
            str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
            if request.method == "GET"
            else "false"
        )
    return Template(
        template_name=template,
        context={
            "principal": principal,
            "csrf_field": CSRF_FIELD,
            "csrf": (cookies and _login_value(cookies)) or csrf_token(request),
            "path": request.url.path,
            **(context or {}),
        },
        status_code=status,
        cookies=cookies,
        headers=headers,
        media_type="text/html",
    )


def _login_value(cookies: list[Cookie]) -> str | None:
    return next((c.value for c in cookies if c.key == LOGIN_COOKIE and c.value), None)


def message(exc: DomainError) -> str:
    """What the page says of a refusal: the field and the reason, or the detail."""
    return kit.message_for(exc, {})


def status(exc: DomainError) -> int:
    return kit.status_for(exc, STATUSES, 400)


def go(to: str) -> Response[Any]:
    """After a change, show the page that displays it (POST, redirect, GET)."""
    return Redirect(to, status_code=303)


def refused(request: AnyRequest, exc: DomainError) -> Response[Any]:
    """A refusal that no page caught. Not signed in (or the session ended): back to the
    sign-in page. Else a page saying why, with the status it deserves."""
    if isinstance(exc, Unauthenticated):
        target = f"{BASE}/login"
        answer: Response[Any]
        if request.headers.get("hx-request"):
            answer = Response(b"", status_code=401, headers={"HX-Redirect": target})
        else:
            answer = Redirect(target, status_code=303)
        if request.cookies.get(SESSION_COOKIE):
            answer.set_cookie(expired(SESSION_COOKIE, request))
        return answer
    return render(request, "error.html", {"message": message(exc)}, status(exc))
