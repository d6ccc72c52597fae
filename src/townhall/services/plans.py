"""SaaS customers: registration, their subscription, plan changes and invoices.

A customer is a tenant with a subscription: the company, its e-mail domain (the
tenant's primary domain), the services it chose and, per service, the plan it holds
(from the operator's catalogue, domain/plans.py). The plan history keeps one row per
plan held for a while, with the price and limits the plan had when it was chosen, so
invoices are computed from it and a later catalogue change never rewrites the past.

Limits are enforced where people and resources are written (services/limits.py), so
they hold whichever API writes. Storage is metered (the mailboxes' sizes) and shown
against the plan; it is not refused at delivery (a person's mailbox quota does that).

Billing periods are calendar months (UTC). A plan is charged by the day: a month's
share of its price is price * days held in the month / days in the month, rounded half
up to a cent per line; the day of a change belongs to the plan that starts on it. The
current month's invoice is `open`: the plans held now are counted to the month's end.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from townhall.domain import names
from townhall.domain import people as people_rules
from townhall.domain import plans as rules
from townhall.domain.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyAttempts,
)
from townhall.domain.models import Tenant
from townhall.domain.principal import Principal
from townhall.infrastructure.throttle import Limit, Throttle
from townhall.services import limits
from townhall.services.base import Deps, Service
from townhall.services.cluster import ClusterService
from townhall.services.mailboxes import MailboxService
from townhall.services.tenants import TenantService
from townhall.store import mailboxes as mailbox_store
from townhall.store import plans as store
from townhall.store import tenants as tenant_store
from townhall.store.database import UniqueViolation
from townhall.store.plans import Held, SubscriptionRow

DEPLOYMENTS = ("cloud", "self-hosted")
REGIONS = ("EU", "US", "Asia")
ONLY_ADMINS = "Only an administrator may do this"


@dataclass(frozen=True, slots=True)
class NewCustomer:
    company: str
    email_domain: str
    admin_email: str
    services: Sequence[tuple[str, str]]
    """(service, plan) pairs."""
    deployment: str
    region: str | None = None
    admin_password: str | None = None
    """None: one is generated and answered once."""
    admin_name: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    users: int
    resources: int
    storage_bytes: int


@dataclass(frozen=True, slots=True)
class Subscription:
    row: SubscriptionRow
    plans: list[Held]
    """The plans held now, one per service."""
    server: str
    usage: Usage | None = None
    next_billing: datetime | None = None

    @property
    def monthly_cents(self) -> int:
        return sum(held.price_cents for held in self.plans)


@dataclass(frozen=True, slots=True)
class Registered:
    subscription: Subscription
    admin: str
    """The first admin's address."""
    password: str | None
    """The generated password (shown once), None if the customer chose one."""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    service: str
    plan: str
    price_cents: int
    days: int
    amount_cents: int


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str
    period_start: date
    period_end: date
    """The first day after the period."""
    status: str
    lines: list[InvoiceLine] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass(frozen=True, slots=True)
class ServerNode:
    id: str
    name: str
    host: str
    region: str
    location: str
    current: int
    maximum: int
    senior: bool


