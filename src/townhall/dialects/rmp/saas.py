"""`/saas`: customer registration and login, the subscription, plan changes, invoices,
and the deployment's servers (docs/rmp-mapping.md, "SaaS and portal").

Registration and login are public (the portal's way in); the rest take a Bearer token.
Money is shown as the reference shows it (49.99), computed in cents by the service.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from litestar import Response, Router, get, post
from litestar.di import NamedDependency

from townhall.domain import plans as plan_rules
from townhall.domain.principal import Principal
from townhall.services.auth import AuthService
from townhall.services.plans import (
    Invoice,
    NewCustomer,
    PlanService,
    ServerNode,
    Subscription,
)

from .. import kit
from ..documents import wire
from .http import PAGE_PARAMS, AnyRequest, admins, body, iso, ok, page, server_admins
from .models import Body, DomainName, Email


class ServiceChoice(Body):
    service: str
    plan: str


class Register(Body):
    company_name: str
    email_domain: DomainName
    admin_email: Email
    services: list[ServiceChoice]
    deployment: str
    region: str | None = None
    admin_password: str | None = None
    admin_name: str | None = None


class SaasLogin(Body):
    email: Email
    password: str


class Upgrade(Body):
    service: str
    new_plan: str


class ServiceWire(TypedDict):
    plan: str
    price: float
    users: NotRequired[int]
    maxUsers: NotRequired[int]
    resources: NotRequired[int]
    maxResources: NotRequired[int]
    storage: NotRequired[str]
    maxStorage: NotRequired[str]
    storageBytes: NotRequired[int]
    maxStorageBytes: NotRequired[int]


class UsageWire(TypedDict):
    users: int
    resources: int
    storage: str
    storageBytes: int


class BillingWire(TypedDict):
    monthly: float
    nextBilling: str
    paymentMethod: str


class SubscriptionWire(TypedDict):
    id: str
    companyName: str
    emailDomain: str
    server: str
    deployment: str
    region: str | None
    services: dict[str, ServiceWire]
    totalMonthly: float
    status: str
    startedAt: str
    usage: NotRequired[UsageWire]
    billing: NotRequired[BillingWire]


class FirstAdmin(TypedDict):
    email: str
    password: NotRequired[str]


class Registered(TypedDict):
    success: bool
    subscription: SubscriptionWire
    admin: FirstAdmin


class LoginUser(TypedDict):
    email: str
    realName: str
    company: str


class LoginSubscription(TypedDict):
    id: str
    services: list[str]
    status: str
    expiresAt: str


class LoggedIn(TypedDict):
    success: bool
    token: str
    refreshToken: str
    expiresIn: int
    server: str
    user: LoginUser
    subscription: LoginSubscription


class OneSubscription(TypedDict):
    success: bool
    subscription: SubscriptionWire


class Capacity(TypedDict):
    current: int
    maximum: int
    percentage: int


class ServerWire(TypedDict):
    id: str
    name: str
    host: str
    region: str
    location: str
    capacity: Capacity
    status: str
    features: list[str]


class Servers(TypedDict):
    success: bool
    servers: list[ServerWire]
    total: int


class LineWire(TypedDict):
    service: str
    plan: str
    price: float
    days: int
    daysInPeriod: int
    amount: float


class InvoiceWire(TypedDict):
    id: str
    periodStart: str
    periodEnd: str
    status: str
    lines: list[LineWire]
    total: float


class Invoices(TypedDict):
    success: bool
    invoices: list[InvoiceWire]
    total: int
    page: int
    pages: int


def _size(count: int) -> str:
    """Bytes as the reference's sizes ("42GB"), to two decimals of a GiB."""
    return f"{round(count / plan_rules.GB, 2):g}GB"


def _subscription(found: Subscription) -> SubscriptionWire:
    row = found.row
    services: dict[str, ServiceWire] = {}
    usage = found.usage
    for held in found.plans:
        entry: ServiceWire = {"plan": held.plan, "price": plan_rules.cents_text(held.price_cents)}
        if held.max_users is not None:
            entry["maxUsers"] = held.max_users
            if usage:
                entry["users"] = usage.users
        if held.max_resources is not None:
            entry["maxResources"] = held.max_resources
            if usage:
                entry["resources"] = usage.resources
        if held.max_storage_bytes is not None:
            entry["maxStorage"] = _size(held.max_storage_bytes)
            entry["maxStorageBytes"] = held.max_storage_bytes
            if usage:
                entry["storage"] = _size(usage.storage_bytes)
                entry["storageBytes"] = usage.storage_bytes
        services[held.service] = entry
    shown: SubscriptionWire = {
        "id": row.public_id,
        "companyName": row.company,
        "emailDomain": row.email_domain,
        "server": found.server,
        "deployment": row.deployment,
        "region": row.region,
        "services": services,
        "totalMonthly": plan_rules.cents_text(found.monthly_cents),
        "status": row.status,
        "startedAt": iso(row.started_at),
    }
    if usage:
        shown["usage"] = {
            "users": usage.users,
            "resources": usage.resources,
            "storage": _size(usage.storage_bytes),
            "storageBytes": usage.storage_bytes,
        }
    if found.next_billing:
        shown["billing"] = {
            "monthly": plan_rules.cents_text(found.monthly_cents),
            "nextBilling": iso(found.next_billing),
            "paymentMethod": "invoice",
        }
    return shown


