"""Feature entitlements, delegates and application entitlements (contract §1.1, §1.12)."""

from __future__ import annotations

import msgspec
from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.models import AppEntitlement
from townhall.domain.principal import Principal
from townhall.services.entitlements import EntitlementService

from ..documents import wire
from . import models as m
from .http import (
    AnyRequest,
    SymphonyError,
    body,
    ok,
    refuse_deep,
    refuse_unstorable,
    user_admins,
)

DELEGATE_ACTIONS = {"ADD": True, "REMOVE": False}


async def _list_body(request: AnyRequest, kind: type[msgspec.Struct]) -> list[object]:
    raw = await request.body()
    refuse_deep(raw)
    try:
        decoded = msgspec.json.decode(raw, type=list[kind])  # type: ignore[valid-type]
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SymphonyError(400, f"Invalid request body: {exc}") from None
    refuse_unstorable(raw, decoded)
    return decoded  # type: ignore[no-any-return]


@get(
    "/v1/admin/user/{uid:int}/features",
    guards=[user_admins],
    opt=wire(answers={200: list[m.Feature]}),
)
async def get_features(
    uid: FromPath[int],
    entitlements: NamedDependency[EntitlementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    found = await entitlements.features(principal, uid)
    return ok([m.Feature(entitlment=name, enabled=on) for name, on in found.items()])


@post(
    "/v1/admin/user/{uid:int}/features/update",
    status_code=200,
    guards=[user_admins],
    opt=wire(list[m.Feature], answers={200: m.SuccessResponse}),
)
async def set_features(
    request: AnyRequest,
    uid: FromPath[int],
    entitlements: NamedDependency[EntitlementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    wanted: dict[str, bool] = {}
    for feature in await _list_body(request, m.Feature):
        assert isinstance(feature, m.Feature)
        if not feature.entitlment or feature.enabled is None:
            raise SymphonyError(400, "entitlment and enabled are required for every feature")
        wanted[feature.entitlment] = feature.enabled
    await entitlements.set_features(principal, uid, wanted)
    return ok(m.SuccessResponse())


@get(
    "/v1/admin/user/{uid:int}/delegates",
    guards=[user_admins],
    opt=wire(answers={200: list[int]}),
)
async def get_delegates(
    uid: FromPath[int],
    entitlements: NamedDependency[EntitlementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(await entitlements.delegates(principal, uid))


@post(
    "/v1/admin/user/{uid:int}/delegates/update",
    status_code=200,
    guards=[user_admins],
    opt=wire(m.DelegateAction, answers={200: m.SuccessResponse}),
)
async def update_delegates(
    request: AnyRequest,
    uid: FromPath[int],
    entitlements: NamedDependency[EntitlementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    wanted = await body(request, m.DelegateAction)
    if wanted.action not in DELEGATE_ACTIONS:
        raise SymphonyError(400, "action: must be ADD or REMOVE")
    await entitlements.set_delegate(principal, uid, wanted.user_id, DELEGATE_ACTIONS[wanted.action])
    return ok(m.SuccessResponse())


def _pod_app(app: AppEntitlement) -> m.PodAppEntitlement:
    return m.PodAppEntitlement(
        app_id=app.app_id,
        app_name=app.app_name or app.app_id,
        enable=app.enabled,
        listed=app.listed,
        install=app.install,
    )


def _user_app(app: AppEntitlement) -> m.UserAppEntitlement:
    return m.UserAppEntitlement(
        app_id=app.app_id,
        app_name=app.app_name,
        listed=app.listed,
        install=app.install,
        products=[msgspec.convert(p, m.Product) for p in app.products],
    )


@get(
    "/v1/admin/app/entitlement/list",
    guards=[user_admins],
    opt=wire(answers={200: list[m.PodAppEntitlement]}),
)
async def tenant_apps(
    entitlements: NamedDependency[EntitlementService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    return ok([_pod_app(a) for a in await entitlements.tenant_apps(principal)])


@post(
    "/v1/admin/app/entitlement/list",
    status_code=200,
    guards=[user_admins],
    opt=wire(list[m.PodAppEntitlement], answers={200: list[m.PodAppEntitlement]}),
)
async def set_tenant_apps(
    request: AnyRequest,
    entitlements: NamedDependency[EntitlementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    apps = [
        AppEntitlement(a.app_id, a.app_name, a.listed, a.install, a.enable)
        for a in await _list_body(request, m.PodAppEntitlement)
        if isinstance(a, m.PodAppEntitlement)
    ]
    saved = await entitlements.set_tenant_apps(principal, apps)
    return ok([_pod_app(a) for a in saved])


@get(
    "/v1/admin/user/{uid:int}/app/entitlement/list",
    guards=[user_admins],
    opt=wire(answers={200: list[m.UserAppEntitlement]}),
)
async def user_apps(
    uid: FromPath[int],
    entitlements: NamedDependency[EntitlementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok([_user_app(a) for a in await entitlements.user_apps(principal, uid)])


@post(
    "/v1/admin/user/{uid:int}/app/entitlement/list",
    status_code=200,
    guards=[user_admins],
    opt=wire(list[m.UserAppEntitlement], answers={200: list[m.UserAppEntitlement]}),
)
async def set_user_apps(
    request: AnyRequest,
    uid: FromPath[int],
    entitlements: NamedDependency[EntitlementService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    apps = [
        AppEntitlement(
            a.app_id,
            a.app_name,
            a.listed,
            a.install,
            products=tuple(msgspec.to_builtins(p) for p in a.products or ()),
        )
        for a in await _list_body(request, m.UserAppEntitlement)
        if isinstance(a, m.UserAppEntitlement)
    ]
    saved = await entitlements.set_user_apps(principal, uid, apps)
    return ok([_user_app(a) for a in saved])


router = Router(
    path="/",
    route_handlers=[
        get_features,
        set_features,
        get_delegates,
        update_delegates,
        tenant_apps,
        set_tenant_apps,
        user_apps,
        set_user_apps,
    ],
)
