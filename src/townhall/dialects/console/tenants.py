"""The operator's view of every tenant: domain, name and routing names. The tenant
service decides who the operator is (a server admin of the first tenant); a tenant's
own admins are refused, as through RMP's operator route. Each tenant's people and
resources are administered by signing in at one of its routing names (the Host
header picks the tenant)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from townhall.domain.principal import Principal
from townhall.services.tenants import TenantService

from . import web


@get("/tenants", name="console:tenants", guards=[web.server_admins_only])
async def tenants_page(
    request: Request[Any, Any, Any],
    tenants: NamedDependency[TenantService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    found = await tenants.list(principal)
    return web.render(request, "tenants.html", {"tenants": found})


ROUTES = [tenants_page]
