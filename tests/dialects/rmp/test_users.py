"""RMP users: the same people the Openfire API manages, against a running server."""

from __future__ import annotations

import requests

from tests.conftest import RunningServer, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, create_resource, person, refused, resource_type

JSON = {"Accept": "application/json"}


def test_created_here_logs_in_there_and_back(server: RunningServer, http: requests.Session) -> None:
    rmp = admin(server)
    email = f"{unique('ann')}@{DOMAIN}"
    created = rmp.post("/users", json={"email": email, "password": "s3cret-1", "realName": "Ann"})
    assert created.status_code == 201, created.text
    assert created.json()["user"] == {
        "email": email,
        "realName": "Ann",
        "type": "user",
        "hasCalendar": True,
        "isAdmin": False,
    }
    username = email.split("@")[0]
    seen = http.get(f"{server.api}/users/{username}", headers=JSON)
    assert seen.status_code == 200 and seen.json()["name"] == "Ann"
    other = unique("bob")
    made = http.post(
        f"{server.api}/users",
        json={"username": other, "password": "from-openfire", "name": "Bob"},
        headers=JSON,
    )
    assert made.status_code == 201, made.text
    bob = Rmp(server).login(f"{other}@{DOMAIN}", "from-openfire")
    assert bob.login_answer["user"]["realName"] == "Bob"


def test_list_search_and_detail(server: RunningServer) -> None:
    rmp = admin(server)
    name = unique("carol")
    rmp.post(
        "/users",
        json={"email": f"{name}@{DOMAIN}", "password": "password-1", "realName": "Carol Q"},
    )
    found = rmp.get("/users", params={"search": name}).json()
    assert found["success"] is True and found["total"] == 1
    assert [u["email"] for u in found["users"]] == [f"{name}@{DOMAIN}"]
    by_name = rmp.get("/users", params={"search": "carol q", "limit": 500}).json()
    assert f"{name}@{DOMAIN}" in [u["email"] for u in by_name["users"]]
    detail = rmp.get(f"/users/{name}@{DOMAIN}").json()["user"]
    assert detail["settings"] == {
        "timezone": "UTC",
        "language": "en-US",
        "dateFormat": "YYYY-MM-DD",
    }
    assert set(detail["quotas"]) == {"mailbox", "fileStorage"}
    refused(rmp.get("/users", params={"limit": 501}), 400, "limit")
    refused(rmp.get("/users", params={"domain": "unknown.test"}), 404)
    refused(rmp.get(f"/users/nobody-{name}@{DOMAIN}"), 404)


def test_people_see_themselves_but_not_others_and_cannot_administer(
    server: RunningServer,
) -> None:
    rmp, email = person(server)
    assert rmp.get(f"/users/{email}").status_code == 200
    refused(rmp.get(f"/users/admin@{DOMAIN}"), 403)
    new = {"email": f"{unique('x')}@{DOMAIN}", "password": "password-1", "realName": "X"}
    refused(rmp.post("/users", json=new), 403)
    refused(rmp.delete(f"/users/{email}"), 403)
    refused(rmp.post(f"/users/{email}/password", json={"newPassword": "password-n"}), 403)
    refused(rmp.put(f"/users/{email}", json={"isAdmin": True}), 403)
    assert rmp.get("/users").status_code == 200  # the directory is open to everyone


