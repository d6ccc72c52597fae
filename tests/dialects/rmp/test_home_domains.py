"""A domain admin acts only on people whose home domain it administers, never on anyone
with equal or higher rights, whichever address (an alias's) names the person."""

from __future__ import annotations

from typing import Any

from tests.conftest import RunningServer, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, refused

PASSWORD = "pw-123456"


def _user(rmp: Rmp, email: str, is_admin: bool = False) -> str:
    made = rmp.post(
        "/users",
        json={"email": email, "password": PASSWORD, "realName": "Someone", "isAdmin": is_admin},
    )
    assert made.status_code == 201, made.text
    return email.partition("@")[0]


def _alias(server: RunningServer) -> str:
    name = f"{unique('other')}.test"
    made = admin(server).post("/domains", json={"domain": name, "type": "primary"})
    assert made.status_code == 201, made.text
    return name


def _detail(server: RunningServer, username: str) -> dict[str, Any]:
    found = admin(server).get(f"/users/{username}@{DOMAIN}")
    assert found.status_code == 200, found.text
    return found.json()["user"]  # type: ignore[no-any-return]


def _untouchable(server: RunningServer, caller: Rmp, username: str, via: str) -> None:
    """Every change of the person through `via` is a 403 and changes nothing."""
    before = _detail(server, username)
    address = f"{username}@{via}"
    refused(caller.post(f"/users/{address}/password", json={"newPassword": "taken-over"}), 403)
    refused(caller.put(f"/users/{address}", json={"realName": "Renamed"}), 403)
    refused(caller.put(f"/users/{address}", json={"password": "taken-over"}), 403)
    refused(caller.delete(f"/users/{address}"), 403)
    assert _detail(server, username) == before
    email = f"{username}@{DOMAIN}"
    wrong = Rmp(server).post("/auth/login", json={"email": email, "password": "taken-over"})
    refused(wrong, 401)
    Rmp(server).login(email, PASSWORD)


def test_an_alias_admin_cannot_take_over_the_primary_domains_admin(
    server: RunningServer,
) -> None:
    alias = _alias(server)
    rmp = admin(server)
    mallory = _user(rmp, f"{unique('mallory')}@{alias}", is_admin=True)
    erin = _user(rmp, f"{unique('erin')}@{DOMAIN}", is_admin=True)
    bob = _user(rmp, f"{unique('bob')}@{DOMAIN}")
    caller = Rmp(server).login(f"{mallory}@{DOMAIN}", PASSWORD)
    for victim in (erin, bob):  # another home domain, whatever address names them
        _untouchable(server, caller, victim, alias)
        _untouchable(server, caller, victim, DOMAIN)


def test_equal_rights_are_out_of_reach_and_lower_ones_within(server: RunningServer) -> None:
    alias = _alias(server)
    rmp = admin(server)
    mallory = _user(rmp, f"{unique('mallory')}@{alias}", is_admin=True)
    peer = _user(rmp, f"{unique('peer')}@{alias}", is_admin=True)
    carol = _user(rmp, f"{unique('carol')}@{alias}")
    caller = Rmp(server).login(f"{mallory}@{DOMAIN}", PASSWORD)
    _untouchable(server, caller, peer, alias)
    reset = caller.post(f"/users/{carol}@{alias}/password", json={"newPassword": "new-pw-1"})
    assert reset.status_code == 200, reset.text
    renamed = caller.put(f"/users/{carol}@{DOMAIN}", json={"realName": "Carol"})
    assert renamed.status_code == 200, renamed.text
    Rmp(server).login(f"{carol}@{DOMAIN}", "new-pw-1")
    # The primary domain's admin does not administer the alias domain's people either.
    erin = _user(rmp, f"{unique('erin')}@{DOMAIN}", is_admin=True)
    _untouchable(server, Rmp(server).login(f"{erin}@{DOMAIN}", PASSWORD), mallory, alias)
    assert caller.delete(f"/users/{carol}@{alias}").status_code == 200


def test_people_of_the_home_domain_are_the_domain_admins(server: RunningServer) -> None:
    rmp = admin(server)
    erin = _user(rmp, f"{unique('erin')}@{DOMAIN}", is_admin=True)
    alias = _alias(server)
    bob = _user(rmp, f"{unique('bob')}@{DOMAIN}")
    caller = Rmp(server).login(f"{erin}@{DOMAIN}", PASSWORD)
    # bob's home is the primary domain, whichever address names him.
    assert caller.put(f"/users/{bob}@{alias}", json={"realName": "Bob"}).status_code == 200
    assert _detail(server, bob)["realName"] == "Bob"
