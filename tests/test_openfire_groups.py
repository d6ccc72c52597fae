"""Openfire `/groups` and `/users/{u}/groups`."""

from __future__ import annotations

import pytest
import requests
from openfire_restapi import exceptions as ofx

from tests.conftest import RunningServer, unique

JSON = {"Accept": "application/json"}


def test_group_lifecycle_with_official_client(client) -> None:  # type: ignore[no-untyped-def]
    name, admin, member = unique("Team "), unique("ga"), unique("gm")
    client.users.add_user(admin, "pw")
    client.users.add_user(member, "pw")
    assert (
        client.groups.add_group(name, "The team", admins=[admin], members=[member, "x@other.org"])
        is True
    )
    got = client.groups.get_group(name)
    assert got == {
        "name": name,
        "description": "The team",
        "admins": [f"{admin}@example.org"],
        "members": [f"{member}@example.org", "x@other.org"],
        "shared": False,
    }
    listed = client.groups.get_groups()[name]
    assert listed == {"name": name, "description": "The team", "shared": False}
    assert client.groups.update_group(name, "Changed", members=[admin]) is True
    got = client.groups.get_group(name)
    assert (got["description"], got["admins"], got["members"]) == (
        "Changed",
        [],
        [f"{admin}@example.org"],
    )
    with pytest.raises(ofx.GroupAlreadyExistsException):
        client.groups.add_group(name, "again")
    assert client.groups.delete_group(name) is True
    with pytest.raises(ofx.GroupNotFoundException):
        client.groups.get_group(name)


def test_group_xml_shapes_and_errors(server: RunningServer, http: requests.Session) -> None:
    name = unique("xmlgrp")
    body = (
        f"<group><name>{name}</name><description>d</description><admins/><members/>"
        "<isshared>true</isshared></group>"
    )
    r = http.post(f"{server.api}/groups", data=body, headers={"Content-Type": "application/xml"})
    assert r.status_code == 201
    r = http.get(f"{server.api}/groups/{name}")
    assert r.text == (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"<group><name>{name}</name><description>d</description><admins/><members/>"
        "<shared>false</shared></group>"
    )
    r = http.put(
        f"{server.api}/groups/{name}",
        json={"name": "other", "admins": [], "members": []},
        headers=JSON,
    )
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Could not update the group. The group name is different to the payload group name."
    )
    r = http.post(f"{server.api}/groups", json={"name": unique("nolists")}, headers=JSON)
    assert r.status_code == 400 and r.json()["resource"] == "admins"
    ghost = unique("ghostgrp")
    r = http.post(
        f"{server.api}/groups",
        json={"name": ghost, "admins": [], "members": ["nobody-here"]},
        headers=JSON,
    )
    assert r.status_code == 400 and r.json()["resource"] == "members"
    assert http.get(f"{server.api}/groups/{ghost}", headers=JSON).status_code == 404


def test_user_groups_and_rename(client, server: RunningServer, http: requests.Session) -> None:  # type: ignore[no-untyped-def]
    user, g1, g2 = unique("ug"), unique("g1-"), unique("g2-")
    client.users.add_user(user, "pw")
    assert client.users.add_user_groups(user, [g1, g2]) is True  # missing groups are created
    assert sorted(client.users.get_user_groups(user)) == sorted([g1, g2])
    r = http.get(f"{server.api}/users/{user}/groups")
    assert r.text.endswith(
        f"<groups><groupname>{g1}</groupname><groupname>{g2}</groupname></groups>"
    )
    renamed = unique("renamed")
    client.users.update_user(user, newusername=renamed)
    assert sorted(client.users.get_user_groups(renamed)) == sorted([g1, g2])
    assert f"{renamed}@example.org" in client.groups.get_group(g1)["members"]
    with pytest.raises(ofx.GroupNotFoundException):
        client.users.remove_user_groups(renamed, [g1, unique("missing")])
    assert sorted(client.users.get_user_groups(renamed)) == sorted([g1, g2])  # nothing changed
    assert client.users.remove_user_group(renamed, g1) is True
    assert client.users.get_user_groups(renamed) == [g2]
    assert client.users.add_user_group(renamed, g1) is True
    assert client.users.remove_user_groups(renamed, [g1, g2]) is True
    assert client.users.get_user_groups(renamed) == []
    with pytest.raises(ofx.UserNotFoundException):
        client.users.get_user_groups(unique("nouser"))


def test_group_roles_in_rooms(client) -> None:  # type: ignore[no-untyped-def]
    group, room = unique("roomgrp"), unique("grproom")
    client.groups.add_group(group, "d")
    client.rooms.add_room(room, "Room", "desc")
    assert client.rooms.grant_group_role(room, group, "owners") is True
    assert client.rooms.get_room(room)["ownerGroups"] == [group]