def test_update_settings_admin_flag_and_password_reset(server: RunningServer) -> None:
    rmp = admin(server)
    _, email = person(server)
    changed = rmp.put(
        f"/users/{email}",
        json={"realName": "Renamed", "isAdmin": True, "settings": {"timezone": "Europe/Berlin"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["user"]["isAdmin"] is True
    detail = rmp.get(f"/users/{email}").json()["user"]
    assert detail["realName"] == "Renamed" and detail["settings"]["timezone"] == "Europe/Berlin"
    reset = rmp.post(
        f"/users/{email}/password", json={"newPassword": "new-password", "requireChange": True}
    )
    assert reset.status_code == 200 and reset.json()["requireChange"] is True
    refused(Rmp(server).post("/auth/login", json={"email": email, "password": "pw-123456"}), 401)
    assert Rmp(server).login(email, "new-password").login_answer["user"]["realName"] == "Renamed"


def test_domain_admins_cannot_touch_server_admins(server: RunningServer) -> None:
    rmp, _ = person(server, is_admin=True)
    refused(rmp.post(f"/users/admin@{DOMAIN}/password", json={"newPassword": "password-mine"}), 403)
    refused(rmp.put(f"/users/admin@{DOMAIN}", json={"realName": "Pwned"}), 403)
    refused(rmp.delete(f"/users/admin@{DOMAIN}"), 403)
    _, other = person(server)
    assert rmp.put(f"/users/{other}", json={"realName": "Fine"}).status_code == 200


def test_bad_input_names_the_field_and_changes_nothing(server: RunningServer) -> None:
    rmp = admin(server)
    name = unique("dave")
    email = f"{name}@{DOMAIN}"
    refused(rmp.post("/users", json={"email": email, "password": "password-1"}), 400, "realName")
    refused(
        rmp.post("/users", json={"email": email, "password": "password-1", "realName": 3}),
        400,
        "realName",
    )
    bad = {"email": email, "password": "password-1", "realName": "D", "isAdmin": "yes"}
    refused(rmp.post("/users", json=bad), 400, "isAdmin")
    for address in ("dave@unknown.test", "not-an-address", f"{name}@resources.{DOMAIN}"):
        wrong = {**bad, "email": address, "isAdmin": False}
        refused(rmp.post("/users", json=wrong), 400, "email")
    assert rmp.get("/users", params={"search": name}).json()["total"] == 0
    made = rmp.post("/users", json={**bad, "isAdmin": False})
    assert made.status_code == 201
    refused(rmp.post("/users", json={**bad, "isAdmin": False}), 409)
    refused(rmp.put(f"/users/{email}", json={"settings": {"colour": "red"}}), 400, "colour")
    refused(rmp.post(f"/users/{email}/password", json={"newPassword": ""}), 400, "newPassword")
    assert rmp.get(f"/users/{email}").json()["user"]["settings"]["timezone"] == "UTC"


def test_delete_removes_the_account_everywhere(
    server: RunningServer, http: requests.Session
) -> None:
    rmp = admin(server)
    _, email = person(server)
    gone = rmp.delete(f"/users/{email}", params={"deleteData": "true"})
    assert gone.status_code == 200, gone.text
    assert http.get(f"{server.api}/users/{email.split('@')[0]}", headers=JSON).status_code == 404
    refused(rmp.delete(f"/users/{email}"), 404)
    refused(rmp.delete(f"/users/admin@{DOMAIN}", params={"deleteData": "maybe"}), 400, "deleteData")


def test_include_resources_lists_resource_accounts_beside_people(server: RunningServer) -> None:
    rmp = admin(server)
    tag = unique("lobby")
    rmp.post("/users", json={"email": f"{tag}@{DOMAIN}", "password": "password-1", "realName": tag})
    room = create_resource(rmp, resource_type(rmp), f"{tag} room")
    people_only = rmp.get("/users", params={"search": tag}).json()
    assert [u["type"] for u in people_only["users"]] == ["user"] and people_only["total"] == 1
    both = rmp.get("/users", params={"search": tag, "includeResources": "true"}).json()
    assert both["total"] == 2
    assert both["users"][1] == {
        "email": room["id"],
        "realName": f"{tag} room",
        "type": "resource",
        "hasCalendar": True,
        "isAdmin": False,
    }
    assert (
        len(
            rmp.get("/users", params={"search": tag, "includeResources": "1", "limit": 1}).json()[
                "users"
            ]
        )
        == 1
    )
    refused(rmp.get("/users", params={"includeResources": "maybe"}), 400, "includeResources")


def test_every_person_is_reached_page_by_page_then_the_resources(server: RunningServer) -> None:
    rmp = admin(server)
    tag = unique("paged")
    made = [f"{tag}-{n}@{DOMAIN}" for n in range(5)]
    for email in made:
        assert rmp.post(
            "/users", json={"email": email, "password": "password-1", "realName": tag}
        ).ok
    room = create_resource(rmp, resource_type(rmp), f"{tag} room")
    seen: list[str] = []
    for number in (1, 2, 3):
        answer = rmp.get(
            "/users", params={"search": tag, "limit": 2, "page": number, "includeResources": 1}
        ).json()
        assert (answer["total"], answer["page"], answer["pages"]) == (6, number, 3)
        seen += [u["email"] for u in answer["users"]]
    assert sorted(seen[:5]) == sorted(made) and seen[5] == room["id"]
    refused(rmp.get("/users", params={"search": tag, "limit": 2, "page": 4}), 400, "page")
    refused(rmp.get("/users", params={"page": 0}), 400, "page")
