"""`/admin/tenants`: the operator's tenants, through an authenticated route.

Not part of RMP's reference: Townhall's own operator route, in RMP's envelope because
RMP's JWT login is the way in an operator's tooling already speaks. Only the operator
(a server admin of the first tenant) may call it: the route guard asks for a server
admin, the tenant service for the operator, so a tenant's own admin is refused (403).
"""

from __future__ import annotations

from typing import TypedDict

from litestar import Response, Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.principal import Principal
from townhall.services.tenants import DEFAULT_ADMIN, NewTenant, TenantInfo, TenantService

from ..documents import wire
from .http import AnyRequest, body, ok, server_admins
from .models import Body, DomainName


class CreateTenant(Body):
    domain: DomainName
    name: str | None = None
    admin_username: str = DEFAULT_ADMIN


class AddRoute(Body):
    name: DomainName


class TenantWire(TypedDict):
    domain: str
    name: str
    routes: list[str]
    default: bool


class Tenants(TypedDict):
    success: bool
    tenants: list[TenantWire]
    total: int


class FirstAdmin(TypedDict):
    email: str
    password: str


class CreatedTenantWire(TypedDict):
    success: bool
    tenant: TenantWire
    admin: FirstAdmin


class DeletedTenant(TypedDict):
    success: bool
    deleted: str


class AddedRoute(TypedDict):
    success: bool
    domain: str
    route: str


def _render(info: TenantInfo) -> TenantWire:
    return {
        "domain": info.tenant.domain,
        "name": info.tenant.name,
        "routes": info.routes,
        "default": info.default,
    }


@get("/admin/tenants", opt=wire(answers={200: Tenants}))
async def list_tenants(
    tenants: NamedDependency[TenantService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    found = await tenants.list(principal)
    return ok(tenants=[_render(t) for t in found], total=len(found))


@post(
    "/admin/tenants",
    status_code=201,
    opt=wire(CreateTenant, answers={201: CreatedTenantWire}),
)
async def create_tenant(
    request: AnyRequest,
    tenants: NamedDependency[TenantService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, CreateTenant)
    made = await tenants.create(
        principal, NewTenant(asked.domain, asked.name, asked.admin_username)
    )
    tenant = TenantInfo(made.tenant, [made.tenant.domain])
    admin: FirstAdmin = {
        "email": f"{made.admin}@{made.tenant.domain}",
        "password": made.password,
    }
    return ok(201, tenant=_render(tenant), admin=admin)


@delete(
    "/admin/tenants/{domain:str}",
    status_code=200,
    opt=wire(answers={200: DeletedTenant}),
)
async def delete_tenant(
    domain: FromPath[str],
    tenants: NamedDependency[TenantService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await tenants.delete(principal, domain)
    return ok(deleted=domain.lower())


@post(
    "/admin/tenants/{domain:str}/routes",
    status_code=201,
    opt=wire(AddRoute, answers={201: AddedRoute}),
)
async def add_route(
    request: AnyRequest,
    domain: FromPath[str],
    tenants: NamedDependency[TenantService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, AddRoute)
    tenant = await tenants.add_route(principal, domain, asked.name)
    return ok(201, domain=tenant.domain, route=asked.name.strip().lower())


router = Router(
    path="/",
    route_handlers=[list_tenants, create_tenant, delete_tenant, add_route],
    guards=[server_admins],
)