def _server(node: ServerNode, count: int) -> ServerWire:
    percentage = round(100 * node.current / node.maximum)
    return {
        "id": node.id,
        "name": node.name,
        "host": node.host,
        "region": node.region,
        "location": node.location,
        "capacity": {"current": node.current, "maximum": node.maximum, "percentage": percentage},
        "status": "available" if node.current < node.maximum else "full",
        "features": ["high-availability"] if count > 1 else [],
    }


def _invoice(found: Invoice) -> InvoiceWire:
    days_in = (found.period_end - found.period_start).days
    return {
        "id": found.id,
        "periodStart": found.period_start.isoformat(),
        "periodEnd": found.period_end.isoformat(),
        "status": found.status,
        "lines": [
            {
                "service": line.service,
                "plan": line.plan,
                "price": plan_rules.cents_text(line.price_cents),
                "days": line.days,
                "daysInPeriod": days_in,
                "amount": plan_rules.cents_text(line.amount_cents),
            }
            for line in found.lines
        ],
        "total": plan_rules.cents_text(found.total_cents),
    }


@post("/saas/register", status_code=201, opt=wire(Register, answers={201: Registered}, public=True))
async def register(request: AnyRequest, plans: NamedDependency[PlanService]) -> Response[bytes]:
    asked = await body(request, Register)
    made = await plans.register(
        NewCustomer(
            company=asked.company_name,
            email_domain=asked.email_domain,
            admin_email=asked.admin_email,
            services=[(s.service, s.plan) for s in asked.services],
            deployment=asked.deployment,
            region=asked.region,
            admin_password=asked.admin_password,
            admin_name=asked.admin_name,
        ),
        kit.caller_address(request),
    )
    admin: FirstAdmin = {"email": made.admin}
    if made.password is not None:
        admin["password"] = made.password
    return ok(201, subscription=_subscription(made.subscription), admin=admin)


@post("/saas/login", status_code=200, opt=wire(SaasLogin, answers={200: LoggedIn}, public=True))
async def saas_login(
    request: AnyRequest, plans: NamedDependency[PlanService], auth: NamedDependency[AuthService]
) -> Response[bytes]:
    asked = await body(request, SaasLogin)
    server = await plans.login_server(asked.email)
    # No customer holds the domain: `.invalid` routes nowhere, so the login is refused
    # (and counted) exactly as a wrong password is.
    grant = await auth.token_login(
        asked.email, asked.password, server or "saas.invalid", kit.caller_address(request)
    )
    found = await plans.subscription(grant.principal, with_usage=False)
    answer: dict[str, Any] = {
        "token": grant.access_token,
        "refreshToken": grant.refresh_token,
        "expiresIn": grant.expires_in,
        "server": found.server,
        "user": {
            "email": grant.principal.address,
            "realName": grant.name,
            "company": found.row.company,
        },
        "subscription": {
            "id": found.row.public_id,
            "services": [held.service for held in found.plans],
            "status": found.row.status,
            "expiresAt": iso(found.next_billing) if found.next_billing else None,
        },
    }
    return ok(**answer)


@get("/saas/subscription", opt=wire(answers={200: OneSubscription}), guards=[admins])
async def subscription(
    plans: NamedDependency[PlanService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    return ok(subscription=_subscription(await plans.subscription(principal)))


@post(
    "/saas/subscription/upgrade",
    status_code=200,
    opt=wire(Upgrade, answers={200: OneSubscription}),
    guards=[server_admins],
)
async def upgrade(
    request: AnyRequest, plans: NamedDependency[PlanService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    asked = await body(request, Upgrade)
    changed = await plans.change_plan(principal, asked.service, asked.new_plan)
    return ok(subscription=_subscription(changed))


@get("/saas/servers", opt=wire(answers={200: Servers}))
async def servers(plans: NamedDependency[PlanService]) -> Response[bytes]:
    found = await plans.servers()
    return ok(servers=[_server(n, len(found)) for n in found], total=len(found))


@get("/saas/invoices", opt=wire(params=PAGE_PARAMS, answers={200: Invoices}), guards=[admins])
async def invoices(
    request: AnyRequest, plans: NamedDependency[PlanService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    asked = page(request)
    found = await plans.invoices(principal)
    shown = found[asked.offset : asked.offset + asked.limit]
    return ok(invoices=[_invoice(i) for i in shown], **asked.answer(len(found)))


public = Router(path="/", route_handlers=[register, saas_login])
router = Router(path="/", route_handlers=[subscription, upgrade, servers, invoices])
