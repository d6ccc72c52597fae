"""Passwords, whichever API sets them: a minimum length, a change that ends the
person's other sessions, and RMP's `requireChange` enforced until it is done."""

from __future__ import annotations

import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, person, refused
from tests.helpers.symphony import Bot, key_pair
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import PersonChanges

JSON = {"Accept": "application/json", "Content-Type": "application/json"}
SHORT = "seven77"
POLICY = "must be at least 8 characters"


def test_openfire_refuses_a_short_password_naming_it(server: RunningServer) -> None:
    basic = ("admin", ADMIN_PASSWORD)
    name = unique("short")
    users = f"{server.api}/users"
    made = requests.post(
        users, json={"username": name, "password": SHORT}, auth=basic, headers=JSON
    )
    assert made.status_code == 400, made.text
    assert made.json()["resource"] == "password" and POLICY in made.json()["message"]
    assert requests.get(f"{users}/{name}", auth=basic, headers=JSON).status_code == 404
    good = {"username": name, "password": "long-enough"}
    assert requests.post(users, json=good, auth=basic, headers=JSON).status_code == 201
    changed = requests.put(
        f"{users}/{name}", json={"username": name, "password": SHORT}, auth=basic, headers=JSON
    )
    assert changed.status_code == 400 and changed.json()["resource"] == "password"


def test_rmp_refuses_a_short_password_naming_the_field(server: RunningServer) -> None:
    rmp = admin(server)
    email = f"{unique('short')}@{DOMAIN}"
    refused(
        rmp.post("/users", json={"email": email, "password": SHORT, "realName": "S"}),
        400,
        "password",
    )
    assert rmp.get(f"/users/{email}").status_code == 404
    _, other = person(server)
    refused(rmp.put(f"/users/{other}", json={"password": SHORT}), 400, "password")
    refused(rmp.post(f"/users/{other}/password", json={"newPassword": SHORT}), 400, "newPassword")
    Rmp(server).login(other, "pw-123456")  # unchanged


async def test_a_password_change_ends_the_persons_other_sessions(
    server: RunningServer, services: Services
) -> None:
    first, email = person(server, is_admin=True)  # a domain admin may change their own
    username = email.split("@")[0]
    second = Rmp(server).login(email, "pw-123456")
    private, public = key_pair()
    actor = Principal.system(await services.tenants.first(), "test")
    await services.people.update(actor, username, PersonChanges(keys={"current": (public, None)}))
    bot = Bot(username, 0, private, public)
    signed = requests.post(f"{server.url}/login/pubkey/authenticate", json={"token": bot.jwt()})
    assert signed.status_code == 200, signed.text
    symphony = {"sessionToken": signed.json()["token"]}
    info = f"{server.url}/pod/v1/sessioninfo"
    assert requests.get(info, headers=symphony).status_code == 200
    changed = first.post(f"/users/{email}/password", json={"newPassword": "brand-new-password"})
    assert changed.status_code == 200, changed.text
    refused(second.get("/auth/admin"), 401)
    assert requests.get(info, headers=symphony).status_code == 401
    assert first.get("/auth/admin").status_code == 200  # the session that changed it stays
    Rmp(server).login(email, "brand-new-password")


def test_an_admin_changing_a_password_ends_all_of_that_persons_sessions(
    server: RunningServer,
) -> None:
    holder, email = person(server)
    username = email.split("@")[0]
    r = requests.put(
        f"{server.api}/users/{username}",
        json={"username": username, "password": "set-by-openfire"},
        auth=("admin", ADMIN_PASSWORD),
        headers=JSON,
    )
    assert r.status_code == 200, r.text
    refused(holder.get("/auth/admin"), 401)


def test_require_change_holds_the_person_to_the_password_route(server: RunningServer) -> None:
    rmp = admin(server)
    _, email = person(server)
    reset = rmp.post(
        f"/users/{email}/password", json={"newPassword": "temporary-pw", "requireChange": True}
    )
    assert reset.status_code == 200 and reset.json()["requireChange"] is True
    told = Rmp(server).login(email, "temporary-pw")
    assert told.login_answer["requireChange"] is True and told.login_answer["token"]
    for path in ("/auth/admin", "/bookings", f"/users/{email}", "/resources"):
        error = refused(told.get(path), 403)
        assert "password" in error["message"] and error["code"] == "PASSWORD_CHANGE_REQUIRED"
    _, someone = person(server)
    refused(told.post(f"/users/{someone}/password", json={"newPassword": "not-yours-1"}), 403)
    done = told.post(f"/users/{email}/password", json={"newPassword": "chosen-by-me"})
    assert done.status_code == 200, done.text
    assert told.get("/auth/admin").status_code == 200  # the same token, now let through
    again = Rmp(server).login(email, "chosen-by-me")
    assert again.login_answer["requireChange"] is False
    # Without the flag a plain user cannot reset their own password here.
    refused(again.post(f"/users/{email}/password", json={"newPassword": "another-one"}), 403)
