"""Mail domains (contracts/oxaas.md, Routes): a context's explicit domains, those of every
context a reseller reaches, a brand's shared mail domains, and the users with addresses
in a domain.

An explicit domain of a context is one of the tenant's further person domains (kind
`alias`: its people answer and receive mail under it; it routes no requests). A shared
mail domain is the brand's: every context of the brand and of the brands below it hosts
mail in it. Both are rows of the one domains table, so a name is one domain whatever its
kind (docs/ox-mapping.md).
"""

from __future__ import annotations

from typing import Any, TypedDict

from litestar import Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain import names
from townhall.domain.principal import Principal
from townhall.services.domains import DomainService
from townhall.services.mailboxes import MailboxService
from townhall.services.people import PeopleService

from ..documents import wire
from .http import OxError, context_admin_only, ok, reseller_admin
from .users import UserData, user_data

CONTEXT = "/admin/contexts/{contextid:str}/domains"
BRAND = "/admin/domains"
SHARED = "/admin/sharedmaildomains"


class OneDomain(TypedDict):
    domain: str


class Domains(TypedDict):
    domains: list[str]


class Users(TypedDict):
    users: list[UserData]


# -- a context's explicit domains (contextAdminOnlyAuth) --------------------------------


@get(CONTEXT, opt=wire(answers={200: Domains}))
async def context_domains(
    domains: NamedDependency[DomainService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    """The context's explicit domains."""
    return ok({"domains": await domains.further(principal)})


@get(CONTEXT + "/{domain:str}", opt=wire(answers={200: OneDomain}))
async def context_domain(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """200 if the domain is an explicit domain of the context, else 404."""
    return ok({"domain": _listed(domain, await domains.further(principal))})


@put(CONTEXT + "/{domain:str}", opt=wire(answers={200: OneDomain}))
async def add_context_domain(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Make the domain an explicit domain of the context (again: no change)."""
    return ok({"domain": await domains.add_further(principal, domain)})


@delete(CONTEXT + "/{domain:str}", status_code=200, opt=wire(answers={200: OneDomain}))
async def remove_context_domain(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await domains.remove_further(principal, domain)
    return ok({"domain": domain.strip().lower()})


# -- the reseller's view (resellerAdminAuth) --------------------------------------------


@get(BRAND, opt=wire(answers={200: Domains}))
async def brand_domains(
    domains: NamedDependency[DomainService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    """The explicit domains of every context the reseller reaches."""
    return ok({"domains": await domains.further_in_brands(principal)})


@get(BRAND + "/{domain:str}", opt=wire(answers={200: OneDomain}))
async def brand_domain(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """200 if one of the reseller's contexts has the explicit domain, else 404."""
    return ok({"domain": _listed(domain, await domains.further_in_brands(principal))})


@get(BRAND + "/{domain:str}/users", opt=wire(answers={200: Users}))
async def domain_users(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    people: NamedDependency[PeopleService],
    mailboxes: NamedDependency[MailboxService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """The users of the reseller's contexts with an address in the domain: their
    e-mail address, or an alias (forward) there that delivers to it."""
    name = await domains.mail_domain_in_brands(principal, domain)
    found = await people.addressed_in(principal, name)
    settings = await mailboxes.settings_across(principal, found)
    return ok({"users": [user_data(p, settings[p.id]) for p in found]})


@get(SHARED, opt=wire(answers={200: Domains}))
async def shared_domains(
    domains: NamedDependency[DomainService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    """The shared mail domains of the reseller's brands."""
    return ok({"domains": await domains.shared(principal)})


@get(SHARED + "/{domain:str}", opt=wire(answers={200: {"type": "object"}}))
async def shared_domain(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """200 if the shared domain is one of the reseller's brands', else 404; `*` lists
    them all (as `GET /admin/sharedmaildomains`)."""
    listed = await domains.shared(principal)
    if domain == "*":
        return ok({"domains": listed})
    return ok({"domain": _listed(domain, listed)})


@post(SHARED + "/{domain:str}", status_code=201, opt=wire(answers={201: OneDomain}))
async def create_shared_domain(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """A new shared mail domain of the reseller's brand (one that exists: 409)."""
    return ok({"domain": await domains.add_shared(principal, domain)}, 201)


@put(SHARED + "/{domain:str}", opt=wire(answers={200: OneDomain}))
async def put_shared_domain(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """The same, and no change if it is the brand's already."""
    return ok({"domain": await domains.add_shared(principal, domain, exist_ok=True)})


@delete(SHARED + "/{domain:str}", status_code=200, opt=wire(answers={200: OneDomain}))
async def remove_shared_domain(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await domains.remove_shared(principal, domain)
    return ok({"domain": domain.strip().lower()})


def _listed(domain: str, listed: list[str]) -> str:
    """The domain, if listed (404 if not; a name that is no domain: 400)."""
    name = names.domain(domain, "domain")
    if name not in listed:
        raise OxError(404, f"domain {name} not found")
    return name


def context_router() -> Router:
    handlers: list[Any] = [
        context_domains,
        context_domain,
        add_context_domain,
        remove_context_domain,
    ]
    return Router(path="/", route_handlers=handlers, guards=[context_admin_only])


def reseller_router() -> Router:
    handlers: list[Any] = [
        brand_domains,
        brand_domain,
        domain_users,
        shared_domains,
        shared_domain,
        create_shared_domain,
        put_shared_domain,
        remove_shared_domain,
    ]
    return Router(path="/", route_handlers=handlers, guards=[reseller_admin])
