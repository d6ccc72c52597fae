"""The legacy `/userservice` query API (contract §6), kept for old provisioning scripts.

Everything arrives as query (or form) parameters, authentication is the `secret`
parameter whatever `plugin.restapi.httpAuth` says, and every answer is a 200 `text/xml`
line: `<result>ok</result>`, a group list, or `<error>Name</error>`. It is served at
`/plugins/restapi/v1/userservice`, where the plugin has it, and at the README's
`/plugins/restapi/userservice`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from xml.sax.saxutils import escape

from litestar import Request, Response, Router, route
from litestar.di import NamedDependency
from litestar.enums import HttpMethod

from townhall.domain import names
from townhall.domain.errors import AlreadyExists, DomainError, Invalid, NotFound, Unauthenticated
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson, PersonChanges

from .. import kit
from ..documents import Param, wire
from .http import api_enabled, bare, client_allowed

AnyRequest = Request[Any, Any, Any]
Params = Mapping[str, str]
Operation = Callable[[Services, Principal, Params], Awaitable[str]]
OK = "<result>ok</result>"


class UserServiceError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reply(body: str, status: int = 200) -> Response[bytes]:
    return Response((body + "\n").encode(), status_code=status, media_type="text/xml")


def _username(params: Params) -> str:
    raw = params.get("username")
    if not raw or not raw.strip():
        raise UserServiceError("IllegalArgumentException")
    return names.escape_node(raw.strip().lower())


def _groups(params: Params) -> list[str]:
    return [g.strip() for g in (params.get("groups") or "").split(",") if g.strip()]


def _subscription(params: Params) -> int:
    raw = params.get("subscription")
    if raw is None or raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise UserServiceError("IllegalArgumentException") from None
    if not -1 <= value <= 3:
        raise UserServiceError("IllegalArgumentException")
    return value


def _item_jid(params: Params) -> str:
    jid = params.get("item_jid")
    if not jid:
        raise UserServiceError("IllegalArgumentException")
    return jid


async def _add(svc: Services, actor: Principal, params: Params) -> str:
    username = _username(params)
    password = params.get("password")
    if not password:
        raise UserServiceError("IllegalArgumentException")
    new = NewPerson(
        username,
        password,
        name=params.get("name") or "",
        email=params.get("email"),
        groups=_groups(params),
    )
    await svc.people.create(actor, new)
    return OK


async def _delete(svc: Services, actor: Principal, params: Params) -> str:
    await svc.people.delete(actor, _username(params))
    return OK


async def _update(svc: Services, actor: Principal, params: Params) -> str:
    changes = PersonChanges(
        password=params.get("password") or None,
        name=params.get("name"),
        email=params.get("email"),
        groups=_groups(params) if "groups" in params else None,
    )
    await svc.people.update(actor, _username(params), changes)
    return OK


async def _enable(svc: Services, actor: Principal, params: Params) -> str:
    await svc.people.set_locked(actor, _username(params), False)
    return OK


async def _disable(svc: Services, actor: Principal, params: Params) -> str:
    await svc.people.set_locked(actor, _username(params), True)
    return OK


async def _add_roster(svc: Services, actor: Principal, params: Params) -> str:
    username, jid, subscription = _username(params), _item_jid(params), _subscription(params)
    await svc.contacts.add(actor, username, jid, params.get("name"), subscription, _groups(params))
    return OK


async def _update_roster(svc: Services, actor: Principal, params: Params) -> str:
    username, jid, subscription = _username(params), _item_jid(params), _subscription(params)
    groups = _groups(params) if "groups" in params else None
    await svc.contacts.update(actor, username, jid, params.get("name"), subscription, groups)
    return OK


async def _delete_roster(svc: Services, actor: Principal, params: Params) -> str:
    username, jid = _username(params), _item_jid(params)
    try:
        await svc.contacts.remove(actor, username, jid)
    except NotFound as exc:
        if exc.kind != "contact":  # a missing item still answers ok, as the plugin
            raise
    return OK


def _group_list(group_names: list[str]) -> str:
    return (
        "<result>"
        + "".join(f"<groupname>{escape(g)}</groupname>" for g in group_names)
        + ("</result>")
    )


async def _grouplist(svc: Services, actor: Principal, params: Params) -> str:
    return _group_list(await svc.groups.list_names(actor))


async def _usergrouplist(svc: Services, actor: Principal, params: Params) -> str:
    return _group_list(await svc.groups.user_groups(actor, _username(params)))


OPERATIONS: dict[str, Operation] = {
    "add": _add,
    "delete": _delete,
    "update": _update,
    "enable": _enable,
    "disable": _disable,
    "add_roster": _add_roster,
    "update_roster": _update_roster,
    "delete_roster": _delete_roster,
    "grouplist": _grouplist,
    "usergrouplist": _usergrouplist,
}


def _error_name(exc: DomainError) -> str:
    if isinstance(exc, NotFound) and exc.kind in ("user", "contact"):
        return "UserNotFoundException"
    if isinstance(exc, AlreadyExists) and exc.kind in ("user", "contact"):
        return "UserAlreadyExistsException"
    if isinstance(exc, NotFound) and exc.kind == "group":
        return "GroupNotFoundException"
    if isinstance(exc, Invalid):
        return "IllegalArgumentException"
    return f"{type(exc).__name__}: {exc}"


async def _parameters(request: AnyRequest) -> dict[str, str]:
    params = {k: v for k, v in request.query_params.items()}
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


PARAMS = (
    Param("secret", description="the shared secret (`plugin.restapi.secret`)"),
    Param("type", {"enum": list(OPERATIONS)}),
    Param("username"),
    Param("password"),
    Param("name"),
    Param("email"),
    Param("groups", description="comma-separated group names"),
    Param("item_jid", description="the roster item"),
    Param("subscription", int, description="-1 to 3"),
)
RESULT = {"type": "string", "description": "`<result>ok</result>`, groups or `<error>..</error>`"}


@route(
    ["/userservice", "/userservice/"],
    http_method=[HttpMethod.GET, HttpMethod.POST],
    # POST also reads the parameters from a form body; an unknown `type` is a bare 200
    # (GET) or 204 (POST).
    opt=wire(params=PARAMS, answers={200: RESULT, 204: None}, public=True, media=("text/xml",)),
)
async def userservice(request: AnyRequest, services: NamedDependency[Services]) -> Response[bytes]:
    svc = services
    tenant = await svc.tenants.for_host(request.headers.get("host"))
    settings = await svc.properties.raw(tenant.id, "plugin.restapi.")
    if not api_enabled(settings):
        return bare(403)
    params = await _parameters(request)
    trusted = kit.trusted_proxies(request.app)
    if not client_allowed(request.headers, request.scope.get("client"), settings, trusted):
        return _reply("<error>RequestNotAuthorised</error>")
    try:
        secret = settings.get("plugin.restapi.secret")
        caller = await svc.auth.shared_secret(
            tenant, params.get("secret", ""), secret, "userservice", kit.caller_address(request)
        )
    except Unauthenticated:
        return _reply("<error>RequestNotAuthorised</error>")
    operation = OPERATIONS.get(params.get("type", ""))
    if operation is None:
        return bare(204 if request.method == "POST" else 200)
    try:
        return _reply(await operation(svc, caller, params))
    except UserServiceError as exc:
        return _reply(f"<error>{exc.name}</error>")
    except DomainError as exc:
        return _reply(f"<error>{escape(_error_name(exc))}</error>")


router = Router(path="/", route_handlers=[userservice])
"""Mounted under the plugin's `/v1`; `readme_router` serves the README's address."""

readme_router = Router(path="/plugins/restapi", route_handlers=[userservice])
