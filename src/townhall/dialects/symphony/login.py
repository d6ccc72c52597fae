"""`/login` and `/relay` (contract §3): RSA-signed JWT in, opaque token out; logout."""

from __future__ import annotations

from typing import TypedDict

from litestar import Response, Router, post
from litestar.di import NamedDependency

from townhall.services.auth import AuthService
from townhall.services.tenants import TenantService

from .. import kit
from ..documents import wire
from .http import AnyRequest, SymphonyError, body, ok
from .models import AuthenticateRequest, Error, Token


class LoggedOut(TypedDict):
    message: str


LOGIN = wire(AuthenticateRequest, answers={200: Token, 429: Error}, public=True)
"""Both logins: a signed JWT in, a token out; every refused login is a 401, and too
many refused ones (per account or address) a 429 with Retry-After."""


async def _login(
    request: AnyRequest, auth: AuthService, tenants: TenantService, kind: str, name: str
) -> Token:
    try:
        signed = (await body(request, AuthenticateRequest)).token
    except SymphonyError as exc:  # the Login API answers every refused login with 401
        raise SymphonyError(401, exc.message) from None
    tenant = await tenants.for_host(request.headers.get("host"))
    token = await auth.key_login(tenant, signed, kind, kit.caller_address(request))
    return Token(name=name, token=token)


@post("/login/pubkey/authenticate", status_code=200, opt=LOGIN)
async def session_login(
    request: AnyRequest, auth: NamedDependency[AuthService], tenants: NamedDependency[TenantService]
) -> Response[bytes]:
    return ok(await _login(request, auth, tenants, "session", "sessionToken"))


@post("/relay/pubkey/authenticate", status_code=200, opt=LOGIN)
async def key_manager_login(
    request: AnyRequest, auth: NamedDependency[AuthService], tenants: NamedDependency[TenantService]
) -> Response[bytes]:
    return ok(await _login(request, auth, tenants, "keymanager", "keyManagerToken"))


@post(
    ["/login/logout", "/sessionauth/v1/logout"],
    status_code=200,
    opt=wire(answers={200: LoggedOut}),
)
async def logout(request: AnyRequest, auth: NamedDependency[AuthService]) -> Response[bytes]:
    token = request.headers.get("sessiontoken")
    if not token:
        raise SymphonyError(401, "The sessionToken header is missing")
    await auth.end_session(token)
    answer: LoggedOut = {"message": "Logged out"}
    return ok(answer)


router = Router(path="/", route_handlers=[session_login, key_manager_login, logout])
