"""Symphony disclaimers, information barriers, message suppression and the feature
catalogue: `/pod/v1/admin/disclaimer/*`, `/pod/v1/admin/user/{uid}/disclaimer*`,
`/pod/v1/admin/group/*`, `/pod/v1/admin/policy/list`,
`/pod/v1/admin/messagesuppression/{id}/suppress`, `/pod/v1/admin/system/features/list`.

Symphony has no API that creates disclaimers, groups, policies or messages, so tests
make them with the in-process services (on the server's own database) or the CLI.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.helpers.cli import townhall
from tests.helpers.symphony import Bot, make_bot, session_token
from townhall.domain.errors import AlreadyExists, Invalid, NotFound
from townhall.domain.events import DomainEvent
from townhall.domain.principal import Principal
from townhall.services.barriers import BulkOutcome
from townhall.services.container import Services

NOBODY = 987654321


@pytest.fixture
def headers(server: RunningServer, admin_bot: Bot) -> dict[str, str]:
    return {"sessionToken": session_token(server, admin_bot)}


def _pod(server: RunningServer) -> str:
    return f"{server.url}/pod/v1/admin"


async def _actor(services: Services) -> Principal:
    return Principal(await services.tenants.first(), "test")


def refused(r: requests.Response, status: int, *words: str) -> None:
    """An error answer of this status whose message names each of `words`."""
    assert r.status_code == status, r.text
    assert r.json()["code"] == status
    for word in words:
        assert word in r.json()["message"], r.text


# -- disclaimers --------------------------------------------------------------------------


async def test_disclaimers_with_the_bdk(bdk: Any, services: Services) -> None:
    from symphony.bdk.gen.pod_api.disclaimer_api import DisclaimerApi

    actor = await _actor(services)
    first = await services.disclaimers.create(
        actor, unique("Enterprise "), "Be nice.", frequency_hours=24
    )
    second = await services.disclaimers.create(
        actor, unique("Markup "), "<messageML>Be <b>very</b> nice.</messageML>", "XML"
    )
    api = DisclaimerApi(bdk._pod_client)
    token = await bdk.bot_session().session_token
    listed = {d.id: d for d in await api.v1_admin_disclaimer_list_get(session_token=token)}
    assert listed[first.id].name == first.name
    assert listed[first.id].frequency_in_hours == 24
    assert listed[first.id].is_active is True and listed[first.id].is_default is False
    assert listed[first.id].created_date == int(first.created_at.timestamp() * 1000)
    assert listed[second.id].format == "XML"
    ids = list(listed)
    assert ids.index(first.id) < ids.index(second.id)  # creation order
    one = await api.v1_admin_disclaimer_did_get(did=second.id, session_token=token)
    assert (one.content, one.format) == (second.content, "XML")

    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    assert await bdk.users().get_disclaimer(user.uid) is None  # 204: none assigned
    await bdk.users().add_disclaimer(user.uid, first.id)
    mine = await bdk.users().get_disclaimer(user.uid)
    assert (mine.id, mine.content) == (first.id, "Be nice.")
    assert await api.v1_admin_disclaimer_did_users_get(did=first.id, session_token=token) == [
        user.uid
    ]
    await bdk.users().add_disclaimer(user.uid, second.id)  # replaces the first
    assert (await bdk.users().get_disclaimer(user.uid)).id == second.id
    assert await api.v1_admin_disclaimer_did_users_get(did=first.id, session_token=token) == []
    await bdk.users().remove_disclaimer(user.uid)
    assert await bdk.users().get_disclaimer(user.uid) is None
    await bdk.users().remove_disclaimer(user.uid)  # none to remove: still fine
    assert await api.v1_admin_disclaimer_did_users_get(did=second.id, session_token=token) == []


async def test_one_default_disclaimer(services: Services) -> None:
    actor = await _actor(services)
    old = await services.disclaimers.create(actor, unique("Old "), "x", is_default=True)
    new = await services.disclaimers.create(actor, unique("New "), "y", is_default=True)
    defaults = [d.id for d in await services.disclaimers.list_all(actor) if d.is_default]
    assert defaults == [new.id]
    assert (await services.disclaimers.get(actor, old.id)).is_default is False


async def test_disclaimer_rules_change_nothing(services: Services) -> None:
    actor = await _actor(services)
    taken = await services.disclaimers.create(actor, unique("Taken "), "x")
    before = await services.disclaimers.list_all(actor)
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"name": taken.name}, AlreadyExists, ""),
        ({"name": " "}, Invalid, "disclaimer_name"),
        ({"name": "n" * 256}, Invalid, "disclaimer_name"),
        ({"content": "  "}, Invalid, "content"),
        ({"format": "HTML"}, Invalid, "format"),
        ({"format": "XML", "content": "<open>"}, Invalid, "content"),
        ({"frequency_hours": -1}, Invalid, "frequency_hours"),
        ({"is_default": True, "active": False}, Invalid, "is_default"),
    ]
    for change, error, field in cases:
        values = {"name": unique("Bad "), "content": "text", **change}
        with pytest.raises(error) as caught:
            await services.disclaimers.create(actor, **values)
        if field:
            assert getattr(caught.value, "field", None) == field
    assert await services.disclaimers.list_all(actor) == before


async def test_disclaimer_bad_input(
    server: RunningServer, headers: dict[str, str], services: Services
) -> None:
    actor = await _actor(services)
    active = await services.disclaimers.create(actor, unique("Kept "), "x")
    inactive = await services.disclaimers.create(actor, unique("Off "), "y", active=False)
    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    base = _pod(server)
    assign = f"{base}/user/{user.uid}/disclaimer/update"
    r = requests.post(assign, json={"id": active.id}, headers=headers)
    assert r.status_code == 200 and r.json() == {"format": "TEXT", "message": "OK"}

    refused(requests.get(f"{base}/disclaimer/nope", headers=headers), 400, "disclaimer nope")
    refused(requests.get(f"{base}/disclaimer/nope/users", headers=headers), 400, "nope")
    refused(requests.post(assign, json={"id": "nope"}, headers=headers), 400, "nope")
    refused(requests.post(assign, json={"id": inactive.id}, headers=headers), 400, "id", "active")
    refused(requests.post(assign, json={"id": 5}, headers=headers), 400, "id")
    refused(requests.post(assign, json={}, headers=headers), 400, "id")
    refused(requests.post(assign, data=b"{not json", headers=headers), 400)
    refused(
        requests.post(
            f"{base}/user/{NOBODY}/disclaimer/update", json={"id": active.id}, headers=headers
        ),
        400,
        f"user {NOBODY}",
    )
    refused(requests.get(f"{base}/user/{NOBODY}/disclaimer", headers=headers), 400, str(NOBODY))
    refused(requests.delete(f"{base}/user/{NOBODY}/disclaimer", headers=headers), 400)
    assert requests.get(f"{base}/user/abc/disclaimer", headers=headers).status_code in (400, 404)
    refused(requests.get(f"{base}/user/{2**64}/disclaimer", headers=headers), 400, "not found")

    r = requests.get(f"{base}/user/{user.uid}/disclaimer", headers=headers)
    assert r.status_code == 200 and r.json()["id"] == active.id  # nothing changed
    assert requests.get(f"{base}/disclaimer/{active.id}/users", headers=headers).json() == [
        user.uid
    ]
    assert requests.get(f"{base}/disclaimer/{inactive.id}/users", headers=headers).json() == []

    weak = {"sessionToken": session_token(server, user)}
    refused(requests.get(f"{base}/disclaimer/list", headers=weak), 403)
    refused(requests.delete(f"{base}/user/{user.uid}/disclaimer", headers=weak), 403)
    refused(requests.get(f"{base}/disclaimer/list"), 401)
    r = requests.get(f"{base}/user/{user.uid}/disclaimer", headers=headers)
    assert r.json()["id"] == active.id


# -- information barriers -----------------------------------------------------------------


async def test_information_barriers_with_the_bdk(bdk: Any, services: Services) -> None:
    from symphony.bdk.gen.exceptions import NotFoundException
    from symphony.bdk.gen.pod_api.info_barriers_api import InfoBarriersApi

    actor = await _actor(services)
    desk = await services.barriers.create_group(actor, unique("Trading "))
    research = await services.barriers.create_group(actor, unique("Research "))
    policy = await services.barriers.create_policy(actor, "BLOCK", [desk.name, research.id])
    assert set(policy.groups) == {desk.id, research.id}
    a = await make_bot(services, frozenset({"INDIVIDUAL"}))
    b = await make_bot(services, frozenset({"INDIVIDUAL"}))
    api = InfoBarriersApi(bdk._pod_client)
    token = await bdk.bot_session().session_token

    groups = {g.id: g for g in await api.v1_admin_group_list_get(session_token=token)}
    assert groups[desk.id].name == desk.name and groups[desk.id].active is True
    assert groups[desk.id].policies == [policy.id] and groups[desk.id].member_count == 0

    added = await api.v1_admin_group_gid_membership_add_post(
        gid=desk.id, users=[b.uid, a.uid], session_token=token
    )
    assert (added.overall_result, added.results) == ("SUCCESS", ["", ""])
    members = await api.v1_admin_group_gid_membership_list_get(gid=desk.id, session_token=token)
    assert members == sorted([a.uid, b.uid])
    page = await api.v1_admin_group_gid_membership_list_get(
        gid=desk.id, session_token=token, skip=1, limit=1
    )
    assert page == [max(a.uid, b.uid)]
    await api.v1_admin_group_gid_membership_add_post(
        gid=research.id, users=[a.uid], session_token=token
    )
    groups = {g.id: g for g in await api.v1_admin_group_list_get(session_token=token)}
    assert groups[desk.id].member_count == 2
    policies = {p.id: p for p in await api.v1_admin_policy_list_get(session_token=token)}
    assert policies[policy.id].policy_type == "BLOCK"
    assert sorted(policies[policy.id].groups) == sorted([desk.id, research.id])
    assert policies[policy.id].member_count == 2  # a is in both groups: counted once

    removed = await api.v1_admin_group_gid_membership_remove_post(
        gid=desk.id, users=[a.uid, a.uid], session_token=token
    )
    assert (removed.overall_result, removed.results) == ("SUCCESS", ["", ""])
    assert await api.v1_admin_group_gid_membership_list_get(gid=desk.id, session_token=token) == [
        b.uid
    ]

    failed = await api.v1_admin_group_gid_membership_add_post(
        gid=desk.id, users=[a.uid, NOBODY], session_token=token
    )
    assert failed.overall_result == "FAIL"
    assert failed.results == ["", f"user {NOBODY} not found"]
    assert await api.v1_admin_group_gid_membership_list_get(gid=desk.id, session_token=token) == [
        b.uid
    ]  # all or nothing: a was not added either
    with pytest.raises(NotFoundException):
        await api.v1_admin_group_gid_membership_list_get(gid="nope", session_token=token)


async def test_barrier_bad_input(
    server: RunningServer, headers: dict[str, str], services: Services
) -> None:
    actor = await _actor(services)
    group = await services.barriers.create_group(actor, unique("Desk "))
    member = await make_bot(services, frozenset({"INDIVIDUAL"}))
    base = f"{_pod(server)}/group/{group.id}/membership"
    r = requests.post(f"{base}/add", json=[member.uid], headers=headers)
    assert r.json() == {"overallResult": "SUCCESS", "results": [""]}

    for bad in (["x"], [str(member.uid)], {"users": [member.uid]}, [1.5], None):
        refused(requests.post(f"{base}/add", json=bad, headers=headers), 400, "users")
        refused(requests.post(f"{base}/remove", json=bad, headers=headers), 400, "users")
    unknown = f"{_pod(server)}/group/nope/membership"
    refused(requests.post(f"{unknown}/add", json=[member.uid], headers=headers), 400, "group nope")
    refused(requests.post(f"{unknown}/remove", json=[member.uid], headers=headers), 400, "nope")
    refused(requests.get(f"{unknown}/list", headers=headers), 404, "group nope")
    for query, field in (("limit=0", "limit"), ("limit=10001", "limit"), ("skip=-1", "skip")):
        refused(requests.get(f"{base}/list?{query}", headers=headers), 400, field)
    refused(requests.get(f"{base}/list?limit=many", headers=headers), 400, "limit")
    r = requests.post(f"{base}/remove", json=[NOBODY, member.uid], headers=headers)
    assert r.json() == {"overallResult": "FAIL", "results": [f"user {NOBODY} not found", ""]}
    r = requests.post(f"{base}/add", json=[2**63, -1], headers=headers)  # beyond int64
    assert r.json() == {
        "overallResult": "FAIL",
        "results": [f"user {2**63} not found", "user -1 not found"],
    }

    weak = {"sessionToken": session_token(server, member)}
    refused(requests.post(f"{base}/remove", json=[member.uid], headers=weak), 403)
    refused(requests.get(f"{_pod(server)}/policy/list", headers=weak), 403)
    assert requests.get(f"{base}/list", headers=headers).json() == [member.uid]  # unchanged


async def test_barrier_rules_change_nothing(services: Services) -> None:
    actor = await _actor(services)
    one = await services.barriers.create_group(actor, unique("One "))
    two = await services.barriers.create_group(actor, unique("Two "))
    await services.barriers.create_policy(actor, "ALLOW", [one.id, two.id])
    groups, policies = (
        await services.barriers.groups(actor),
        await services.barriers.policies(actor),
    )
    with pytest.raises(AlreadyExists):
        await services.barriers.create_group(actor, one.name)
    with pytest.raises(Invalid):
        await services.barriers.create_group(actor, "  ")
    cases: list[tuple[str, list[str], type[Exception]]] = [
        ("BLOCK", [two.id, one.name], AlreadyExists),  # one policy per pair
        ("DENY", [one.id, two.id], Invalid),
        ("BLOCK", [one.id], Invalid),
        ("BLOCK", [one.id, one.name], Invalid),
        ("BLOCK", [one.id, "nope"], NotFound),
    ]
    for kind, named, error in cases:
        with pytest.raises(error):
            await services.barriers.create_policy(actor, kind, named)
    assert await services.barriers.groups(actor) == groups
    assert await services.barriers.policies(actor) == policies


# -- message suppression ------------------------------------------------------------------


async def _room_with_message(
    bdk: Any, services: Services, sender: str, text: str
) -> tuple[str, Any]:
    from symphony.bdk.gen.pod_model.v3_room_attributes import V3RoomAttributes

    room = await bdk.streams().create_room(
        V3RoomAttributes(name=unique("Compliance "), description="watched", public=False)
    )
    stream_id = room.room_system_info.id
    message = await services.messages.post(await _actor(services), stream_id, sender, text)
    return stream_id, message


async def test_suppress_a_message_with_the_bdk(
    bdk: Any, services: Services, admin_bot: Bot, server: RunningServer
) -> None:
    stream_id, message = await _room_with_message(bdk, services, admin_bot.username, "secret")
    history = f"{server.api}/chatrooms/{stream_id.lower()}/chathistory"
    auth = ("admin", ADMIN_PASSWORD)
    shown = requests.get(history, auth=auth, headers={"Accept": "application/json"}).json()
    assert [m["body"] for m in shown["message"]] == ["secret"]
    assert shown["message"][0]["from"].endswith(f"/{admin_bot.username}")

    done = await bdk.messages().suppress_message(message.message_id)
    assert (done.message_id, done.suppressed) == (message.message_id, True)
    assert done.suppression_date >= int(message.sent_at.timestamp() * 1000)
    shown = requests.get(history, auth=auth, headers={"Accept": "application/json"}).json()
    assert "secret" not in str(shown)  # gone from the Openfire API's room history too
    again = await bdk.messages().suppress_message(message.message_id)
    assert again.suppression_date == done.suppression_date  # the first time is kept


async def test_suppression_bad_input_and_roles(
    bdk: Any, services: Services, admin_bot: Bot, server: RunningServer, headers: dict[str, str]
) -> None:
    _, message = await _room_with_message(bdk, services, admin_bot.username, "keep")
    base = f"{_pod(server)}/messagesuppression"
    refused(requests.post(f"{base}/nope/suppress", headers=headers), 400, "message nope")
    plain = await make_bot(services, frozenset({"INDIVIDUAL", "USER_PROVISIONING"}))
    weak = {"sessionToken": session_token(server, plain)}
    refused(requests.post(f"{base}/{message.message_id}/suppress", headers=weak), 403)
    assert not (await services.messages.get(await _actor(services), message.message_id)).suppressed

    # `+` for `-` and `=` padding (standard base64), percent-encoded as the BDK sends it.
    standard = message.message_id.replace("-", "+") + "=="
    officer = await make_bot(services, frozenset({"COMPLIANCE_OFFICER"}))
    allowed = {"sessionToken": session_token(server, officer)}
    r = requests.post(f"{base}/{quote(standard, safe='')}/suppress", headers=allowed)
    assert r.status_code == 200, r.text
    assert r.json()["messageId"] == message.message_id and r.json()["suppressed"] is True


async def test_posting_rules(bdk: Any, services: Services, admin_bot: Bot) -> None:
    from townhall.domain.errors import Forbidden

    actor = await _actor(services)
    stream_id, _ = await _room_with_message(bdk, services, admin_bot.username, "first")
    outsider = await make_bot(services, frozenset({"INDIVIDUAL"}))
    with pytest.raises(Forbidden):  # the room is members-only
        await services.messages.post(actor, stream_id, outsider.username, "hi")
    with pytest.raises(NotFound):
        await services.messages.post(actor, "nope", admin_bot.username, "hi")
    with pytest.raises(Invalid):
        await services.messages.post(actor, stream_id, admin_bot.username, "")


async def test_concurrent_suppressions_hide_once(
    bdk: Any, services: Services, admin_bot: Bot
) -> None:
    """Both answer the message hidden, with one time; one change is recorded, not two."""
    _, message = await _room_with_message(bdk, services, admin_bot.username, "race")
    actor = await _actor(services)
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    first, second = await asyncio.gather(
        services.messages.suppress(actor, message.message_id),
        services.messages.suppress(actor, message.message_id),
    )
    assert first.suppressed and second.suppressed
    assert first.suppressed_at == second.suppressed_at
    assert [(e.topic, e.subject) for e in heard] == [("message.suppressed", message.message_id)]
    entries = await services.audit.entries(actor, username=actor.username, limit=20)
    hidden = [e for e in entries if e.summary == f"message.suppressed: {message.message_id}"]
    assert len(hidden) == 1


async def test_compliance_changes_that_change_nothing_record_nothing(services: Services) -> None:
    actor = await _actor(services)
    disclaimer = await services.disclaimers.create(actor, unique("Once "), "x")
    group = await services.barriers.create_group(actor, unique("Same "))
    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    outsider = await make_bot(services, frozenset({"INDIVIDUAL"}))
    await services.disclaimers.assign(actor, user.uid, disclaimer.id)
    await services.barriers.add_members(actor, group.id, [user.uid])
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    await services.disclaimers.assign(actor, user.uid, disclaimer.id)
    assert (await services.barriers.add_members(actor, group.id, [user.uid])).ok
    assert (await services.barriers.remove_members(actor, group.id, [outsider.uid])).ok
    assert heard == []
    assert (await services.barriers.remove_members(actor, group.id, [user.uid, NOBODY])) == (
        BulkOutcome(False, ("", f"user {NOBODY} not found"))
    )
    assert await services.barriers.members(actor, group.id) == [user.uid]
    await services.disclaimers.unassign(actor, user.uid)
    await services.disclaimers.unassign(actor, user.uid)
    assert [e.topic for e in heard] == ["user.disclaimer.unassigned"]


# -- feature catalogue --------------------------------------------------------------------


async def test_feature_catalogue(bdk: Any, services: Services, server: RunningServer) -> None:
    from symphony.bdk.gen.pod_api.system_api import SystemApi
    from symphony.bdk.gen.pod_model.feature import Feature

    api = SystemApi(bdk._pod_client)
    token = await bdk.bot_session().session_token
    names = await api.v1_admin_system_features_list_get(session_token=token)
    assert names[:2] == ["postReadEnabled", "postWriteEnabled"]
    assert "canCreatePublicRoom" in names and len(names) == len(set(names))
    custom = unique("canDoThing")
    assert custom not in names
    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    await bdk.users().update_feature_entitlements(
        user.uid, [Feature(entitlment=custom, enabled=True)]
    )
    assert custom in await api.v1_admin_system_features_list_get(session_token=token)
    weak = {"sessionToken": session_token(server, user)}
    refused(requests.get(f"{_pod(server)}/system/features/list", headers=weak), 403)


# -- the CLI ------------------------------------------------------------------------------


def test_cli_creates_disclaimers_and_barriers(
    server: RunningServer, headers: dict[str, str]
) -> None:
    base = _pod(server)
    name = unique("Cli ")
    out = townhall(
        server.database_url,
        "disclaimers",
        "create",
        name,
        "--content",
        "Read me",
        "--frequency-hours",
        "8",
    )
    assert out.returncode == 0, out.stderr
    disclaimer_id = out.stdout.split()[1]
    found = requests.get(f"{base}/disclaimer/{disclaimer_id}", headers=headers).json()
    assert (found["name"], found["content"], found["frequencyInHours"]) == (name, "Read me", 8)
    again = townhall(server.database_url, "disclaimers", "create", name, "--content", "x")
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = townhall(
        server.database_url,
        "disclaimers",
        "create",
        unique("B "),
        "--content",
        "x",
        "--format",
        "HTML",
    )
    assert bad.returncode == 1 and "format" in bad.stderr

    first, second = unique("CliDesk"), unique("CliResearch")
    for group in (first, second):
        made = townhall(server.database_url, "barriers", "create-group", group)
        assert made.returncode == 0 and made.stdout.startswith("group "), made.stderr
    out = townhall(
        server.database_url, "barriers", "create-policy", first, second, "--type", "allow"
    )
    assert out.returncode == 0, out.stderr
    policy_id = out.stdout.split()[1]
    policies = {p["id"]: p for p in requests.get(f"{base}/policy/list", headers=headers).json()}
    assert policies[policy_id]["policyType"] == "ALLOW" and len(policies[policy_id]["groups"]) == 2
    missing = townhall(server.database_url, "barriers", "create-policy", first, "nope")
    assert missing.returncode == 1 and "nope" in missing.stderr
    assert len(requests.get(f"{base}/policy/list", headers=headers).json()) == len(policies)
