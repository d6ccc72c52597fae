"""Openfire `/chatrooms`: rooms, bulk create, affiliations, occupants, history and
invitations, through the official client and raw HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from openfire_restapi import exceptions as ofx
from sqlalchemy import delete, event, insert, select

from tests.conftest import RunningServer, unique
from townhall.dialects.openfire.wire import xsd_datetime
from townhall.domain.models import Affiliations, RoomSettings
from townhall.domain.principal import Principal
from townhall.domain.queries import RoomFilter
from townhall.services.container import Services
from townhall.services.rooms import RoomSpec
from townhall.store import audit
from townhall.store import rooms as room_store
from townhall.store.schema import (
    group_members,
    groups,
    live_connections,
    room_messages,
    room_occupants,
    users,
)

JSON = {"Accept": "application/json"}
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
LOBBY_JSON = (
    '{"roomName":"NAME","naturalName":"Lobby","description":"Welcome in our lobby!",'
    '"subject":"Introduction to XMPP","creationDate":1644246591517,'
    '"modificationDate":1644246591538,"maxUsers":30,"persistent":true,"publicRoom":true,'
    '"registrationEnabled":true,"canAnyoneDiscoverJID":true,"canOccupantsChangeSubject":false,'
    '"canOccupantsInvite":false,"canChangeNickname":true,"logEnabled":true,'
    '"loginRestrictedToNickname":false,"membersOnly":false,"moderated":false,'
    '"broadcastPresenceRoles":["moderator","participant","visitor"],'
    '"owners":["admin@example.org"],"admins":["john@example.org","jane@example.org"],'
    '"members":[],"outcasts":[],"ownerGroups":[],"adminGroups":[],"memberGroups":[],'
    '"outcastGroups":[],"allowPM":"anyone"}'
)


def _lobby(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(LOBBY_JSON.replace("NAME", name))
    return body


def _room(server: RunningServer, http: requests.Session, name: str, **params: str) -> Any:
    return http.get(f"{server.api}/chatrooms/{name}", params=params, headers=JSON)


async def _actor(services: Services) -> Principal:
    return Principal(await services.tenants.first(), "tester")


async def _group(
    services: Services, name: str, usernames: list[str], jids: tuple[str, ...] = ()
) -> None:
    """Groups straight in the store: the rooms area must not depend on the groups area."""
    tenant = await services.tenants.first()
    async with services.deps.db.write() as tx:
        group_id = (
            await tx.execute(
                insert(groups)
                .values(tenant_id=tenant.id, name=name, shared=False)
                .returning(groups.c.id)
            )
        ).scalar_one()
        for username in usernames:
            user_id = (
                await tx.execute(
                    select(users.c.id).where(
                        users.c.tenant_id == tenant.id, users.c.username == username
                    )
                )
            ).scalar_one()
            await tx.execute(insert(group_members).values(group_id=group_id, user_id=user_id))
        for jid in jids:
            await tx.execute(insert(group_members).values(group_id=group_id, jid=jid))


async def _room_id(services: Services, room: str, service: str = "conference") -> int:
    tenant = await services.tenants.first()
    async with services.deps.db.read() as tx:
        found = await room_store.find_service(tx, tenant.id, service)
        located = await room_store.locate(tx, found.id, room, lock=False)
    assert located is not None
    return located.id


async def _audit_summaries(services: Services) -> list[str]:
    tenant = await services.tenants.first()
    async with services.deps.db.read() as tx:
        found = await audit.entries(tx, tenant.id, None, None, None, 0, 50)
    return [entry.summary for entry in found]


# -- rooms ------------------------------------------------------------------------------


def test_recorded_lobby_round_trips_exactly(server: RunningServer, http: requests.Session) -> None:
    name = unique("lobby")
    r = http.post(f"{server.api}/chatrooms", json=_lobby(name), headers=JSON)
    assert r.status_code == 201 and r.content == b"" and "content-type" not in r.headers
    r = _room(server, http, name)
    assert r.headers["content-type"] == "application/json"
    assert r.text == LOBBY_JSON.replace("NAME", name)

    r = http.get(f"{server.api}/chatrooms/{name}")
    assert r.headers["content-type"] == "application/xml"
    created = xsd_datetime(datetime.fromtimestamp(1644246591.517, UTC))
    modified = xsd_datetime(datetime.fromtimestamp(1644246591.538, UTC))
    assert r.text == (
        f"{XML_HEAD}<chatRoom><roomName>{name}</roomName><naturalName>Lobby</naturalName>"
        "<description>Welcome in our lobby!</description>"
        "<subject>Introduction to XMPP</subject>"
        f"<creationDate>{created}</creationDate><modificationDate>{modified}</modificationDate>"
        "<maxUsers>30</maxUsers><persistent>true</persistent><publicRoom>true</publicRoom>"
        "<registrationEnabled>true</registrationEnabled>"
        "<canAnyoneDiscoverJID>true</canAnyoneDiscoverJID>"
        "<canOccupantsChangeSubject>false</canOccupantsChangeSubject>"
        "<canOccupantsInvite>false</canOccupantsInvite>"
        "<canChangeNickname>true</canChangeNickname><logEnabled>true</logEnabled>"
        "<loginRestrictedToNickname>false</loginRestrictedToNickname>"
        "<membersOnly>false</membersOnly><moderated>false</moderated>"
        "<broadcastPresenceRoles><broadcastPresenceRole>moderator</broadcastPresenceRole>"
        "<broadcastPresenceRole>participant</broadcastPresenceRole>"
        "<broadcastPresenceRole>visitor</broadcastPresenceRole></broadcastPresenceRoles>"
        "<owners><owner>admin@example.org</owner></owners>"
        "<admins><admin>john@example.org</admin><admin>jane@example.org</admin></admins>"
        "<members/><outcasts/><ownerGroups/><adminGroups/><memberGroups/><outcastGroups/>"
        "<allowPM>anyone</allowPM></chatRoom>"
    )


def test_xml_body_creates_the_same_room(server: RunningServer, http: requests.Session) -> None:
    name = unique("xmlroom")
    body = (
        f"<chatRoom><roomName>{name}</roomName><naturalName>X</naturalName>"
        "<maxUsers>5</maxUsers><publicRoom>true</publicRoom>"
        "<members><member>m@elsewhere.net/phone</member></members><unknown/></chatRoom>"
    )
    r = http.post(f"{server.api}/chatrooms", data=body, headers={"Content-Type": "application/xml"})
    assert r.status_code == 201
    got = _room(server, http, name).json()
    assert (got["maxUsers"], got["members"], got["publicRoom"]) == (5, ["m@elsewhere.net"], True)


def test_crud_with_official_client(client) -> None:  # type: ignore[no-untyped-def]
    name = unique("Crud")
    assert client.rooms.add_room(name, "Crud room", "about", subject="hello") is True
    room = client.rooms.get_room(name)
    assert isinstance(room["creationDate"], datetime)
    assert isinstance(room["modificationDate"], datetime)
    del room["creationDate"], room["modificationDate"]
    assert room == {
        "roomName": name.lower(),
        "naturalName": "Crud room",
        "description": "about",
        "subject": "hello",
        "maxUsers": 0,
        "persistent": True,
        "publicRoom": True,
        "registrationEnabled": True,
        "canAnyoneDiscoverJID": True,
        "canOccupantsChangeSubject": False,
        "canOccupantsInvite": False,
        "canChangeNickname": True,
        "logEnabled": True,
        "loginRestrictedToNickname": False,
        "membersOnly": False,
        "moderated": False,
        "broadcastPresenceRoles": [],
        "owners": ["admin@example.org"],
        "admins": [],
        "members": [],
        "outcasts": [],
        "ownerGroups": [],
        "adminGroups": [],
        "memberGroups": [],
        "outcastGroups": [],
        "allowPM": "anyone",
    }
    assert name.lower() in client.rooms.get_rooms()

    assert (
        client.rooms.update_room(
            name, "Renamed", "new", maxusers=12, public=False, members=["m@example.net"]
        )
        is True
    )
    room = client.rooms.get_room(name)
    assert (room["naturalName"], room["maxUsers"], room["publicRoom"]) == ("Renamed", 12, False)
    assert room["members"] == ["m@example.net"]
    assert "subject" not in room  # null clears the subject
    assert name.lower() not in client.rooms.get_rooms()  # no longer public
    assert name.lower() in client.rooms.get_rooms(typeof="all")

    assert client.rooms.delete_room(name) is True
    with pytest.raises(ofx.RoomNotFoundException, match="Chat room does not exist"):
        client.rooms.get_room(name)
    with pytest.raises(ofx.RoomNotFoundException):
        client.rooms.delete_room(name)


def test_missing_fields_take_the_plugin_defaults(
    server: RunningServer, http: requests.Session
) -> None:
    name = unique("bare")
    r = http.post(f"{server.api}/chatrooms", json={"roomName": name}, headers=JSON)
    assert r.status_code == 201
    got = _room(server, http, name).json()
    flags = [k for k, v in got.items() if isinstance(v, bool)]
    assert len(flags) == 11 and not any(got[k] for k in flags)
    assert (got["maxUsers"], got["allowPM"], got["owners"]) == (0, "anyone", ["admin@example.org"])
    assert (got["naturalName"], got["description"], got["broadcastPresenceRoles"]) == ("", "", [])
    assert "password" not in got and "subject" not in got


def test_post_and_put_are_upserts(client, server: RunningServer, http) -> None:  # type: ignore[no-untyped-def]
    name = unique("ups")
    r = http.put(
        f"{server.api}/chatrooms/{name}", json={"roomName": name, "maxUsers": 3}, headers=JSON
    )
    assert r.status_code == 200 and r.content == b""  # PUT creates a missing room
    first = _room(server, http, name).json()
    assert first["maxUsers"] == 3

    r = http.post(
        f"{server.api}/chatrooms",
        json={"roomName": name.upper(), "maxUsers": 9, "owners": ["boss@example.org"]},
        headers=JSON,
    )
    assert r.status_code == 201  # POST on an existing room updates it
    second = _room(server, http, name).json()
    assert (second["maxUsers"], second["owners"]) == (9, ["boss@example.org"])
    assert second["creationDate"] == first["creationDate"]  # kept when the body has none


def test_put_needs_the_path_name(server: RunningServer, http: requests.Session) -> None:
    name, other = unique("path"), unique("other")
    r = http.put(f"{server.api}/chatrooms/{name}", json={"roomName": other}, headers=JSON)
    assert r.status_code == 400
    assert r.json()["exception"] == "IllegalArgumentException"
    assert r.json()["message"] == (
        "Could not update the channel. The room name is different to the entity room name."
    )
    for missing in (name, other):
        assert _room(server, http, missing).status_code == 404
    # The path is node-prepped before the comparison.
    r = http.put(f"{server.api}/chatrooms/{name.upper()}", json={"roomName": name}, headers=JSON)
    assert r.status_code == 200


def test_room_names_are_lower_cased(server: RunningServer, http: requests.Session) -> None:
    name = unique("CaSe")
    http.post(f"{server.api}/chatrooms", json={"roomName": name}, headers=JSON)
    assert _room(server, http, name.lower()).json()["roomName"] == name.lower()
    assert _room(server, http, name.upper()).json()["roomName"] == name.lower()


def test_same_jid_in_two_lists_is_a_conflict_and_stores_nothing(
    client, server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    name = unique("dup")
    body = {"roomName": name, "admins": ["x@example.org"], "members": ["x@example.org"]}
    r = http.post(f"{server.api}/chatrooms", json=body, headers=JSON)
    assert r.status_code == 409
    assert r.json() == {
        "exception": "NotAllowedException",
        "message": "Could not create the channel",
        "resource": name,
    }
    assert _room(server, http, name).status_code == 404

    client.rooms.add_room(name, "Kept", "")
    with pytest.raises(ofx.NotAllowedException, match="Could not update the channel"):
        client.rooms.update_room(name, "Changed", "", owners=["admin"], admins=["admin"])
    assert client.rooms.get_room(name)["naturalName"] == "Kept"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"maxUsers": -1}, "maxUsers"),
        ({"maxUsers": "many"}, "maxUsers"),
        # A Java int, as in the plugin: PostgreSQL refused a larger one with a 500.
        ({"maxUsers": 2**31}, "maxUsers"),
        ({"maxUsers": 1380825468611}, "maxUsers"),
        ({"allowPM": "everybody"}, "allowPM"),
        ({"broadcastPresenceRoles": ["king"]}, "broadcastPresenceRoles"),
        ({"owners": ["not a jid"]}, "owners"),
        ({"members": ["a@b@c"]}, "members"),
        ({"memberGroups": ["no-such-group-anywhere"]}, "memberGroups"),
        ({"persistent": "perhaps"}, "persistent"),
        ({"unknownField": 1}, "unknownField"),
    ],
)
def test_bad_room_input_names_the_field_and_stores_nothing(
    server: RunningServer, http: requests.Session, body: dict[str, Any], field: str
) -> None:
    name = unique("bad")
    r = http.post(f"{server.api}/chatrooms", json={"roomName": name, **body}, headers=JSON)
    assert r.status_code == 400
    error = r.json()
    assert error["exception"] == "IllegalArgumentException"
    assert error["resource"] == field or field in error["message"]
    assert _room(server, http, name).status_code == 404


def test_an_int_field_beyond_a_java_int_is_refused_in_xml_too(
    server: RunningServer, http: requests.Session
) -> None:
    name = unique("big")
    body = f"<chatRoom><roomName>{name}</roomName><maxUsers>1380825468611</maxUsers></chatRoom>"
    r = http.post(
        f"{server.api}/chatrooms",
        data=body.encode(),
        headers={**JSON, "Content-Type": "application/xml"},
    )
    assert (r.status_code, r.json()["resource"]) == (400, "maxUsers"), r.text
    assert _room(server, http, name).status_code == 404
    r = http.post(
        f"{server.api}/chatrooms", json={"roomName": name, "maxUsers": 2**31 - 1}, headers=JSON
    )
    assert r.status_code == 201 and _room(server, http, name).json()["maxUsers"] == 2**31 - 1


def test_bad_room_name_and_body(server: RunningServer, http: requests.Session) -> None:
    for body in ({"naturalName": "no name"}, {"roomName": "a b"}, {"roomName": "x@y"}):
        r = http.post(f"{server.api}/chatrooms", json=body, headers=JSON)
        assert r.status_code == 400 and r.json()["resource"] == "roomName"
    r = http.post(f"{server.api}/chatrooms", data=b"", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = http.post(f"{server.api}/chatrooms", data="x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


def test_list_filters_and_paging(client, server: RunningServer, http) -> None:  # type: ignore[no-untyped-def]
    tag = unique("flt")
    client.rooms.add_room(f"{tag}a", "Alpha", "")
    client.rooms.add_room(f"{tag}b", "Beta", "", public=False)
    client.rooms.add_room(unique("zz"), f"Natural {tag.upper()} name", "")

    public = client.rooms.get_rooms(query=tag)
    assert sorted(public) == sorted([f"{tag}a", unique_natural(public, tag)])
    assert f"{tag}b" in client.rooms.get_rooms(query=tag.upper(), typeof="all")
    r = http.get(f"{server.api}/chatrooms", params={"type": "ALL", "search": tag}, headers=JSON)
    assert r.json() == {"chatRooms": []}  # the type is case-sensitive

    r = http.get(
        f"{server.api}/chatrooms",
        params={"type": "all", "search": tag, "start": 1, "limit": 1},
        headers=JSON,
    )
    assert r.headers["X-Total-Count"] == "3"
    assert [room["roomName"] for room in r.json()["chatRooms"]] == [f"{tag}b"]
    r = http.get(f"{server.api}/chatrooms", params={"search": tag, "limit": "x"}, headers=JSON)
    assert r.status_code == 400 and r.json()["resource"] == "limit"


def unique_natural(found: dict[str, Any], tag: str) -> str:
    """The one room found through its natural name."""
    (name,) = [n for n, room in found.items() if tag.upper() in room["naturalName"]]
    return name


def test_empty_list_shapes(server: RunningServer, http: requests.Session) -> None:
    params = {"search": unique("nothing")}
    assert http.get(f"{server.api}/chatrooms", params=params, headers=JSON).json() == {
        "chatRooms": []
    }
    r = http.get(f"{server.api}/chatrooms", params=params)
    assert r.text == f"{XML_HEAD}<chatRooms/>"


def test_bulk_create(client, server: RunningServer, http) -> None:  # type: ignore[no-untyped-def]
    existing, new, clash = unique("bk"), unique("bk"), unique("bk")
    client.rooms.add_room(existing, "Before", "")
    result = client.rooms.bulk_add_rooms(
        [
            {"roomName": existing, "naturalName": "After"},
            {"roomName": new, "naturalName": "New", "publicRoom": True},
            {"roomName": clash, "owners": ["o@example.org"], "members": ["o@example.org"]},
        ]
    )
    assert result == {
        "success": [
            {
                "roomName": existing,
                "resultType": "Success",
                "message": "Room already existed and therefore not created again",
            },
            {"roomName": new, "resultType": "Success", "message": "Room was successfully created"},
        ],
        "failure": [
            {
                "roomName": clash,
                "resultType": "Failure",
                "message": "Room creation failed due to ConflictException: The requested room "
                "defines duplicate affiliations for the following entities: o@example.org",
            }
        ],
        "other": [],
    }
    assert client.rooms.get_room(existing)["naturalName"] == "Before"  # left alone
    assert client.rooms.get_room(new)["publicRoom"] is True
    with pytest.raises(ofx.RoomNotFoundException):
        client.rooms.get_room(clash)

    r = http.post(
        f"{server.api}/chatrooms/bulk",
        data=f"<chatRooms><chatRoom><roomName>{new}</roomName></chatRoom></chatRooms>",
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/xml"
    assert r.text == (
        f"{XML_HEAD}<results><success><result><roomName>{new}</roomName>"
        "<resultType>Success</resultType>"
        "<message>Room already existed and therefore not created again</message>"
        "</result></success><failure/><other/></results>"
    )


def test_a_room_may_be_called_bulk(server: RunningServer, http: requests.Session) -> None:
    service = unique("bulksvc")
    params = {"servicename": service}
    r = http.put(
        f"{server.api}/chatrooms/bulk", params=params, json={"roomName": "bulk"}, headers=JSON
    )
    assert r.status_code == 200
    r = http.get(f"{server.api}/chatrooms/bulk", params=params, headers=JSON)
    assert r.json()["roomName"] == "bulk"
    assert http.delete(f"{server.api}/chatrooms/bulk", params=params).status_code == 200
    r = http.get(f"{server.api}/chatrooms/bulk", params=params, headers=JSON)
    assert r.status_code == 404


def test_the_bulk_path_addresses_the_room_called_bulk_whatever_the_query(
    server: RunningServer, http: requests.Session
) -> None:
    # `room` is not in that path: a `?room=` must not point the call at another room.
    service = unique("bulksvc")
    params = {"servicename": service}
    other = unique("other")
    for name in ("bulk", other):
        r = http.post(f"{server.api}/chatrooms", params=params, json={"roomName": name})
        assert r.status_code == 201
    aimed = {**params, "room": other}
    r = http.get(f"{server.api}/chatrooms/bulk", params=aimed, headers=JSON)
    assert r.json()["roomName"] == "bulk"
    assert http.delete(f"{server.api}/chatrooms/bulk", params=aimed).status_code == 200
    assert http.get(f"{server.api}/chatrooms/bulk", params=params).status_code == 404
    assert _room(server, http, other, servicename=service).json()["roomName"] == other


def test_not_found_errors(server: RunningServer, http: requests.Session) -> None:
    missing = unique("gone")
    for method, path in [
        ("GET", ""),
        ("DELETE", ""),
        ("GET", "/participants"),
        ("GET", "/occupants"),
        ("GET", "/chathistory"),
        ("GET", "/owners"),
        ("PUT", "/owners"),
        ("POST", "/members/jane"),
        ("DELETE", "/members/jane"),
        ("POST", "/members/group/g"),
        ("POST", "/invite/jane"),
    ]:
        r = http.request(
            method,
            f"{server.api}/chatrooms/{missing}{path}",
            json={"owners": ["a@b"]} if method == "PUT" else {"reason": "r"},
            headers=JSON,
        )
        assert r.status_code == 404, (method, path)
        assert r.json() == {
            "exception": "RoomNotFoundException",
            "message": "Chat room does not exist or is not accessible.",
            "resource": missing,
        }
    # An affiliation segment that is not one of the four plural forms does not route.
    name = unique("seg")
    http.post(f"{server.api}/chatrooms", json={"roomName": name}, headers=JSON)
    for segment in ("moderators", "member", "Owners"):
        r = http.get(f"{server.api}/chatrooms/{name}/{segment}", headers=JSON)
        assert r.status_code == 404 and "exception" not in r.text
        # Bare, as the plugin answers a path it does not route (was Litestar's JSON).
        assert (r.content, "content-type" in r.headers) == (b"", False)
        r = http.post(f"{server.api}/chatrooms/{name}/{segment}/jane", headers=JSON)
        assert (r.status_code, r.content, "content-type" in r.headers) == (404, b"", False)


# -- affiliations -----------------------------------------------------------------------


def test_single_affiliations_with_official_client(client) -> None:  # type: ignore[no-untyped-def]
    room, user = unique("aff"), unique("affuser")
    client.users.add_user(user, "password-1")
    client.rooms.add_room(room, "Aff", "")
    jid = f"{user}@example.org"

    assert client.rooms.grant_user_role(room, user, "members") is True  # a local username
    assert client.rooms.grant_user_role(room, "Ext@Other.net", "members") is True
    assert client.rooms.get_users_with_role(room, "members") == [jid, "ext@other.net"]
    assert client.rooms.grant_user_role(room, jid, "members") is True  # already: a no-op

    assert client.rooms.grant_user_role(room, jid, "admins") is True  # replaces member
    assert client.rooms.get_users_with_role(room, "members") == ["ext@other.net"]
    assert client.rooms.get_users_with_role(room, "admins") == [jid]

    with pytest.raises(ofx.NotAllowedException, match="Could not delete affiliation"):
        client.rooms.revoke_user_role(room, jid, "members")
    assert client.rooms.revoke_user_role(room, user, "admins") is True
    assert client.rooms.get_users_with_role(room, "admins") == []
    with pytest.raises(ofx.NotAllowedException):
        client.rooms.revoke_user_role(room, jid, "admins")


def test_a_room_keeps_an_owner(client, server: RunningServer, http) -> None:  # type: ignore[no-untyped-def]
    room = unique("own")
    client.rooms.add_room(room, "Own", "")
    with pytest.raises(ofx.NotAllowedException, match="Could not delete affiliation"):
        client.rooms.revoke_user_role(room, "admin@example.org", "owners")
    r = http.post(f"{server.api}/chatrooms/{room}/members/admin", headers=JSON)
    assert r.status_code == 409
    assert r.json()["message"] == "Could not apply modification to list of member"
    assert client.rooms.get_users_with_role(room, "owners") == ["admin@example.org"]


def test_bulk_affiliations_work_as_intended(client, server: RunningServer, http) -> None:  # type: ignore[no-untyped-def]
    room = unique("bulkaff")
    client.rooms.add_room(room, "B", "", admins=["a@x.org"])
    assert client.rooms.bulk_grant_users_role(room, "members", ["m1@x.org", "m2"]) is True
    assert client.rooms.get_users_with_role(room, "members") == ["m1@x.org", "m2@example.org"]

    # Granting as a list also replaces another affiliation.
    assert client.rooms.bulk_grant_users_role(room, "members", ["a@x.org"]) is True
    assert client.rooms.get_users_with_role(room, "admins") == []

    assert client.rooms.replace_users_with_role(room, "members", ["m2", "new@x.org"]) is True
    assert client.rooms.get_users_with_role(room, "members") == [
        "m2@example.org",
        "new@x.org",
    ]
    r = http.put(f"{server.api}/chatrooms/{room}/members", json={"members": []}, headers=JSON)
    assert r.status_code == 201 and r.content == b""
    assert client.rooms.get_users_with_role(room, "members") == []

    r = http.post(
        f"{server.api}/chatrooms/{room}/outcasts",
        data="<outcasts><outcast>bad@x.org</outcast></outcasts>",
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 201
    r = http.get(f"{server.api}/chatrooms/{room}/outcasts")
    assert r.text == f"{XML_HEAD}<outcasts><outcast>bad@x.org</outcast></outcasts>"
    r = http.get(f"{server.api}/chatrooms/{room}/admins")
    assert r.text == f"{XML_HEAD}<admins/>"


def test_bulk_affiliation_bad_input_stores_nothing(
    client, server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    room = unique("bulkbad")
    client.rooms.add_room(room, "B", "", members=["keep@x.org"])
    r = http.put(
        f"{server.api}/chatrooms/{room}/members",
        json={"members": ["ok@x.org", "not valid"]},
        headers=JSON,
    )
    assert r.status_code == 400
    assert r.json()["message"] == "Unable to parse value as jid: not valid"
    r = http.post(f"{server.api}/chatrooms/{room}/members", json={"admins": ["a@x"]}, headers=JSON)
    assert r.status_code == 400  # the key must match the path
    assert client.rooms.get_users_with_role(room, "members") == ["keep@x.org"]


async def test_group_affiliations(
    client, services: Services, server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    room, group = unique("grp"), unique("Team ")
    alice, bob = unique("alice"), unique("bob")
    for user in (alice, bob):
        client.users.add_user(user, "password-1")
    await _group(services, group, [alice, bob], ("far@away.net",))
    client.rooms.add_room(room, "G", "", members=[f"{alice}@example.org"])

    assert client.rooms.grant_group_role(room, group, "members") is True
    got = client.rooms.get_room(room)
    assert (got["members"], got["memberGroups"]) == ([f"{alice}@example.org"], [group])
    expanded = client.rooms.get_rooms(query=room, expand_groups=True)[room]
    assert expanded["members"] == [f"{alice}@example.org", f"{bob}@example.org", "far@away.net"]
    assert expanded["memberGroups"] == [group]

    # A name that is a group is read as the group in the plain form as well.
    assert client.rooms.grant_user_role(room, group, "admins") is True
    got = client.rooms.get_room(room)
    assert (got["memberGroups"], got["adminGroups"]) == ([], [group])
    with pytest.raises(ofx.NotAllowedException):
        client.rooms.revoke_group_role(room, group, "members")
    assert client.rooms.revoke_group_role(room, group, "admins") is True
    assert client.rooms.get_room(room)["adminGroups"] == []

    # Group lists in a room body, and `expandGroups` on a single room.
    client.rooms.update_room(room, "G", "", owner_groups=[group])
    owners = _room(server, http, room, expandGroups="true").json()["owners"]
    everyone = [f"{alice}@example.org", f"{bob}@example.org", "far@away.net"]
    assert owners == ["admin@example.org", *everyone]
    assert client.rooms.get_room(room)["ownerGroups"] == [group]


def test_renamed_user_keeps_affiliations(client) -> None:  # type: ignore[no-untyped-def]
    room, old, new = unique("ren"), unique("old"), unique("new")
    client.users.add_user(old, "password-1")
    client.rooms.add_room(room, "R", "", admins=[old])
    client.users.update_user(old, newusername=new)
    assert client.rooms.get_users_with_role(room, "admins") == [f"{new}@example.org"]
    client.users.delete_user(new)
    assert client.rooms.get_users_with_role(room, "admins") == []


# -- occupants, participants, history ---------------------------------------------------


@pytest.fixture
async def live_room(client, services: Services) -> AsyncIterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """A room with two connected occupants and some history, written the way a
    connection layer would; the sessions are removed afterwards."""
    room, jane = unique("live"), unique("jane")
    client.users.add_user(jane, "password-1")
    client.rooms.add_room(room, "Live", "", members=[jane])
    room_id = await _room_id(services, room)
    tenant = await services.tenants.first()
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    sessions = []
    async with services.deps.db.write() as tx:
        user_id = (
            await tx.execute(
                select(users.c.id).where(users.c.tenant_id == tenant.id, users.c.username == jane)
            )
        ).scalar_one()
        for owner, resource, nick, role in [
            (user_id, "converse.js-1", "jane", "participant"),
            (None, "anon-7", "guest", "visitor"),
        ]:
            session_id = (
                await tx.execute(
                    insert(live_connections)
                    .values(
                        tenant_id=tenant.id,
                        user_id=owner,
                        resource=resource,
                        node="test",
                        created_at=now,
                        last_active_at=now,
                    )
                    .returning(live_connections.c.id)
                )
            ).scalar_one()
            sessions.append(session_id)
            await tx.execute(
                insert(room_occupants).values(
                    room_id=room_id, nickname=nick, session_id=session_id, role=role
                )
            )
        await tx.execute(
            insert(room_messages),
            [
                {
                    "room_id": room_id,
                    "sender": f"{room}@conference.example.org/jane",
                    "recipient": f"{room}@conference.example.org",
                    "type": "groupchat",
                    "body": "hello",
                    "sent_at": now,
                    "suppressed": False,
                },
                {
                    "room_id": room_id,
                    "sender": f"{room}@conference.example.org/jane",
                    "recipient": None,
                    "type": "groupchat",
                    "body": "",
                    "sent_at": datetime(2024, 1, 1, 12, 0, 1, 250000, tzinfo=UTC),
                    "suppressed": False,
                },
                {
                    "room_id": room_id,
                    "sender": "x",
                    "recipient": None,
                    "type": "groupchat",
                    "body": "suppressed",
                    "sent_at": now,
                    "suppressed": True,
                },
            ],
        )
    yield room, jane
    async with services.deps.db.write() as tx:
        await tx.execute(delete(live_connections).where(live_connections.c.id.in_(sessions)))


def test_occupants_and_participants(
    client, live_room: tuple[str, str], server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    room, jane = live_room
    address = f"{room}@conference.example.org"
    assert client.rooms.get_room_occupants(room) == [
        {
            "jid": f"{address}/guest",
            "userAddress": "example.org/anon-7",
            "role": "visitor",
            "affiliation": "none",
        },
        {
            "jid": f"{address}/jane",
            "userAddress": f"{jane}@example.org/converse.js-1",
            "role": "participant",
            "affiliation": "member",
        },
    ]
    assert client.rooms.get_room_participants(room) == [
        {"jid": f"{address}/jane", "role": "participant", "affiliation": "member"}
    ]
    r = http.get(f"{server.api}/chatrooms/{room}/participants")
    assert r.text == (
        f"{XML_HEAD}<participants><participant><jid>{address}/jane</jid>"
        "<role>participant</role><affiliation>member</affiliation></participant></participants>"
    )


def test_chat_history(
    client, live_room: tuple[str, str], server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    room, _ = live_room
    address = f"{room}@conference.example.org"
    r = http.get(f"{server.api}/chatrooms/{room}/chathistory", headers=JSON)
    assert r.json() == {
        "message": [
            {
                "to": address,
                "from": f"{address}/jane",
                "type": "groupchat",
                "body": "hello",
                "delay_stamp": "2024-01-01T12:00:00.000Z",
            },
            {
                "from": f"{address}/jane",
                "type": "groupchat",
                "delay_stamp": "2024-01-01T12:00:01.250Z",
            },
        ]
    }
    history = client.rooms.get_room_message_history(room)
    assert [m["body"] for m in history if "body" in m] == ["hello"]
    assert all(isinstance(m["delay_stamp"], datetime) for m in history)
    r = http.get(f"{server.api}/chatrooms/{room}/chathistory")
    assert r.text.startswith(
        f"{XML_HEAD}<messages><message><to>{address}</to><from>{address}/jane</from>"
        "<type>groupchat</type><body>hello</body><delay_stamp>2024-01-01T12:00:00.000Z"
        "</delay_stamp></message>"
    )


def test_empty_room_has_empty_lists(client, server: RunningServer, http) -> None:  # type: ignore[no-untyped-def]
    room = unique("quiet")
    client.rooms.add_room(room, "Q", "")
    assert client.rooms.get_room_participants(room) == []
    assert client.rooms.get_room_occupants(room) == []
    assert client.rooms.get_room_message_history(room) == []
    for path, root in [
        ("participants", "participants"),
        ("occupants", "occupants"),
        ("chathistory", "messages"),
    ]:
        r = http.get(f"{server.api}/chatrooms/{room}/{path}")
        assert r.text == f"{XML_HEAD}<{root}/>"


# -- invitations ------------------------------------------------------------------------


async def test_invitations_are_recorded(
    client, services: Services, server: RunningServer, http: requests.Session
) -> None:  # type: ignore[no-untyped-def]
    room, group, carol = unique("inv"), unique("invgrp"), unique("carol")
    client.users.add_user(carol, "password-1")
    await _group(services, group, [carol])
    client.rooms.add_room(room, "Inv", "")
    address = f"{room}@conference"

    assert client.rooms.invite(room, "guest@other.net", reason="join us") is True
    assert client.rooms.bulk_invite(room, [group, "dave", "guest@other.net"]) is True
    summaries = await _audit_summaries(services)
    assert f"room.invited: {address} -> {carol}@example.org, dave@example.org, guest@other.net" in (
        summaries
    )
    assert f"room.invited: {address} -> guest@other.net" in summaries

    r = http.post(
        f"{server.api}/chatrooms/{room}/invite",
        data="<mucInvitation><reason>r</reason><jidsToInvite><jid>readme@x.org</jid>"
        "</jidsToInvite></mucInvitation>",
        headers={"Content-Type": "application/xml"},
    )
    assert r.status_code == 200 and r.content == b""  # the README's root is accepted
    assert f"room.invited: {address} -> readme@x.org" in await _audit_summaries(services)

    before = await _audit_summaries(services)
    r = http.post(f"{server.api}/chatrooms/{room}/invite/bad%20name", json={}, headers=JSON)
    assert r.status_code == 400
    r = http.post(
        f"{server.api}/chatrooms/{room}/invite/x@y.org",
        data=b"",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400  # the body is required
    assert await _audit_summaries(services) == before


async def test_send_invitations_invites_new_affiliates(
    services: Services, server: RunningServer, http: requests.Session
) -> None:
    room = unique("sendinv")
    host = server.api
    body = {"roomName": room, "members": ["m@x.org"], "outcasts": ["o@x.org"]}
    r = http.post(f"{host}/chatrooms", params={"sendinvitations": "true"}, json=body)
    assert r.status_code == 201
    assert not [s for s in await _audit_summaries(services) if room in s and "invited" in s]

    body["admins"] = ["a@x.org"]
    r = http.put(f"{host}/chatrooms/{room}", params={"sendInvitations": "True"}, json=body)
    assert r.status_code == 200
    invited = [s for s in await _audit_summaries(services) if room in s and "invited" in s]
    assert invited == [f"room.invited: {room}@conference -> a@x.org"]

    r = http.post(f"{host}/chatrooms/{room}/owners/boss@x.org?sendInvitations=true")
    assert r.status_code == 201
    assert f"room.invited: {room}@conference -> boss@x.org" in await _audit_summaries(services)


# -- scale ------------------------------------------------------------------------------


async def test_listing_costs_the_same_few_statements_for_any_number_of_rooms(
    services: Services,
) -> None:
    actor = await _actor(services)
    service = unique("scale")
    for i in range(40):
        spec = RoomSpec(
            f"r{i}",
            RoomSettings(public_room=True),
            Affiliations(jids={"admin": (f"a{i}@x.org",), "member": ("m@x.org",)}),
        )
        await services.rooms.save(actor, service, spec)
    db = services.deps.db
    engines = {
        getattr(e, "sync_engine", e) for e in (getattr(db, "read_engine", db.engine), db.engine)
    }
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        found = await services.rooms.search(
            actor, RoomFilter(listed_only=True), service_name=service, expand_groups=True
        )
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert found.total == 40 and len(found.rooms) == 40
    by_name = {room.name: room for room in found.rooms}
    assert by_name["r7"].affiliations.jids["admin"] == ("a7@x.org",)
    assert 0 < len(statements) <= 4, statements
