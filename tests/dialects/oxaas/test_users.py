"""OX users: provisioning and mail attributes of the one person, at both prefixes."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import RunningServer
from tests.helpers.ox import Ox, context_admin, new_person, refused
from tests.helpers.symphony import Bot, session_token

PREFIXES = ["/oxaas/v1", "/api/oxaas/v1"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_single_valued_attributes_round_trip(server: RunningServer, prefix: str) -> None:
    ox = context_admin(server, prefix)
    uid, name = new_person(server)
    user = f"/admin/contexts/1/users/{uid}"
    assert ox.get(f"{user}/msisdn").json() == {"msisdn": None}
    changed = ox.put(f"{user}/msisdn", json={"msisdn": "+49.12345.6789"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "context-id": 1,
        "user-id": uid,
        "uidname": name,
        "msisdn": "+49.12345.6789",
    }
    assert (
        ox.put(f"{user}/oxdeliverystatus", json={"oxdeliverystatus": ["OXAAS"]}).json()[
            "oxdeliverystatus"
        ]
        == "OXAAS"
    )
    assert ox.get(f"{user}/msisdn").json() == {"msisdn": "+49.12345.6789"}
    removed = ox.delete(f"{user}/msisdn")
    assert removed.status_code == 200 and "msisdn" not in removed.json()
    refused(ox.put(f"{user}/msisdn", json={"msisdn": ""}), 400, "msisdn")
    refused(ox.put(f"{user}/oxlegacyref", json={}), 400, "oxlegacyref")


async def test_msisdn_is_the_mobile_number_symphony_shows(
    server: RunningServer, admin_bot: Bot
) -> None:
    ox = context_admin(server)
    uid, _ = new_person(server)
    assert ox.put(f"/admin/contexts/1/users/{uid}/msisdn", json={"msisdn": "+4917012345"}).ok
    token = session_token(server, admin_bot)
    shown = requests.get(
        f"{server.url}/pod/v2/admin/user/{uid}", headers={"sessionToken": token}
    ).json()
    assert shown["userAttributes"]["mobilePhoneNumber"] == "+4917012345"


def test_list_attributes_and_the_combined_change(server: RunningServer) -> None:
    ox = context_admin(server)
    uid, name = new_person(server)
    user = f"/admin/contexts/1/users/{uid}"
    refused(ox.put(f"{user}/classofservice", json={"classofservice": []}), 400, "classofservice")
    made = ox.put(
        f"{user}/classofservice", json={"classofservice": ["cloud_pim", "cloud_security"]}
    )
    assert made.json()["classofservice"] == ["cloud_pim", "cloud_security"]
    assert ox.get(f"{user}/classofservice").json() == {
        "classofservice": ["cloud_pim", "cloud_security"]
    }
    both = ox.post(user, json={"msisdn": "+1555", "custom": ["a1", "b2"]})
    assert both.status_code == 200, both.text
    assert both.json()["custom"] == ["a1", "b2"] and both.json()["msisdn"] == "+1555"
    cleared = ox.post(user, json={"msisdn": "", "custom": []})
    assert "msisdn" not in cleared.json() and "custom" not in cleared.json()
    refused(ox.post(user, json={"uidname": "x"}), 400, "uidname")
    listed = ox.get("/admin/contexts/1/users", params={"uids": name}).json()
    assert list(listed) == [name] and listed[name]["classofservice"] == [
        "cloud_pim",
        "cloud_security",
    ]


def test_mail_settings_and_the_admin_without_a_mailbox(server: RunningServer) -> None:
    ox = context_admin(server)
    uid, _ = new_person(server)
    user = f"/admin/contexts/1/users/{uid}"
    assert ox.put(f"{user}/spamlevel", json={"spamlevel": "high"}).json()["spamlevel"] == "high"
    refused(ox.put(f"{user}/spamlevel", json={"spamlevel": "extreme"}), 400, "spamlevel")
    assert ox.get(f"{user}/spamlevel").json() == {"spamlevel": "high"}
    assert ox.put(f"{user}/antivirus", json={"antivirus": True}).json()["antivirus"] is True
    refused(ox.put(f"{user}/antivirus", json={"antivirus": "yes"}), 400, "antivirus")
    assert ox.put(f"{user}/oxantiphishing", json={"oxantiphishing": "block"}).ok
    assert "oxantiphishing" not in ox.delete(f"{user}/oxantiphishing").json()
    assert ox.get(f"{user}/quotamode").json() == {"quotamode": None}
    admin_uid = ox.get("/admin/contexts/1/users", params={"uids": "admin"}).json()["admin"][
        "user-id"
    ]
    refused(ox.get(f"/admin/contexts/1/users/{admin_uid}/spamlevel"), 400, "no mailbox")


def test_uidname_renames_the_person_everywhere(
    server: RunningServer, http: requests.Session
) -> None:
    ox = context_admin(server)
    uid, name = new_person(server)
    renamed = ox.put(f"/admin/contexts/1/users/{uid}/uidname", json={"uidname": name + "new"})
    assert renamed.status_code == 200, renamed.text
    assert ox.get(f"/admin/contexts/1/users/{uid}/uidname").json() == {"uidname": name + "new"}
    assert http.get(f"{server.api}/users/{name}new").status_code == 200


def test_ids_contexts_and_credentials(server: RunningServer) -> None:
    ox = context_admin(server)
    refused(ox.get("/admin/contexts/x/users"), 400, "contextid")
    refused(ox.get("/admin/contexts/1/users/abc/msisdn"), 400, "userid")
    refused(ox.get("/admin/contexts/999999/users"), 404, "context")
    refused(ox.get("/admin/contexts/1/users/999999999/msisdn"), 404, "user")
    anonymous = requests.get(f"{server.url}/oxaas/v1/admin/contexts/1/users")
    refused(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="oxaas"'
    refused(Ox(server, ("admin", "")).get("/admin/contexts/1/users"), 401)
    refused(Ox(server, ("admin", "wrong-password")).get("/admin/contexts/1/users"), 401)
    _, plain = new_person(server)
    refused(Ox(server, (plain, "pw-1234567")).get("/admin/contexts/1/users"), 401)
    assert context_admin(server).get("/admin/contexts/1/brand").json() == {"brandname": "default"}
