"""`/domains`: person domains and resource sub-domains, and their settings (admins).

Who may see, create and configure which domain is the domain service's rule; the
setting names are the domain's, spelt here as RMP spells them (SETTINGS).
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from litestar import Response, Router, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.models import Domain
from townhall.domain.principal import Principal
from townhall.services.domains import DomainService

from .. import kit
from ..documents import wire
from .http import MAX_LIMIT, PAGE_PARAMS, SETTINGS, AnyRequest, admins, body, iso, ok, page
from .models import CreateDomain

_WIRE_TYPE = {"primary": "primary", "alias": "primary", "resource-subdomain": "resource-subdomain"}
_KIND = {"primary": "alias", "resource-subdomain": "resource-subdomain"}
_SETTING_NAMES = {wire: name for name, wire in SETTINGS.items()}


class DomainWire(TypedDict):
    name: str
    type: str
    parent: NotRequired[str]
    users: NotRequired[int]
    resources: int
    created: NotRequired[str]


class Domains(TypedDict):
    success: bool
    domains: list[DomainWire]
    total: int
    page: int
    pages: int


class OneDomain(TypedDict):
    success: bool
    domain: DomainWire


class DomainSettings(TypedDict):
    success: bool
    domain: str
    settings: dict[str, Any]


SETTINGS_BODY: dict[str, Any] = {
    "type": "object",
    "description": (
        "The settings to change, by their RMP names, either as the body itself or under "
        "`settings`: " + ", ".join(SETTINGS.values())
    ),
    "properties": {"settings": {"type": "object"}},
}
"""What `PUT /domains/{domain}/settings` reads: any JSON object (it names the fields)."""


def _render(domain: Domain) -> DomainWire:
    rendered: DomainWire
    if domain.parent:
        rendered = {
            "name": domain.name,
            "type": _WIRE_TYPE[domain.kind],
            "parent": domain.parent,
            "resources": domain.resources,
        }
    else:
        rendered = {
            "name": domain.name,
            "type": _WIRE_TYPE[domain.kind],
            "users": domain.users,
            "resources": domain.resources,
        }
    if domain.created_at:
        rendered["created"] = iso(domain.created_at)
    return rendered


def render_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {SETTINGS.get(name, name): value for name, value in settings.items()}


def _setting_changes(given: dict[str, Any]) -> dict[str, Any]:
    """The changes under the domain's setting names; a name RMP does not know is refused
    here, so only RMP's spellings are accepted."""
    for key in given:
        if key not in _SETTING_NAMES:
            known = ", ".join(SETTINGS.values())
            raise kit.Malformed(key, f"is not a setting; the settings are {known}")
    return {_SETTING_NAMES[key]: value for key, value in given.items()}


@get("/domains", guards=[admins], opt=wire(params=PAGE_PARAMS, answers={200: Domains}))
async def list_domains(
    request: AnyRequest,
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    at = page(request, default_limit=MAX_LIMIT)  # unpaged in the reference: all by default
    visible = await domains.administered(principal)  # a handful per tenant: paged here
    shown = visible[at.offset : at.offset + at.limit]
    return ok(domains=[_render(d) for d in shown], **at.answer(len(visible)))


@post("/domains", status_code=201, opt=wire(CreateDomain, answers={201: OneDomain}))
async def create_domain(
    request: AnyRequest,
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, CreateDomain)
    kind = _KIND.get(asked.type)
    if kind is None:
        raise kit.Malformed("type", f"must be one of {', '.join(_KIND)}")
    created = await domains.create(principal, asked.domain, kind, asked.admin_email)
    return ok(201, domain=_render(created))


@get("/domains/{domain:str}/settings", opt=wire(answers={200: DomainSettings}))
async def domain_settings(
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    settings = await domains.settings(principal, domain)
    return ok(domain=domain.lower(), settings=render_settings(settings))


@put(
    "/domains/{domain:str}/settings",
    opt=wire(SETTINGS_BODY, answers={200: DomainSettings}),
)
async def update_domain_settings(
    request: AnyRequest,
    domain: FromPath[str],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    changes: dict[str, Any] = await body(request, dict)
    changes = changes.get("settings", changes)
    if not isinstance(changes, dict):
        raise kit.Malformed("settings", "must be an object")
    settings = await domains.update_settings(principal, domain, _setting_changes(changes))
    return ok(domain=domain.lower(), settings=render_settings(settings))


router = Router(
    path="/",
    route_handlers=[list_domains, create_domain, domain_settings, update_domain_settings],
)
