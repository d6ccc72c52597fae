"""Symphony feature entitlements, delegates and application entitlements."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import RunningServer, unique
from tests.helpers.symphony import Bot, make_bot, session_token
from townhall.domain.errors import Invalid, NotFound
from townhall.domain.events import DomainEvent
from townhall.domain.models import AppEntitlement
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.store import audit


async def test_features_and_delegates_with_the_bdk(bdk: Any, services: Services) -> None:
    from symphony.bdk.core.service.user.model.delegate_action_enum import DelegateActionEnum
    from symphony.bdk.gen.pod_model.feature import Feature

    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    helper = await make_bot(services, frozenset({"INDIVIDUAL"}))
    assert await bdk.users().get_feature_entitlements(user.uid) == []
    await bdk.users().update_feature_entitlements(
        user.uid,
        [
            Feature(entitlment="canCreatePublicRoom", enabled=True),
            Feature(entitlment="isExternalIMEnabled", enabled=False),
        ],
    )
    features = {
        f.entitlment: f.enabled for f in await bdk.users().get_feature_entitlements(user.uid)
    }
    assert features == {"canCreatePublicRoom": True, "isExternalIMEnabled": False}
    await bdk.users().update_delegates(user.uid, helper.uid, DelegateActionEnum.ADD)
    assert await bdk.users().get_delegates(user.uid) == [helper.uid]
    await bdk.users().update_delegates(user.uid, helper.uid, DelegateActionEnum.REMOVE)
    assert await bdk.users().get_delegates(user.uid) == []


async def test_application_entitlements_with_the_bdk(bdk: Any, services: Services) -> None:
    from symphony.bdk.gen.pod_model.pod_app_entitlement import PodAppEntitlement
    from symphony.bdk.gen.pod_model.product import Product
    from symphony.bdk.gen.pod_model.user_app_entitlement import UserAppEntitlement

    app_id = unique("app")
    saved = await bdk.applications().update_application_entitlements(
        [
            PodAppEntitlement(
                app_id=app_id, app_name="Dashboard", enable=True, listed=True, install=False
            )
        ]
    )
    assert app_id in [a.app_id for a in saved]
    listed = {a.app_id: a for a in await bdk.applications().list_application_entitlements()}
    assert listed[app_id].app_name == "Dashboard"
    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    mine = await bdk.applications().update_user_applications(
        user.uid,
        [
            UserAppEntitlement(
                app_id=app_id,
                listed=True,
                install=True,
                products=[Product(name="Premium", type="premium", subscribed=True, sku="P1")],
            )
        ],
    )
    assert [(a.app_id, a.products[0].name) for a in mine] == [(app_id, "Premium")]
    again = await bdk.applications().list_user_applications(user.uid)
    assert again[0].products[0].sku == "P1"


async def test_bad_input(server: RunningServer, admin_bot: Bot, services: Services) -> None:
    headers = {"sessionToken": session_token(server, admin_bot)}
    base = f"{server.url}/pod/v1/admin"
    r = requests.post(f"{base}/app/entitlement/list", json=[{"appId": "x"}], headers=headers)
    assert r.status_code == 400 and "appName" in r.json()["message"]
    app = {"appId": "dup", "appName": "D", "enable": True, "listed": True, "install": True}
    r = requests.post(f"{base}/app/entitlement/list", json=[app, app], headers=headers)
    assert r.status_code == 400
    r = requests.post(
        f"{base}/user/{admin_bot.uid}/delegates/update",
        json={"userId": admin_bot.uid, "action": "MAYBE"},
        headers=headers,
    )
    assert r.status_code == 400
    r = requests.get(f"{base}/user/987654321/features", headers=headers)
    assert r.status_code == 400  # the operation declares no 404
    plain = await make_bot(services, frozenset({"INDIVIDUAL"}))
    weak = {"sessionToken": session_token(server, plain)}
    assert requests.get(f"{base}/app/entitlement/list", headers=weak).status_code == 403


async def test_asking_for_what_is_so_records_nothing(services: Services) -> None:
    actor = Principal.system(await services.tenants.first(), "tester")
    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    helper = await make_bot(services, frozenset({"INDIVIDUAL"}))
    app = AppEntitlement(unique("app"), "Same", listed=True, install=False)
    await services.entitlements.set_features(actor, user.uid, {"canCreatePublicRoom": True})
    await services.entitlements.set_delegate(actor, user.uid, helper.uid, True)
    await services.entitlements.set_tenant_apps(actor, [app])
    await services.entitlements.set_user_apps(actor, user.uid, [app])
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    before = await _audit_count(services, actor)
    await services.entitlements.set_features(actor, user.uid, {"canCreatePublicRoom": True})
    await services.entitlements.set_delegate(actor, user.uid, helper.uid, True)
    await services.entitlements.set_delegate(actor, helper.uid, user.uid, False)
    assert app in await services.entitlements.set_tenant_apps(actor, [app])
    assert await services.entitlements.set_user_apps(actor, user.uid, [app]) == [app]
    assert heard == [] and await _audit_count(services, actor) == before
    await services.entitlements.set_features(
        actor, user.uid, {"canCreatePublicRoom": True, "mustBeRecorded": False}
    )
    await services.entitlements.set_delegate(actor, user.uid, helper.uid, False)
    assert [e.topic for e in heard] == ["user.features.set", "user.delegate.removed"]
    assert await services.entitlements.features(actor, user.uid) == {
        "canCreatePublicRoom": True,
        "mustBeRecorded": False,
    }
    with pytest.raises(Invalid) as caught:
        await services.entitlements.set_delegate(actor, user.uid, user.uid, True)
    assert caught.value.field == "delegate_id"
    with pytest.raises(NotFound):
        await services.entitlements.set_delegate(actor, user.uid, 987654321, True)


async def _audit_count(services: Services, actor: Principal) -> int:
    async with services.deps.db.read() as tx:
        return await audit.count(tx, actor.tenant_id)