class PlanService(Service):
    def __init__(
        self,
        deps: Deps,
        tenants: TenantService,
        mailboxes: MailboxService,
        cluster: ClusterService,
        catalogue: rules.Catalogue,
        throttle: Throttle,
        registrations_per_address: int = 20,
        server_name: str = "",
        region: str = "EU",
        location: str = "",
        node_capacity: int = 100,
        password_min_length: int = people_rules.MIN_PASSWORD,
    ) -> None:
        super().__init__(deps)
        self.catalogue = catalogue
        self._tenants = tenants
        self._mailboxes = mailboxes
        self._cluster = cluster
        self._throttle = throttle
        self._per_address = registrations_per_address
        self._server = server_name
        self._region = region
        self._location = location
        self._capacity = max(1, node_capacity)
        self._min_password = password_min_length

    # -- registration and login -----------------------------------------------------------

    async def register(self, new: NewCustomer, address: str = "") -> Registered:
        """A customer in one transaction: its tenant (primary domain = its e-mail
        domain), its first admin (a server admin of that tenant only), its subscription
        and the plans chosen. Public, so registrations from one client address are
        limited per hour (`saas_registrations_per_address`)."""
        company = new.company.strip()
        if not company or len(company) > 200:
            raise Invalid("company_name", "must be 1 to 200 characters")
        try:
            domain = names.domain(new.email_domain, "email_domain")
        except Invalid:
            raise Invalid("email_domain", "is not a valid domain name") from None
        admin = self._admin_of(new.admin_email, domain)
        chosen = self._chosen(new.services)
        if new.deployment not in DEPLOYMENTS:
            raise Invalid("deployment", f"must be one of {', '.join(DEPLOYMENTS)}")
        if new.region is not None and new.region not in REGIONS:
            raise Invalid("region", f"must be one of {', '.join(REGIONS)}")
        password = new.admin_password
        if password is not None:
            try:
                people_rules.password(password, self._min_password)
            except Invalid as exc:
                raise Invalid("admin_password", exc.reason) from None
        try:
            display = people_rules.display_name((new.admin_name or "").strip() or "Administrator")
        except Invalid as exc:
            raise Invalid("admin_name", exc.reason) from None
        await self._count_registration(address)
        generated = secrets.token_urlsafe(12) if password is None else None
        password_hash = await self.deps.passwords.hash(password or generated or "")
        operator = await self._operator()
        now = self.clock.now()
        async with self.unit(operator) as work:
            if await store.by_email_domain(work, domain) is not None:
                raise AlreadyExists("email_domain", domain)
            tenant = await self._tenants.make(
                work, company, domain, admin, password_hash, now, display
            )
            try:
                sub_id = await store.insert_subscription(
                    work,
                    tenant.id,
                    "sub_" + secrets.token_hex(8),
                    company,
                    domain,
                    new.deployment,
                    new.region,
                    now,
                )
            except UniqueViolation:
                raise AlreadyExists("email_domain", domain) from None
            for plan in chosen:
                await store.hold(work, sub_id, plan, now)
            work.record(
                "saas.registered",
                domain,
                {"company": company, "plans": {p.service: p.name for p in chosen}},
            )
            row = await store.of_tenant(work, tenant.id)
            held = await store.current(work, sub_id)
        await self._tenants.set_up_new(tenant)
        assert row is not None
        subscription = Subscription(row, held, self._server_for(tenant))
        return Registered(subscription, f"{admin}@{domain}", generated)

    async def login_server(self, email: str) -> str | None:
        """The routing name of the customer whose subscription holds the address's
        domain (None: no customer has it, so a SaaS login cannot succeed)."""
        domain = email.strip().lower().rpartition("@")[2]
        async with self.db.read() as tx:
            found = await store.by_email_domain(tx, domain) if domain else None
            tenant = await tenant_store.tenant_by_id(tx, found.tenant_id) if found else None
        return tenant.domain if tenant else None

    # -- the customer's subscription ------------------------------------------------------

    async def subscription(self, actor: Principal, with_usage: bool = True) -> Subscription:
        """The caller's tenant's subscription, the plans it holds and (`with_usage`)
        what it uses of them. NotFound for a tenant that is no customer."""
        async with self.db.read() as tx:
            row = await store.of_tenant(tx, actor.tenant_id)
            if row is None:
                raise NotFound("subscription", actor.tenant.domain)
            held = await store.current(tx, row.id)
            usage = None
            if with_usage:
                users = await store.count_people(tx, actor.tenant_id)
                resources = await store.count_resources(tx, actor.tenant_id)
                addresses = await mailbox_store.addresses_of_tenant(tx, actor.tenant_id)
        if with_usage:
            usage = Usage(users, resources, await self._stored_bytes(addresses))
        return Subscription(row, held, self._server_for(actor.tenant), usage, self._next_billing())

    async def change_plan(self, actor: Principal, service: str, plan_name: str) -> Subscription:
        """From now on the tenant holds `plan_name` for `service` (a service not yet
        held is added). A plan whose limits the tenant already exceeds is refused
        (Conflict): it could never be held."""
        if not actor.is_server_admin:
            raise Forbidden("subscription", actor.tenant.domain, ONLY_ADMINS)
        if service not in self.catalogue.plans:
            raise Invalid("service", f"must be one of {', '.join(self.catalogue.plans)}")
        plan = self.catalogue.plan(service, plan_name)
        if plan is None:
            offered = ", ".join(self.catalogue.plans[service])
            raise Invalid("new_plan", f"must be one of the {service} plans: {offered}")
        async with self.unit(actor) as work:
            row = await store.lock_of_tenant(work, actor.tenant_id)
            if row is None:
                raise NotFound("subscription", actor.tenant.domain)
            held = {h.service: h for h in await store.current(work, row.id)}
            if service in held and held[service].plan == plan.name:
                raise Invalid("new_plan", f"is the {service} plan held already")
            for what, counter in limits.COUNTERS.items():
                limit = plan.limit(what)
                used = await counter(work, actor.tenant_id)
                if limit is not None and used > limit:
                    raise Conflict(
                        "subscription",
                        plan.name,
                        f"the {plan.name} plan allows {limit} {what}; {used} are in use",
                    )
            before = held[service].plan if service in held else None
            await store.hold(work, row.id, plan, self.clock.now())
            work.record(
                "saas.plan.changed",
                row.email_domain,
                {"service": service, "plan": plan.name, "from": before},
            )
        return await self.subscription(actor)

    async def invoices(self, actor: Principal) -> list[Invoice]:
        """One invoice per month since the subscription began, newest first."""
        if not actor.is_admin:
            raise Forbidden("subscription", actor.tenant.domain, ONLY_ADMINS)
        async with self.db.read() as tx:
            row = await store.of_tenant(tx, actor.tenant_id)
            if row is None:
                raise NotFound("subscription", actor.tenant.domain)
            history = await store.history(tx, row.id)
        return invoices(row, history, self.clock.now())

    # -- the deployment -----------------------------------------------------------------

    async def servers(self) -> list[ServerNode]:
        """The deployment's nodes (the cluster registry's live members; without
        clustering, this process alone). Every node serves every customer (they share
        one database), so each node's load is the customers spread evenly over the
        nodes, against `saas_node_capacity`."""
        nodes = await self._cluster.nodes()
        async with self.db.read() as tx:
            customers = await store.count_subscriptions(tx)
        found = [(n.node_id, n.host_name, n.senior) for n in nodes] or [
            (self._cluster.node_id, self._cluster.host_name, True)
        ]
        each = math.ceil(customers / len(found))
        return [
            ServerNode(
                node_id,
                f"{self._region} server {i}",
                host,
                self._region,
                self._location,
                each,
                self._capacity,
                senior,
            )
            for i, (node_id, host, senior) in enumerate(found, start=1)
        ]

    # -- helpers --------------------------------------------------------------------------

    def _admin_of(self, address: str, domain: str) -> str:
        """The first admin's username: the address's local part, in the e-mail domain."""
        try:
            checked = people_rules.email(address)
        except Invalid as exc:
            raise Invalid("admin_email", exc.reason) from None
        if checked is None:
            raise Invalid("admin_email", "is required")
        local, _, at = checked.rpartition("@")
        if at != domain:
            raise Invalid("admin_email", f"must be an address in {domain}")
        try:
            return people_rules.username(local)
        except Invalid as exc:
            raise Invalid("admin_email", exc.reason) from None

    def _chosen(self, services: Sequence[tuple[str, str]]) -> list[rules.Plan]:
        if not services:
            raise Invalid("services", "must name at least one service and its plan")
        chosen: dict[str, rules.Plan] = {}
        for service, name in services:
            if service not in self.catalogue.plans:
                raise Invalid("services", f"names {service!r}, which is not offered")
            plan = self.catalogue.plan(service, name)
            if plan is None:
                raise Invalid("services", f"names the {service} plan {name!r}: not offered")
            if service in chosen:
                raise Invalid("services", f"names {service} twice")
            chosen[service] = plan
        return list(chosen.values())

    async def _count_registration(self, address: str) -> None:
        if self._per_address <= 0 or not address:
            return
        limit = Limit(self._throttle.key("saas-register", address), self._per_address)
        attempt = await self._throttle.attempt([limit])
        if attempt.wait is not None:
            raise TooManyAttempts(address, attempt.wait)

    async def _operator(self) -> Principal:
        first = await self._tenants.first()
        if first is None:
            raise NotFound("tenant", "", "no tenant is configured")
        return Principal.system(first, "saas-portal")

    async def _stored_bytes(self, addresses: Sequence[str]) -> int:
        mail = self._mailboxes.mail
        if mail is None:
            return 0
        return sum([await mail.used_bytes(address) for address in addresses])

    def _server_for(self, tenant: Tenant) -> str:
        """The name a customer's clients use: the deployment's public name if the
        operator gave one, else the customer's own domain (which routes to it)."""
        return self._server or tenant.domain

    def _next_billing(self) -> datetime:
        first = rules.next_month(rules.month_of(self.clock.now().date()))
        return datetime.combine(first, time(), UTC)

    async def close(self) -> None:
        await self._throttle.close()


def invoices(row: SubscriptionRow, history: Sequence[Held], now: datetime) -> list[Invoice]:
    """The subscription's monthly invoices (module docstring: the proration rule)."""
    this_month = rules.month_of(now.date())
    month = rules.month_of(row.started_at.date())
    found: list[Invoice] = []
    while month <= this_month:
        after = rules.next_month(month)
        days_in = (after - month).days
        lines = []
        for held in history:
            start = max(held.starts_at.date(), month)
            end = min(held.ends_at.date() if held.ends_at else after, after)
            days = rules.days_between(start, end)
            if days:
                amount = rules.charge(held.price_cents, days, days_in)
                lines.append(InvoiceLine(held.service, held.plan, held.price_cents, days, amount))
        status = "open" if month == this_month else "issued"
        invoice_id = f"inv_{row.public_id.removeprefix('sub_')}_{month:%Y%m}"
        found.append(Invoice(invoice_id, month, after, status, lines))
        month = after
    found.reverse()
    return found
