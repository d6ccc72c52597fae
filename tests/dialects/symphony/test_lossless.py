"""Symphony: what a client sends is stored or refused by name, never dropped; answers
carry what their version's clients read."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import RunningServer, unique
from tests.helpers.symphony import Bot, session_token

FIXED = {"public": True, "readOnly": True, "copyProtected": True}


async def test_v1_room_create_takes_its_nested_body_and_v1_answers_carry_the_fixed_ones(
    bdk: Any, admin_bot: Bot, server: RunningServer
) -> None:
    token = {"sessionToken": session_token(server, admin_bot)}
    name = unique("v1 room ")
    seed_body = {
        "roomAttributes": {
            "name": name,
            "description": "From the v1 reference",
            "membersCanInvite": True,
            "discoverable": True,
        },
        "immutableRoomAttributes": FIXED,
    }
    made = requests.post(f"{server.url}/pod/v1/room/create", json=seed_body, headers=token)
    assert made.status_code == 200, made.text
    room = made.json()
    assert room["immutableRoomAttributes"] == FIXED
    attributes = room["roomAttributes"]
    assert (attributes["name"], attributes["description"]) == (name, "From the v1 reference")
    assert (attributes["membersCanInvite"], attributes["discoverable"]) == (True, True)
    stream_id = room["roomSystemInfo"]["id"]

    v1 = requests.get(f"{server.url}/pod/v1/room/{stream_id}/info", headers=token).json()
    assert v1["immutableRoomAttributes"] == FIXED
    v3 = await bdk.streams().get_room_info(stream_id)
    stored = v3.room_attributes
    assert (stored.public, stored.read_only, stored.copy_protected) == (True, True, True)

    # The BDK's set_room_active reads the v1 answer.
    answer = await bdk.streams().set_room_active(stream_id, False)
    assert answer.room_system_info.active is False
    fixed = answer.immutable_room_attributes
    assert (fixed.public, fixed.read_only, fixed.copy_protected) == (True, True, True)


def test_v1_room_create_without_a_name_names_the_field(
    admin_bot: Bot, server: RunningServer
) -> None:
    token = {"sessionToken": session_token(server, admin_bot)}
    refused = requests.post(
        f"{server.url}/pod/v1/room/create",
        json={"immutableRoomAttributes": FIXED},
        headers=token,
    )
    assert refused.status_code == 400
    assert "roomAttributes.name" in refused.json()["message"]


DIRECTORY = {
    "two_factor_auth_phone": "+15419999999",
    "recommended_language": "english",
    "asset_classes": ["Equities"],
    "industries": ["Healthcare", "Technology"],
    "market_coverage": ["EMEA"],
    "responsibility": ["BAU"],
    "function": ["Trade Processing"],
    "instrument": ["Equities", "Bonds"],
    "user_metadata": {"com_example_desk": {"floor": 3, "tags": ["a"]}},
}


async def test_every_v2_user_attribute_is_stored(bdk: Any) -> None:
    from symphony.bdk.gen.pod_model.v2_user_attributes import V2UserAttributes
    from symphony.bdk.gen.pod_model.v2_user_create import V2UserCreate

    name = unique("trader")
    created = await bdk.users().create(
        V2UserCreate(
            user_attributes=V2UserAttributes(
                user_name=name,
                email_address=f"{name}@example.org",
                display_name="Trader",
                **DIRECTORY,
            ),
            roles=["INDIVIDUAL"],
        )
    )
    uid = created.user_system_info.id
    for answer in (created, await bdk.users().get_user_detail(uid)):
        got = answer.user_attributes
        assert {k: getattr(got, k) for k in DIRECTORY} == DIRECTORY

    updated = await bdk.users().update(
        uid, V2UserAttributes(industries=["Energy"], recommended_language="french")
    )
    got = updated.user_attributes
    assert (got.industries, got.recommended_language) == (["Energy"], "french")
    assert got.asset_classes == ["Equities"]  # kept when the update has none
    assert (await bdk.users().get_user_detail(uid)).user_attributes.industries == ["Energy"]
    [found] = (await bdk.users().list_users_by_ids([uid])).users
    assert found.user_metadata == DIRECTORY["user_metadata"]


async def test_directory_attributes_that_cannot_be_stored_are_refused_by_name(
    admin_bot: Bot, server: RunningServer
) -> None:
    headers = {"sessionToken": session_token(server, admin_bot)}
    name = unique("refused")
    create = f"{server.url}/pod/v2/admin/user/create"
    for attributes, field in (
        ({"assetClasses": ["x" * 256]}, "assetClasses"),
        ({"industries": [f"i{n}" for n in range(101)]}, "industries"),
        ({"twoFactorAuthPhone": "9" * 65}, "twoFactorAuthPhone"),
        ({"instrument": "Equities"}, "instrument"),
    ):
        body = {"userAttributes": {"userName": name, "emailAddress": f"{name}@x.org", **attributes}}
        refused = requests.post(create, json=body, headers=headers)
        assert refused.status_code == 400, refused.text
        assert field in refused.json()["message"], refused.text
    looked_up = requests.get(
        f"{server.url}/pod/v3/users", params={"username": name}, headers=headers
    )
    assert looked_up.status_code == 204
