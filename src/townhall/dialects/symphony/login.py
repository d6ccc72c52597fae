"""`/login` and `/relay` (contract §3): RSA-signed JWT in, opaque token out; logout."""

from __future__ import annotations

from litestar import Response, Router, post

from townhall.services.base import Actor

from .http import AnyRequest, SymphonyError, body, ok, services
from .models import AuthenticateRequest, Token


async def _login(request: AnyRequest, kind: str, name: str) -> Token:
    try:
        signed = (await body(request, AuthenticateRequest)).token
    except SymphonyError as exc:  # the Login API answers every refused login with 401
        raise SymphonyError(401, exc.message) from None
    svc = services(request)
    tenant = await svc.tenants.for_host(request.headers.get("host"))
    token = await svc.tokens.login(Actor(tenant), signed, kind)
    return Token(name=name, token=token)


@post("/login/pubkey/authenticate", status_code=200)
async def session_login(request: AnyRequest) -> Response[bytes]:
    return ok(await _login(request, "session", "sessionToken"))


@post("/relay/pubkey/authenticate", status_code=200)
async def key_manager_login(request: AnyRequest) -> Response[bytes]:
    return ok(await _login(request, "keymanager", "keyManagerToken"))


@post(["/login/logout", "/sessionauth/v1/logout"], status_code=200)
async def logout(request: AnyRequest) -> Response[bytes]:
    token = request.headers.get("sessiontoken")
    if not token:
        raise SymphonyError(401, "The sessionToken header is missing")
    await services(request).tokens.logout(token)
    return ok({"message": "Logged out"})


router = Router(path="/", route_handlers=[session_login, key_manager_login, logout])
