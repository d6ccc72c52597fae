"""One person, every API: people made through Openfire and RMP are OX users of the
tenant's context, OX's forward and list changes are in the audit trail Openfire reads,
and a person deleted through Openfire is gone from OX."""

from __future__ import annotations

import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.helpers import rmp
from tests.helpers.ox import context_admin, new_person, refused

JSON = {"Accept": "application/json"}


def _security_log(server: RunningServer, limit: int = 50) -> list[str]:
    """The newest summaries of the audit trail, read through Openfire's security log."""
    answer = requests.get(
        f"{server.api}/logs/security",
        params={"username": "admin", "limit": limit},
        headers=JSON,
        auth=("admin", ADMIN_PASSWORD),
    )
    assert answer.status_code == 200, answer.text
    return [log["summary"] for log in answer.json()["logs"]]


def test_people_made_through_openfire_and_rmp_are_ox_users_of_the_context(
    server: RunningServer,
) -> None:
    ox = context_admin(server)
    openfire_id, openfire_name = new_person(server)  # made through Openfire's API
    _, email = rmp.person(server)  # made through RMP
    rmp_name = email.partition("@")[0]
    listed = ox.get("/admin/contexts/1/users")
    assert listed.status_code == 200, listed.text
    users = listed.json()
    assert users[openfire_name]["user-id"] == openfire_id
    assert users[openfire_name]["context-id"] == 1
    assert users[rmp_name]["context-id"] == 1 and users[rmp_name]["uidname"] == rmp_name
    # The same numbers address them on OX's user routes.
    uid = users[rmp_name]["user-id"]
    shown = ox.get(f"/admin/contexts/1/users/{uid}/uidname")
    assert shown.json() == {"uidname": rmp_name}


def test_forward_and_list_changes_through_ox_are_audited(server: RunningServer) -> None:
    ox = context_admin(server)
    uid, name = new_person(server)
    alias = f"{unique('fw')}@example.org"
    made = ox.put(f"/admin/forwards/1/{alias}", json={"recipient": f"{name}@example.org"})
    assert made.status_code == 200, made.text
    listed = ox.put(f"/admin/contexts/1/users/{uid}/blacklist/spam{name}@bad.test")
    assert listed.status_code == 200, listed.text
    summaries = _security_log(server)
    assert any(s.startswith("mail.forward") and alias in s for s in summaries), summaries
    assert any(s.startswith("mail.sender_rule.added") and name in s for s in summaries), summaries
    assert ox.delete(f"/admin/forwards/1/{alias}").status_code == 200
    assert f"mail.forward.deleted: {alias}" in _security_log(server)


def test_a_person_deleted_through_openfire_is_gone_from_ox(server: RunningServer) -> None:
    ox = context_admin(server)
    uid, name = new_person(server)
    assert name in ox.get("/admin/contexts/1/users").json()
    gone = requests.delete(f"{server.api}/users/{name}", auth=("admin", ADMIN_PASSWORD))
    assert gone.status_code == 200, gone.text
    assert name not in ox.get("/admin/contexts/1/users").json()
    assert ox.get("/admin/contexts/1/users", params={"uids": name}).json() == {}
    refused(ox.get(f"/admin/contexts/1/users/{uid}/msisdn"), 404, str(uid))
