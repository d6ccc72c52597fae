"""Signing in and out of the console with a Townhall account.

The password goes through the auth service like every API's password login, so the
same failed-login limits (per account and per address) hold and every failure is
logged and audited. Only administrators are let in (`web.admits`); anyone else is told
so plainly and gets no session.
"""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency

from townhall.dialects import kit
from townhall.domain.errors import TooManyAttempts, Unauthenticated
from townhall.services.auth import AuthService
from townhall.services.tenants import TenantService

from . import web
from .forms import posted


@get("/login", name="console:login")
async def login_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The sign-in form; it sets the pre-session CSRF cookie if the browser has none."""
    cookies = []
    if not request.cookies.get(web.LOGIN_COOKIE):
        cookies.append(_login_cookie(request, web.new_login_token()))
    notice = "Signed out." if request.query_params.get("signed_out") else ""
    context = {"username": "", "notice": notice}
    return web.render(request, "login.html", context, cookies=cookies)


@post("/login", status_code=303)
async def sign_in(
    request: Request[Any, Any, Any],
    auth: NamedDependency[AuthService],
    tenants: NamedDependency[TenantService],
) -> Response[Any]:
    """The tenant is the one the Host header routes to (as for Openfire's API)."""
    form = await posted(request)
    username, password = form.text("username", limit=256), form.text("password", limit=1024)
    tenant = await tenants.for_host(request.headers.get("host"))
    address = kit.caller_address(request)
    try:
        who = await auth.password(tenant, username, password, address)
    except TooManyAttempts as exc:
        return _again(request, username, web.message(exc), 429)
    except Unauthenticated:
        return _again(request, username, "Wrong username or password.", 401)
    if not web.admits(who):
        return web.render(
            request,
            "login.html",
            {
                "username": username,
                "error": f"{who.username} is not an administrator: the console is for "
                "server and tenant administrators only.",
            },
            403,
        )
    token = await auth.start_session(who, "console")
    answer = web.go(f"{web.BASE}/people")
    answer.set_cookie(web.session_cookie(request, token))
    answer.set_cookie(web.expired(web.LOGIN_COOKIE, request))
    return answer


@post("/logout", status_code=303)
async def sign_out(
    request: Request[Any, Any, Any], auth: NamedDependency[AuthService]
) -> Response[Any]:
    """Ends the session (its token is revoked, so the cookie is worth nothing even if
    kept) and forgets the cookie."""
    token = request.cookies.get(web.SESSION_COOKIE)
    if token:
        # Already ended (a lockout, a new password): signing out is done all the same.
        with contextlib.suppress(Unauthenticated):
            await auth.end_session(token, "console")
    answer = web.go(f"{web.BASE}/login?signed_out=1")
    answer.set_cookie(web.expired(web.SESSION_COOKIE, request))
    return answer


def _login_cookie(request: Request[Any, Any, Any], value: str) -> Cookie:
    return Cookie(
        key=web.LOGIN_COOKIE,
        value=value,
        path=web.BASE,
        httponly=True,
        samesite="strict",
        secure=web.is_https(request),
    )


def _again(
    request: Request[Any, Any, Any], username: str, error: str, status: int
) -> Response[Any]:
    return web.render(request, "login.html", {"username": username, "error": error}, status)
