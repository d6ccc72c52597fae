"""Symphony rooms, IMs and membership: the same rooms the Openfire API manages."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import RunningServer, unique
from tests.helpers.symphony import Bot, make_bot, session_token
from townhall.services.container import Services

JSON = {"Accept": "application/json"}


async def test_room_lifecycle_with_the_bdk(
    bdk: Any, admin_bot: Bot, services: Services, server: RunningServer, http: requests.Session
) -> None:
    from symphony.bdk.gen.pod_model.room_tag import RoomTag
    from symphony.bdk.gen.pod_model.v3_room_attributes import V3RoomAttributes

    label = unique("Quarterly ")
    room = await bdk.streams().create_room(
        V3RoomAttributes(
            name=f"{label} review",
            description="Numbers and plans",
            keywords=[RoomTag(key="team", value="finance")],
            public=False,
            discoverable=True,
        )
    )
    stream_id = room.room_system_info.id
    assert len(stream_id) == 32 and room.room_system_info.active is True
    assert room.room_system_info.created_by_user_id == admin_bot.uid
    info = await bdk.streams().get_room_info(stream_id)
    assert (info.room_attributes.name, info.room_attributes.public) == (f"{label} review", False)

    # The same room through the Openfire API.
    rooms = http.get(f"{server.api}/chatrooms", params={"type": "all"}, headers=JSON).json()
    [of_room] = [r for r in rooms["chatRooms"] if r["naturalName"] == f"{label} review"]
    assert of_room["membersOnly"] is True and of_room["publicRoom"] is True
    assert of_room["owners"] == [f"{admin_bot.username}@example.org"]

    updated = await bdk.streams().update_room(
        stream_id, V3RoomAttributes(description="Only plans", read_only=True)
    )
    assert (updated.room_attributes.description, updated.room_attributes.read_only) == (
        "Only plans",
        True,
    )

    member = await make_bot(services, frozenset({"INDIVIDUAL"}))
    await bdk.streams().add_member_to_room(member.uid, stream_id)
    await bdk.streams().promote_user_to_room_owner(member.uid, stream_id)
    members = {m.id: m.owner for m in await bdk.streams().list_room_members(stream_id)}
    assert members == {admin_bot.uid: True, member.uid: True}
    await bdk.streams().demote_owner_to_room_participant(member.uid, stream_id)
    await bdk.streams().remove_member_from_room(member.uid, stream_id)
    assert [m.id for m in await bdk.streams().list_room_members(stream_id)] == [admin_bot.uid]

    await bdk.streams().set_room_active(stream_id, False)
    assert (await bdk.streams().get_room_info(stream_id)).room_system_info.active is False


async def test_search(bdk: Any, admin_bot: Bot, client: Any) -> None:
    from symphony.bdk.gen.pod_model.v2_room_search_criteria import V2RoomSearchCriteria
    from symphony.bdk.gen.pod_model.v3_room_attributes import V3RoomAttributes

    word = unique("zebra")
    for i, public in enumerate((True, False, True)):
        await bdk.streams().create_room(
            V3RoomAttributes(name=f"{word} {i}", description="d", public=public, discoverable=True)
        )
    await bdk.streams().create_room(V3RoomAttributes(name=f"{word} hidden", discoverable=False))
    client.rooms.add_room(f"{word}-of", f"{word} from openfire", "made elsewhere")
    found = await bdk.streams().search_rooms(V2RoomSearchCriteria(query=word), skip=0, limit=2)
    assert found.count == 4 and len(found.rooms) == 2
    facets = {f.facet: f.count for f in found.faceted_match_count}
    assert facets == {"PUBLIC": 3, "PRIVATE": 1}
    rest = await bdk.streams().search_rooms(V2RoomSearchCriteria(query=word), skip=2, limit=2)
    names = {r.room_attributes.name for r in found.rooms + rest.rooms}
    past = await bdk.streams().search_rooms(V2RoomSearchCriteria(query=word), skip=9, limit=2)
    assert past.count == 4 and not past.rooms  # the counts hold past the last page
    assert {f.facet: f.count for f in past.faceted_match_count} == facets
    assert f"{word} from openfire" in names and f"{word} hidden" not in names
    private = await bdk.streams().search_rooms(V2RoomSearchCriteria(query=word, private=True))
    assert [r.room_attributes.name for r in private.rooms] == [f"{word} 1"]


async def test_ims_are_idempotent(
    bdk: Any, admin_bot: Bot, services: Services, server: RunningServer
) -> None:
    other = await make_bot(services, frozenset({"INDIVIDUAL"}))
    third = await make_bot(services, frozenset({"INDIVIDUAL"}))
    first = await bdk.streams().create_im(other.uid)
    again = await bdk.streams().create_im(other.uid)
    assert first.id == again.id
    mim = await bdk.streams().create_im_admin([other.uid, third.uid])
    assert mim.id not in (first.id,)
    assert (await bdk.streams().create_im_admin([third.uid, other.uid])).id == mim.id
    headers = {"sessionToken": session_token(server, other)}
    r = requests.post(f"{server.url}/pod/v1/im/create", json=[admin_bot.uid], headers=headers)
    assert r.json() == {"id": first.id}
    r = requests.post(f"{server.url}/pod/v1/admin/im/create", json=[1, 2], headers=headers)
    assert r.status_code == 403


async def test_bad_input_and_permissions(
    server: RunningServer, admin_bot: Bot, services: Services
) -> None:
    headers = {"sessionToken": session_token(server, admin_bot)}
    create = f"{server.url}/pod/v3/room/create"
    r = requests.post(create, json={"name": "x", "public": "yes"}, headers=headers)
    assert r.status_code == 400 and "public" in r.json()["message"]
    r = requests.post(create, json={"description": "no name"}, headers=headers)
    assert r.status_code == 400 and "name" in r.json()["message"]
    r = requests.get(f"{server.url}/pod/v3/room/nope/info", headers=headers)
    assert r.status_code == 400 and r.json()["code"] == 400  # the operation declares no 404
    r = requests.post(f"{server.url}/pod/v1/im/create", json=["7"], headers=headers)
    assert r.status_code == 400
    stream_id = requests.post(create, json={"name": unique("perm")}, headers=headers).json()[
        "roomSystemInfo"
    ]["id"]
    stranger = await make_bot(services, frozenset({"INDIVIDUAL"}))
    theirs = {"sessionToken": session_token(server, stranger)}
    r = requests.post(
        f"{server.url}/pod/v3/room/{stream_id}/update", json={"name": "taken"}, headers=theirs
    )
    assert r.status_code == 403
    r = requests.post(
        f"{server.url}/pod/v1/room/{stream_id}/membership/remove",
        json={"id": admin_bot.uid},
        headers=headers,
    )
    assert r.status_code == 400  # the last owner stays (the operation declares no 409)
    info = requests.get(f"{server.url}/pod/v3/room/{stream_id}/info", headers=headers).json()
    assert info["roomAttributes"]["name"] != "taken"


async def test_one_last_owner_rule_through_both_apis(
    server: RunningServer, admin_bot: Bot, client: Any, http: requests.Session
) -> None:
    headers = {"sessionToken": session_token(server, admin_bot)}
    r = requests.post(
        f"{server.url}/pod/v3/room/create", json={"name": unique("owned")}, headers=headers
    )
    stream_id = r.json()["roomSystemInfo"]["id"]
    room, owner = stream_id.lower(), f"{admin_bot.username}@example.org"
    membership = f"{server.url}/pod/v1/room/{stream_id}/membership"
    for action in ("remove", "demoteOwner"):
        r = requests.post(f"{membership}/{action}", json={"id": admin_bot.uid}, headers=headers)
        assert r.status_code == 400, action  # the operation declares no 409
        assert r.json()["message"] == "a room must keep at least one owner"
    r = http.delete(f"{server.api}/chatrooms/{room}/owners/{owner}", headers=JSON)
    assert (r.status_code, r.json()["message"]) == (409, "Could not delete affiliation")
    r = http.post(f"{server.api}/chatrooms/{room}/members/{owner}", headers=JSON)
    assert r.status_code == 409  # demoting the last owner, the Openfire way
    assert client.rooms.get_users_with_role(room, "owners") == [owner]

    # Another owner, granted through Openfire, is an owner to Symphony's rule as well.
    assert client.rooms.grant_user_role(room, "boss@elsewhere.net", "owners") is True
    r = requests.post(f"{membership}/remove", json={"id": admin_bot.uid}, headers=headers)
    assert r.status_code == 200
    assert client.rooms.get_users_with_role(room, "owners") == ["boss@elsewhere.net"]
    r = http.delete(f"{server.api}/chatrooms/{room}/owners/boss@elsewhere.net", headers=JSON)
    assert r.status_code == 409


@pytest.mark.parametrize("path", ["/pod/v1/room/x/membership/list", "/pod/v3/room/search"])
def test_token_required(server: RunningServer, path: str) -> None:
    r = requests.request("GET" if "list" in path else "POST", f"{server.url}{path}", json={})
    assert r.status_code == 401
