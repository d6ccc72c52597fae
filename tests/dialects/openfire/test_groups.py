"""Openfire `/groups` and `/users/{u}/groups`, through the official client and raw HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from openfire_restapi import exceptions as ofx

from tests.conftest import RunningServer, unique
from townhall.domain.errors import Invalid, NotFound
from townhall.domain.events import DomainEvent
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.groups import GroupSpec
from townhall.services.people import NewPerson, PersonChanges
from townhall.store import audit

JSON = {"Accept": "application/json"}
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
POST_JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def _group(server: RunningServer, http: requests.Session, name: str) -> requests.Response:
    return http.get(f"{server.api}/groups/{name}", headers=JSON)


def _error(r: requests.Response) -> tuple[int, str, str, str]:
    body = r.json()
    return r.status_code, body["exception"], body["message"], body["resource"]


# -- /groups ---------------------------------------------------------------------------


def test_group_lifecycle_with_official_client(client) -> None:  # type: ignore[no-untyped-def]
    name, admin, member = unique("Team "), unique("ga"), unique("gm")
    client.users.add_user(admin, "password-1")
    client.users.add_user(member, "password-1")
    assert (
        client.groups.add_group(name, "The team", admins=[admin], members=[member, "x@other.org"])
        is True
    )
    assert client.groups.get_group(name) == {
        "name": name,
        "description": "The team",
        "admins": [f"{admin}@example.org"],
        "members": [f"{member}@example.org", "x@other.org"],
        "shared": False,
    }
    assert client.groups.get_groups()[name] == {
        "name": name,
        "description": "The team",
        "shared": False,
    }
    # PUT replaces both lists wholesale: the client sends [] for admins here.
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
    with pytest.raises(ofx.GroupNotFoundException):
        client.groups.delete_group(name)
    with pytest.raises(ofx.GroupNotFoundException):
        client.groups.update_group(name, "gone")


def test_group_wire_shapes(server: RunningServer, http: requests.Session) -> None:
    name, user = unique("xmlgrp"), unique("xu")
    http.post(
        f"{server.api}/users", json={"username": user, "password": "password-1"}, headers=JSON
    )
    body = (
        f"<group><name>{name}</name><description>d</description><admins/>"
        f"<members><member>{user}</member><member>Foo@Other.ORG/res</member></members>"
        "<isshared>true</isshared></group>"
    )
    r = http.post(f"{server.api}/groups", data=body, headers={"Content-Type": "application/xml"})
    assert (r.status_code, r.content, "content-type" in r.headers) == (201, b"", False)
    # <isshared> from the README is an unknown element: ignored, so not shared.
    r = http.get(f"{server.api}/groups/{name}")
    assert r.headers["content-type"] == "application/xml"
    assert r.text == (
        f"{XML_HEAD}<group><name>{name}</name><description>d</description><admins/>"
        f"<members><member>{user}@example.org</member><member>foo@other.org</member></members>"
        "<shared>false</shared></group>"
    )
    assert _group(server, http, name).text == (
        f'{{"name":"{name}","description":"d","admins":[],'
        f'"members":["{user}@example.org","foo@other.org"],"shared":false}}'
    )
    # The list leaves the member lists out and never computes `shared`.
    shared = unique("sharedgrp")
    r = http.post(
        f"{server.api}/groups",
        json={"name": shared, "admins": [user], "members": [], "shared": True},
        headers=JSON,
    )
    assert r.status_code == 201
    assert _group(server, http, shared).json() == {
        "name": shared,
        "admins": [f"{user}@example.org"],
        "members": [],
        "shared": True,
    }
    listed = http.get(f"{server.api}/groups", headers=JSON).json()["groups"]
    assert {"name": shared, "shared": False} in listed
    assert {"name": name, "description": "d", "shared": False} in listed
    xml = http.get(f"{server.api}/groups").text
    assert xml.startswith(f"{XML_HEAD}<groups><group>")
    assert f"<group><name>{shared}</name><shared>false</shared></group>" in xml
    assert f"<group><name>{name}</name><description>d</description><shared>false</shared>" in xml


def test_group_paging_and_case_sensitive_names(
    server: RunningServer, http: requests.Session
) -> None:
    lower = unique("casegrp")
    upper = lower.upper()
    for name in (lower, upper):
        r = http.post(
            f"{server.api}/groups", json={"name": name, "admins": [], "members": []}, headers=JSON
        )
        assert r.status_code == 201
    assert _group(server, http, upper).json()["name"] == upper
    assert _group(server, http, lower).json()["name"] == lower
    everything = http.get(f"{server.api}/groups", headers=JSON)
    total = int(everything.headers["X-Total-Count"])
    assert total == len(everything.json()["groups"]) >= 2
    page = http.get(f"{server.api}/groups", params={"start": 1, "limit": 1}, headers=JSON)
    assert page.headers["X-Total-Count"] == str(total)
    assert page.json()["groups"] == everything.json()["groups"][1:2]
    r = http.get(f"{server.api}/groups", params={"limit": "x"}, headers=JSON)
    assert _error(r) == (400, "IllegalArgumentException", "limit must be a whole number", "limit")


def test_group_errors_store_nothing(server: RunningServer, http: requests.Session) -> None:
    name = unique("errgrp")
    # Both lists are required: a 400 naming the missing one (the plugin fails with a 500).
    for missing in ("admins", "members"):
        body: dict[str, Any] = {"name": name, "admins": [], "members": []}
        del body[missing]
        r = http.post(f"{server.api}/groups", json=body, headers=JSON)
        assert r.status_code == 400
        assert r.json()["exception"] == "IllegalArgumentException"
        assert r.json()["resource"] == missing
    assert _group(server, http, name).status_code == 404
    r = http.post(f"{server.api}/groups", json={"admins": [], "members": []}, headers=JSON)
    assert _error(r) == (400, "IllegalArgumentException", "Could not create new group", "groups")
    r = http.post(
        f"{server.api}/groups",
        json={"name": name, "admins": [], "members": ["ok", "not valid"]},
        headers=JSON,
    )
    assert _error(r)[:3] == (
        400,
        "IllegalArgumentException",
        "Cannot parse a member value as a JID: not valid",
    )
    r = http.post(
        f"{server.api}/groups",
        json={"name": name, "admins": ["@other.org"], "members": []},
        headers=JSON,
    )
    assert r.json()["message"] == "Cannot parse a admin value as a JID: @other.org"
    assert _group(server, http, name).status_code == 404
    r = http.post(
        f"{server.api}/groups", json={"name": "g" * 201, "admins": [], "members": []}, headers=JSON
    )
    assert _error(r) == (409, "GroupAlreadyExistsException", "Could not create a group", "g" * 201)
    r = http.post(
        f"{server.api}/groups", json={"name": name, "admins": [], "members": []}, headers=JSON
    )
    assert r.status_code == 201
    r = http.post(
        f"{server.api}/groups", json={"name": name, "admins": [], "members": []}, headers=JSON
    )
    assert _error(r) == (409, "GroupAlreadyExistsException", "Could not create a group", name)
    # The plugin creates before it reads the lists: a duplicate wins over a bad member.
    r = http.post(
        f"{server.api}/groups", json={"name": name, "admins": [], "members": ["a b"]}, headers=JSON
    )
    assert _error(r) == (409, "GroupAlreadyExistsException", "Could not create a group", name)
    assert _group(server, http, name).json() == {
        "name": name,
        "admins": [],
        "members": [],
        "shared": False,
    }
    r = http.get(f"{server.api}/groups/{unique('nogrp')}")
    assert r.headers["content-type"] == "application/xml"
    assert "<exception>GroupNotFoundException</exception><message>Could not find group" in r.text


def test_group_update_rules(server: RunningServer, http: requests.Session) -> None:
    name, user = unique("updgrp"), unique("upu")
    http.post(
        f"{server.api}/users", json={"username": user, "password": "password-1"}, headers=JSON
    )
    r = http.post(
        f"{server.api}/groups",
        json={"name": name, "description": "d", "admins": [user], "members": ["a@b.org"]},
        headers=JSON,
    )
    assert r.status_code == 201
    r = http.put(
        f"{server.api}/groups/{name}",
        json={"name": "other", "admins": [], "members": []},
        headers=JSON,
    )
    assert _error(r) == (
        400,
        "IllegalArgumentException",
        "Could not update the group. The group name is different to the payload group name.",
        f"{name} != other",
    )
    r = http.put(f"{server.api}/groups/{name}", json={"name": name, "admins": []}, headers=JSON)
    assert (r.status_code, r.json()["resource"]) == (400, "members")
    r = http.put(f"{server.api}/groups/{name}", json={"admins": [], "members": []}, headers=JSON)
    assert _error(r) == (400, "IllegalArgumentException", "Could not update new group", "groups")
    r = http.put(
        f"{server.api}/groups/{name}",
        json={"name": name, "admins": [], "members": ["a b"]},
        headers=JSON,
    )
    assert r.status_code == 400
    assert _group(server, http, name).json() == {  # nothing changed by the failures
        "name": name,
        "description": "d",
        "admins": [f"{user}@example.org"],
        "members": ["a@b.org"],
        "shared": False,
    }
    # Description and `shared` are overwritten, the lists replaced; an admin listed as a
    # member too stays an admin.
    r = http.put(
        f"{server.api}/groups/{name}",
        json={"name": name, "admins": [user], "members": [user, "c@d.org"], "shared": "true"},
        headers=JSON,
    )
    assert r.status_code == 200 and "content-type" not in r.headers
    assert _group(server, http, name).json() == {
        "name": name,
        "admins": [f"{user}@example.org"],
        "members": ["c@d.org"],
        "shared": True,
    }
    r = http.put(
        f"{server.api}/groups/{unique('nogrp')}",
        json={"name": "x", "admins": [], "members": []},
        headers=JSON,
    )
    assert r.status_code == 400  # the name check comes first, as in the plugin
    missing = unique("nogrp")
    r = http.put(
        f"{server.api}/groups/{missing}",
        json={"name": missing, "admins": [], "members": []},
        headers=JSON,
    )
    assert _error(r) == (404, "GroupNotFoundException", "Could not find group", missing)


def test_group_names_with_spaces_and_slashes(
    server: RunningServer, http: requests.Session, client: Any
) -> None:
    name = unique("a b/c ")
    assert client.groups.add_group(name, "odd") is True
    assert client.groups.get_group(name)["name"] == name
    assert client.groups.update_group(name, "still odd") is True
    assert client.groups.get_groups()[name]["description"] == "still odd"
    user = unique("slashu")
    client.users.add_user(user, "password-1")
    assert client.users.add_user_group(user, name) is True
    assert client.users.get_user_groups(user) == [name]
    assert client.users.remove_user_group(user, name) is True
    assert client.groups.delete_group(name) is True


# -- /users/{u}/groups -----------------------------------------------------------------


def test_user_groups_with_official_client(  # type: ignore[no-untyped-def]
    client, server: RunningServer, http: requests.Session
) -> None:
    user, g1, g2 = unique("ug"), unique("g1-"), unique("g2-")
    client.users.add_user(user, "password-1")
    assert client.users.get_user_groups(user) == []
    assert client.users.add_user_groups(user, [g1, g2]) is True  # missing groups are created
    assert sorted(client.users.get_user_groups(user)) == sorted([g1, g2])
    # An automatically created group has an empty description.
    assert client.groups.get_group(g1) == {
        "name": g1,
        "description": "",
        "admins": [],
        "members": [f"{user}@example.org"],
        "shared": False,
    }
    assert client.users.add_user_groups(user, [g1]) is True  # already in: harmless
    assert client.groups.get_group(g1)["members"] == [f"{user}@example.org"]
    with pytest.raises(ofx.GroupNotFoundException):
        client.users.remove_user_groups(user, [g1, unique("missing")])
    assert sorted(client.users.get_user_groups(user)) == sorted([g1, g2])  # nothing changed
    with pytest.raises(ofx.GroupNotFoundException):
        client.users.remove_user_group(user, unique("missing"))
    assert client.users.remove_user_group(user, g1) is True
    assert client.users.get_user_groups(user) == [g2]
    assert client.users.add_user_group(user, g1) is True
    assert client.users.remove_user_groups(user, [g1, g2]) is True
    assert client.users.get_user_groups(user) == []
    with pytest.raises(ofx.UserNotFoundException):
        client.users.get_user_groups(unique("nouser"))


def test_user_groups_wire(server: RunningServer, http: requests.Session) -> None:
    user, g1, g2 = unique("ugw"), unique("ga-"), unique("gb-")
    http.post(
        f"{server.api}/users", json={"username": user, "password": "password-1"}, headers=JSON
    )
    r = http.post(
        f"{server.api}/users/{user}/groups",
        data=f"<groups><groupname>{g1}</groupname><groupname>{g2}</groupname></groups>",
        headers={"Content-Type": "application/xml"},
    )
    assert (r.status_code, r.content, "content-type" in r.headers) == (201, b"", False)
    assert http.get(f"{server.api}/users/{user}/groups").text == (
        f"{XML_HEAD}<groups><groupname>{g1}</groupname><groupname>{g2}</groupname></groups>"
    )
    # `user@<local domain>` names the local user.
    r = http.get(f"{server.api}/users/{user}%40example.org/groups", headers=JSON)
    assert r.text == f'{{"groupnames":["{g1}","{g2}"]}}'
    r = http.delete(f"{server.api}/users/{user}/groups", json={"groupnames": [g1]}, headers=JSON)
    assert (r.status_code, r.content) == (200, b"")
    assert http.get(f"{server.api}/users/{user}/groups", headers=JSON).json() == {
        "groupnames": [g2]
    }
    # The plugin's 500, as a 400: the fuzz found it (tests/contracts/test_openfire.py).
    r = http.get(f"{server.api}/users/x%40other.org/groups", headers=JSON)
    assert _error(r) == (
        400,
        "GroupNotFoundException",
        "This service cannot be used for non-local users.",
        "x@other.org",
    )
    r = http.get(f"{server.api}/users/{unique('nouser')}/groups", headers=JSON)
    assert r.status_code == 404 and r.json()["message"] == "Could not get user"
    r = http.delete(
        f"{server.api}/users/{user}/groups", json={"groupnames": [unique("nog")]}, headers=JSON
    )
    assert r.status_code == 404 and r.json()["exception"] == "GroupNotFoundException"


def test_adding_jids_and_unknown_users_to_groups(
    server: RunningServer, http: requests.Session, client: Any
) -> None:
    """POST does not check the user: a JID or a name without an account is a member, and
    the account, once created, is that member."""
    group, later = unique("opengrp"), unique("later")
    assert client.users.add_user_group("friend@other.org", group) is True
    assert client.users.add_user_groups(later, [group]) is True
    assert client.groups.get_group(group)["members"] == [
        "friend@other.org",
        f"{later}@example.org",
    ]
    client.users.add_user(later, "password-1")
    assert client.users.get_user_groups(later) == [group]
    assert client.users.add_user_group(later, group) is True  # no second row
    assert client.groups.get_group(group)["members"] == [
        "friend@other.org",
        f"{later}@example.org",
    ]
    assert client.users.remove_user_group(later, group) is True
    assert client.users.remove_user_group("friend@other.org", group) is True
    assert client.groups.get_group(group)["members"] == []
    # A group body may name a user that does not exist yet, too.
    other = unique("othergrp")
    assert client.groups.add_group(other, "d", members=[unique("notyet")]) is True
    r = http.post(
        f"{server.api}/users/{unique('bad')}%20name/groups/{group}", headers=JSON
    )  # not a JID
    assert r.status_code == 400 and r.json()["exception"] == "IllegalArgumentException"


def test_removal_takes_admin_seats_and_rename_keeps_groups(
    client: Any, server: RunningServer, http: requests.Session
) -> None:
    user, group, plain = unique("adm"), unique("admgrp"), unique("plaingrp")
    client.users.add_user(user, "password-1")
    client.groups.add_group(group, "d", admins=[user])
    client.users.add_user_group(user, plain)
    assert client.users.get_user_groups(user) == sorted([group, plain])  # admins belong too
    renamed = unique("renamed")
    assert client.users.update_user(user, newusername=renamed) is True
    assert client.users.get_user_groups(renamed) == sorted([group, plain])
    assert client.groups.get_group(group)["admins"] == [f"{renamed}@example.org"]
    assert client.groups.get_group(plain)["members"] == [f"{renamed}@example.org"]
    with pytest.raises(ofx.UserNotFoundException):
        client.users.get_user_groups(user)
    assert client.users.remove_user_group(renamed, group) is True
    assert client.users.get_user_groups(renamed) == [plain]
    assert client.groups.get_group(group)["admins"] == []


def test_pending_members_follow_the_account(client: Any) -> None:
    """A name added before its account exists becomes that account: a rename carries the
    membership along and a deletion ends it, as for members added later."""
    first, second, third = unique("pend"), unique("pend"), unique("pend")
    g1, g2 = unique("pendg"), unique("pendg")
    client.users.add_user_group(first, g1)
    client.users.add_user(first, "password-1")
    # Waiting for the second name: a member seat in g1, an admin seat in g2.
    client.users.add_user_group(second, g1)
    client.groups.add_group(g2, "d", admins=[second])
    client.users.update_user(first, newusername=second)
    assert client.users.get_user_groups(second) == sorted([g1, g2])
    assert client.groups.get_group(g1)["members"] == [f"{second}@example.org"]
    assert client.groups.get_group(g2)["admins"] == [f"{second}@example.org"]
    client.users.update_user(second, newusername=third)
    assert client.users.get_user_groups(third) == sorted([g1, g2])
    assert client.groups.get_group(g1)["members"] == [f"{third}@example.org"]
    assert client.groups.get_group(g2)["admins"] == [f"{third}@example.org"]
    client.users.delete_user(third)
    assert client.groups.get_group(g1)["members"] == []
    assert client.groups.get_group(g2)["admins"] == []


async def test_pending_members_join_a_symphony_account(services: Services) -> None:
    actor = Principal.system(await services.tenants.first(), "tester")
    name, renamed, group = unique("sym"), unique("sym"), unique("symgrp")
    await services.groups.add_user_to_groups(actor, name, [group])
    await services.groups.add_user_to_groups(actor, renamed, [group])
    person = await services.people.create(actor, NewPerson(name, email=f"{name}@mail.test"))
    await services.people.update(actor, person.id, PersonChanges(username=renamed))
    assert (await services.groups.get(actor, group)).members == (f"{renamed}@example.org",)
    await services.people.update(actor, renamed, PersonChanges(username=name))
    assert await services.groups.user_groups(actor, name) == [group]
    assert (await services.groups.get(actor, group)).members == (f"{name}@example.org",)


def test_group_owns_a_room(server: RunningServer, http: requests.Session, client: Any) -> None:
    group, room, member = unique("roomgrp"), unique("grproom"), unique("roomer")
    client.users.add_user(member, "password-1")
    client.groups.add_group(group, "d", members=[member])
    client.rooms.add_room(room, "Room", "desc")
    r = http.post(f"{server.api}/chatrooms/{room}/owners/group/{group}", headers=JSON)
    assert r.status_code == 201
    assert client.rooms.get_room(room)["ownerGroups"] == [group]
    owners = http.get(
        f"{server.api}/chatrooms/{room}", params={"expandGroups": "true"}, headers=JSON
    ).json()["owners"]
    assert f"{member}@example.org" in owners


# -- the service, as the legacy /userservice and people use it -------------------------


async def test_service_user_group_sets(services: Services) -> None:
    actor = Principal.system(await services.tenants.first(), "tester")
    user, keep, drop, fresh = unique("svcu"), unique("keep"), unique("drop"), unique("fresh")
    await services.people.create(actor, NewPerson(user, "password-1"))
    await services.groups.add_user_to_groups(actor, user, [keep, drop])
    await services.people.update(actor, user, PersonChanges(groups=[keep, fresh]))
    assert await services.groups.user_groups(actor, user) == sorted([keep, fresh])
    assert {keep, drop, fresh} <= set(await services.groups.list_names(actor))
    await services.people.update(actor, user, PersonChanges(groups=[drop]))
    assert await services.groups.user_groups(actor, user) == [drop]
    await services.people.update(actor, user, PersonChanges(groups=[]))
    assert await services.groups.user_groups(actor, user) == []
    with pytest.raises(Invalid) as caught:
        await services.groups.add_user_to_groups(actor, user, [" "])
    assert (caught.value.field, caught.value.reason) == ("group_name", "must not be empty")


async def test_service_group_lookups(services: Services) -> None:
    actor = Principal.system(await services.tenants.first(), "tester")
    name, user = unique("Lookup "), unique("lku")
    await services.people.create(actor, NewPerson(user, "password-1"))
    assert not await services.groups.exists(actor, name)
    await services.groups.create(
        actor, GroupSpec(name, None, False, [user], [user, "Pal@Other.org", unique("pending")])
    )
    assert await services.groups.exists(actor, name)
    assert not await services.groups.exists(actor, name.lower())  # names are case-sensitive
    group = await services.groups.get(actor, name)
    assert group.admins == (f"{user}@example.org",)
    assert group.members[0] == "pal@other.org" and group.members[1].endswith("@example.org")
    with pytest.raises(NotFound):
        await services.groups.get(actor, unique("nogroup"))
    with pytest.raises(Invalid) as caught:
        await services.groups.create(actor, GroupSpec(unique("g"), None, False, [], ["a b"]))
    assert (caught.value.field, caught.value.kind, caught.value.value) == ("members", "jid", "a b")


async def test_group_changes_that_change_nothing_record_nothing(services: Services) -> None:
    actor = Principal.system(await services.tenants.first(), "tester")
    name, user = unique("same"), unique("sameu")
    await services.people.create(actor, NewPerson(user, "password-1"))
    await services.groups.create(actor, GroupSpec(name, "d", False, [user], ["pal@other.org"]))
    await services.groups.add_user_to_groups(actor, user, [name])
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    before = await _audit_count(services, actor)
    await services.groups.update(actor, GroupSpec(name, "d", False, [user], ["Pal@Other.org"]))
    await services.groups.add_user_to_groups(actor, user, [name])  # an admin is a member
    await services.groups.remove_user_from_groups(actor, unique("stranger"), [name])
    await services.people.update(actor, user, PersonChanges(groups=[name]))
    assert await _audit_count(services, actor) == before and heard == []
    changed = GroupSpec(name, "changed", False, [user], ["pal@other.org"])
    await services.groups.update(actor, changed)
    await services.groups.remove_user_from_groups(actor, "pal@other.org", [name])
    assert [e.topic for e in heard] == ["group.updated", "group.members.removed"]
    assert await _audit_count(services, actor) == before + 2


async def _audit_count(services: Services, actor: Principal) -> int:
    async with services.deps.db.read() as tx:
        return await audit.count(tx, actor.tenant_id)
