"""`/auth`: password login for JWTs, refresh, the admin check and logout."""

from __future__ import annotations

from litestar import Response, Router, get, post

from townhall.services.access_tokens import Grant

from .http import AnyRequest, bearer, body, ok, services, session
from .models import LoginRequest


def _granted(grant: Grant) -> Response[bytes]:
    found = grant.session
    return ok(
        token=grant.access_token,
        refreshToken=grant.refresh_token,
        user={
            "email": found.email,
            "realName": found.real_name,
            "isDomainAdmin": found.is_domain_admin,
            "isServerAdmin": found.is_server_admin,
        },
        sessionId=found.sid[:24],
        expiresIn=grant.expires_in,
    )


@post("/auth/login", status_code=200)
async def login(request: AnyRequest) -> Response[bytes]:
    asked = await body(request, LoginRequest)
    grant = await services(request).access_tokens.login(asked.email, asked.password, asked.server)
    return _granted(grant)


@post("/auth/refresh", status_code=200)
async def refresh(request: AnyRequest) -> Response[bytes]:
    return _granted(await services(request).access_tokens.refresh(bearer(request)))


@get("/auth/admin")
async def admin_check(request: AnyRequest) -> Response[bytes]:
    found = session(request)
    domains = found.admin_domains
    if found.is_server_admin:
        domains = tuple(d.name for d in await services(request).domains.list(found.actor))
    return ok(
        isAdmin=found.is_admin,
        isDomainAdmin=found.is_domain_admin or found.is_server_admin,
        isServerAdmin=found.is_server_admin,
        adminDomains=list(domains),
    )


@post("/auth/logout", status_code=200)
async def logout(request: AnyRequest) -> Response[bytes]:
    await services(request).access_tokens.logout(bearer(request))
    return ok()


public = Router(path="/", route_handlers=[login, refresh])
router = Router(path="/", route_handlers=[admin_check, logout])
