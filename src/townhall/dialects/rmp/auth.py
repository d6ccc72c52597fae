"""`/auth`: password login for JWTs, refresh, the admin check and logout."""

from __future__ import annotations

from typing import TypedDict

from litestar import Response, Router, get, post
from litestar.di import NamedDependency

from townhall.domain.principal import Principal
from townhall.services.auth import AuthService, Grant
from townhall.services.domains import DomainService

from .. import kit
from ..documents import Param, wire
from .http import BEFORE_PASSWORD_CHANGE, AnyRequest, Done, bearer, body, ok
from .models import LoginRequest


class GrantedUser(TypedDict):
    email: str
    realName: str
    isDomainAdmin: bool
    isServerAdmin: bool


class Granted(TypedDict):
    success: bool
    token: str
    refreshToken: str
    user: GrantedUser
    sessionId: str
    expiresIn: int
    requireChange: bool


class AdminCheck(TypedDict):
    success: bool
    isAdmin: bool
    isDomainAdmin: bool
    isServerAdmin: bool
    adminDomains: list[str]


REFRESH_TOKEN = Param(
    "Authorization",
    required=True,
    where="header",
    description="Bearer <the refresh token of a login>",
)


def _granted(grant: Grant) -> Response[bytes]:
    return ok(**_grant(grant))


def _grant(grant: Grant) -> Granted:
    found = grant.principal
    return Granted(
        success=True,
        token=grant.access_token,
        refreshToken=grant.refresh_token,
        user=GrantedUser(
            email=found.address,
            realName=grant.name,
            isDomainAdmin=found.is_domain_admin or found.is_server_admin,  # as /auth/admin
            isServerAdmin=found.is_server_admin,
        ),
        sessionId=(found.session_id or "")[:24],
        expiresIn=grant.expires_in,
        # The reference's reset flag: the holder must change the password first.
        requireChange=found.must_change_password,
    )


@post(
    "/auth/login",
    status_code=200,
    opt=wire(LoginRequest, answers={200: Granted}, public=True),
)
async def login(request: AnyRequest, auth: NamedDependency[AuthService]) -> Response[bytes]:
    asked = await body(request, LoginRequest)
    address = kit.caller_address(request)
    return _granted(await auth.token_login(asked.email, asked.password, asked.server, address))


@post(
    "/auth/refresh",
    status_code=200,
    opt=wire(params=(REFRESH_TOKEN,), answers={200: Granted}, public=True),
)
async def refresh(request: AnyRequest, auth: NamedDependency[AuthService]) -> Response[bytes]:
    return _granted(await auth.refresh(bearer(request)))


@get("/auth/admin", opt=wire(answers={200: AdminCheck}))
async def admin_check(
    domains: NamedDependency[DomainService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    administered = principal.admin_domains
    if principal.is_server_admin:
        administered = tuple(d.name for d in await domains.list(principal))
    return ok(
        isAdmin=principal.is_admin,
        isDomainAdmin=principal.is_domain_admin or principal.is_server_admin,
        isServerAdmin=principal.is_server_admin,
        adminDomains=list(administered),
    )


@post(
    "/auth/logout",
    status_code=200,
    opt={BEFORE_PASSWORD_CHANGE: True, **wire(answers={200: Done})},
)
async def logout(request: AnyRequest, auth: NamedDependency[AuthService]) -> Response[bytes]:
    await auth.end_bearer(bearer(request))
    return ok()


public = Router(path="/", route_handlers=[login, refresh])
router = Router(path="/", route_handlers=[admin_check, logout])
