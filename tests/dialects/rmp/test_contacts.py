"""RMP contacts, address books and groups over HTTP, against a running server (both
databases): the reference's bodies, vCard import and export, links to people that
follow changes made through Openfire's API, and groups Openfire made."""

from __future__ import annotations

from typing import Any

import requests
import vobject

from tests.conftest import RunningServer, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, person, refused

VCARD = "text/vcard"


def _contact(rmp: Rmp, **fields: Any) -> dict[str, Any]:
    made = rmp.post("/contacts", json=fields)
    assert made.status_code == 201, made.text
    assert made.json()["success"] is True
    return made.json()["contact"]  # type: ignore[no-any-return]


def _openfire(server: RunningServer, http: requests.Session, user: str, **body: Any) -> None:
    """A change to the user through Openfire's REST API (PUT replaces what it names)."""
    changed = http.put(
        f"{server.api}/users/{user}",
        json={"username": user, **body},
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )
    assert changed.status_code == 200, changed.text


def test_create_list_search_and_limit(server: RunningServer) -> None:
    rmp, _ = person(server)
    john = _contact(
        rmp, name="John Doe", email="john@acme.test", phone="+1234567890", organization="ACME Corp"
    )
    assert john == {
        "uid": john["uid"],
        "name": "John Doe",
        "email": "john@acme.test",
        "phone": "+1234567890",
        "organization": "ACME Corp",
        "addressBook": "Contacts",
    }
    _contact(rmp, name="Anna Smith", email="anna@globex.test")
    _contact(rmp, name="Zoe Young", email="zoe@acme.test", organization="ACME Corp")
    _contact(rmp, name="Bea Biz", email="bea@biz.test", addressBook="Business Contacts")

    listed = rmp.get("/contacts").json()
    assert listed["success"] is True
    assert [c["name"] for c in listed["contacts"]] == ["Anna Smith", "John Doe", "Zoe Young"]
    assert listed["contacts"][1] == {k: v for k, v in john.items() if k != "addressBook"}
    assert (listed["total"], listed["page"], listed["pages"]) == (3, 1, 1)

    found = rmp.get("/contacts", params={"search": "acme"}).json()["contacts"]
    assert [c["name"] for c in found] == ["John Doe", "Zoe Young"]
    assert rmp.get("/contacts", params={"search": "ANNA@"}).json()["contacts"][0]["uid"]
    assert rmp.get("/contacts", params={"search": "nobody"}).json()["contacts"] == []

    limited = rmp.get("/contacts", params={"limit": 2}).json()
    assert [c["name"] for c in limited["contacts"]] == ["Anna Smith", "John Doe"]
    assert (limited["total"], limited["pages"]) == (3, 2)
    second = rmp.get("/contacts", params={"limit": 2, "page": 2}).json()
    assert [c["name"] for c in second["contacts"]] == ["Zoe Young"]
    refused(rmp.get("/contacts", params={"limit": 0}), 400, "limit")
    refused(rmp.get("/contacts", params={"limit": "x"}), 400, "limit")

    everything = rmp.get("/contacts/all").json()
    assert everything["addressBooks"] == ["Contacts", "Business Contacts"]
    books = {c["name"]: c["addressBook"] for c in everything["contacts"]}
    assert books == {
        "Anna Smith": "Contacts",
        "John Doe": "Contacts",
        "Zoe Young": "Contacts",
        "Bea Biz": "Business Contacts",
    }
    assert everything["groups"] == []
    only = rmp.get("/contacts/all", params={"addressBook": "Business Contacts"}).json()
    assert [c["name"] for c in only["contacts"]] == ["Bea Biz"]
    assert "groups" not in rmp.get("/contacts/all", params={"includeGroups": "false"}).json()
    refused(rmp.get("/contacts/all", params={"addressBook": "No such book"}), 404)
    refused(rmp.get("/contacts", params={"addressBook": "No such book"}), 404)
    business = rmp.get("/contacts", params={"addressBook": "Business Contacts"}).json()
    assert [c["name"] for c in business["contacts"]] == ["Bea Biz"]


def test_update_and_delete(server: RunningServer) -> None:
    rmp, _ = person(server)
    made = _contact(rmp, name="Old Name", email="old@acme.test", phone="+1", organization="ACME")
    uid = made["uid"]
    changed = rmp.put(f"/contacts/{uid}", json={"name": "New Name", "phone": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["contact"] == {**made, "name": "New Name", "phone": None}
    moved = rmp.put(f"/contacts/{uid}", json={"addressBook": "Archive"}).json()["contact"]
    assert moved["addressBook"] == "Archive"
    assert rmp.get("/contacts").json()["contacts"] == []
    card = vobject.readOne(rmp.get(f"/contacts/{uid}/vcard").text)
    assert card.fn.value == "New Name" and "tel" not in card.contents

    gone = rmp.delete(f"/contacts/{uid}")
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"success": True, "contact": moved}
    refused(rmp.delete(f"/contacts/{uid}"), 404)
    refused(rmp.put(f"/contacts/{uid}", json={"name": "x"}), 404)
    refused(rmp.get(f"/contacts/{uid}/vcard"), 404)
    assert rmp.get("/contacts/all", params={"addressBook": "Archive"}).json()["contacts"] == []


def test_vcard_import_and_export_round_trip(server: RunningServer) -> None:
    rmp, _ = person(server)
    uid = unique("card-")
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"UID:{uid}\r\n"
        "FN:Jürgen Müller\r\nN:Müller;Jürgen;;Dr.;\r\n"
        "EMAIL;TYPE=WORK:juergen@firma.test\r\nEMAIL;TYPE=HOME:jm@home.test\r\n"
        "TEL;TYPE=CELL:+49 170 1234567\r\n"
        "ORG:Firma GmbH;Entwicklung\r\n"
        "TITLE:Architekt\r\n"
        "ADR;TYPE=WORK:;;Hauptstr. 1;Berlin;;10115;Germany\r\n"
        "NOTE:Met at the fair\\, 2026\r\n"
        "X-CUSTOM-FIELD:keep me\r\n"
        "END:VCARD\r\n"
    )
    made = rmp.post(
        "/contacts?addressBook=Business", data=text.encode(), headers={"Content-Type": VCARD}
    )
    assert made.status_code == 201, made.text
    assert made.json()["contact"] == {
        "uid": uid,
        "name": "Jürgen Müller",
        "email": "juergen@firma.test",
        "phone": "+49 170 1234567",
        "organization": "Firma GmbH",
        "addressBook": "Business",
    }
    exported = rmp.get(f"/contacts/{uid}/vcard")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/vcard")
    assert "attachment" in exported.headers["content-disposition"]
    card = vobject.readOne(exported.text)
    original = vobject.readOne(text)
    for key in ("uid", "fn", "n", "email", "tel", "org", "title", "adr", "note", "x-custom-field"):
        assert [(p.value, p.params) for p in card.contents[key]] == [
            (p.value, p.params) for p in original.contents[key]
        ], key
    # the same UID again is the same contact
    refused(rmp.post("/contacts", data=text.encode(), headers={"Content-Type": VCARD}), 409)

    # Deleted and imported again from its own export: the same contact, the same export.
    assert rmp.delete(f"/contacts/{uid}").status_code == 200
    again = rmp.post(
        "/contacts?addressBook=Business", data=exported.content, headers={"Content-Type": VCARD}
    )
    assert again.status_code == 201, again.text
    assert again.json()["contact"] == made.json()["contact"]
    assert rmp.get(f"/contacts/{uid}/vcard").text == exported.text

    # JSON with a vCard: the fields given win over the vCard's, the rest is kept.
    other = _contact(rmp, vcard=text.replace(uid, uid + "b"), name="J. Müller")
    assert (other["uid"], other["name"], other["phone"]) == (
        uid + "b",
        "J. Müller",
        "+49 170 1234567",
    )
    kept = vobject.readOne(rmp.get(f"/contacts/{uid}b/vcard").text)
    assert kept.fn.value == "J. Müller" and kept.adr.value.city == "Berlin"

    # A card named by N alone keeps its N as it was, and gets an FN.
    only_n = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann;;Dr.;\r\nEMAIL:dr.lee@x.test\r\nEND:VCARD\r\n"
    named = rmp.post("/contacts", data=only_n, headers={"Content-Type": VCARD})
    assert named.status_code == 201, named.text
    assert named.json()["contact"]["name"] == "Dr. Ann Lee"
    card = vobject.readOne(rmp.get(f"/contacts/{named.json()['contact']['uid']}/vcard").text)
    assert (str(card.n.value), card.fn.value) == (
        str(vobject.readOne(only_n).n.value),
        "Dr. Ann Lee",
    )

    # A JSON contact exports as a vCard with its fields.
    plain = _contact(rmp, name="Ann Lee", email="ann@lee.test", organization="Lee & Co")
    card = vobject.readOne(rmp.get(f"/contacts/{plain['uid']}/vcard").text)
    assert (card.uid.value, card.fn.value, card.email.value, card.org.value) == (
        plain["uid"],
        "Ann Lee",
        "ann@lee.test",
        ["Lee & Co"],
    )


def test_linked_contact_follows_changes_made_through_openfire(
    server: RunningServer, http: requests.Session
) -> None:
    rmp, _ = person(server)
    _, colleague = person(server)
    username = colleague.split("@")[0]
    linked = _contact(rmp, name="Whatever I Typed", email=colleague.upper(), phone="+1")
    assert linked["name"] == "Test Person"  # the person's own name, not the typed one
    assert linked["email"] == colleague

    _openfire(server, http, username, name="Renamed Colleague", email=f"{username}@other.test")
    shown = rmp.get("/contacts").json()["contacts"]
    assert [(c["name"], c["email"], c["phone"]) for c in shown] == [
        ("Renamed Colleague", colleague, "+1")
    ]
    card = vobject.readOne(rmp.get(f"/contacts/{linked['uid']}/vcard").text)
    assert card.fn.value == "Renamed Colleague"
    assert rmp.get("/contacts", params={"search": "renamed"}).json()["total"] == 1
    # ... and one made through RMP's own user administration.
    changed = admin(server).put(f"/users/{colleague}", json={"realName": "Via RMP"})
    assert changed.status_code == 200, changed.text
    assert rmp.get("/contacts").json()["contacts"][0]["name"] == "Via RMP"

    # Linked by the person's own e-mail address: a new address shows in the contact.
    outside = unique("ext")
    created = http.post(
        f"{server.api}/users",
        json={
            "username": outside,
            "password": "password-1",
            "name": "Ext Person",
            "email": f"{outside}@partner.test",
        },
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    by_mail = _contact(rmp, name="Ext", email=f"{outside}@partner.test")
    assert by_mail["name"] == "Ext Person"
    _openfire(server, http, outside, name="Ext Person", email=f"{outside}@new-partner.test")
    shown = {c["uid"]: c for c in rmp.get("/contacts").json()["contacts"]}
    assert shown[by_mail["uid"]]["email"] == f"{outside}@new-partner.test"

    # Someone who is no person of the tenant is not linked and keeps what was typed...
    later = unique("later")
    stranger = _contact(rmp, name="Typed Name", email=f"{later}@{DOMAIN}")
    assert stranger["name"] == "Typed Name"
    # ... until a person with that address is made (here through Openfire): from then on
    # the contact follows that person.
    created = http.post(
        f"{server.api}/users",
        json={"username": later, "password": "password-1", "name": "Later Person"},
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    _openfire(server, http, later, name="Later Renamed")
    shown = {c["uid"]: c for c in rmp.get("/contacts").json()["contacts"]}
    assert shown[stranger["uid"]]["name"] == "Later Renamed"


def test_bad_input_is_refused_naming_the_field_and_stores_nothing(server: RunningServer) -> None:
    rmp, _ = person(server)
    refused(rmp.post("/contacts", json={"email": "a@b.test"}), 400, "name")
    refused(rmp.post("/contacts", json={"name": "A"}), 400, "email")
    refused(rmp.post("/contacts", json={"name": "A", "email": "not-an-address"}), 400, "email")
    refused(rmp.post("/contacts", json={"name": " ", "email": "a@b.test"}), 400, "name")
    refused(
        rmp.post("/contacts", json={"name": "A", "email": "a@b.test", "phone": 5}), 400, "phone"
    )
    long_phone = {"name": "A", "email": "a@b.test", "phone": "1" * 65}
    refused(rmp.post("/contacts", json=long_phone), 400, "phone")
    empty_book = {"name": "A", "email": "a@b.test", "addressBook": " "}
    refused(rmp.post("/contacts", json=empty_book), 400, "addressBook")
    refused(rmp.post("/contacts", json={"vcard": "garbage"}), 400, "vcard")
    two = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEMAIL:a@b.test\r\nEND:VCARD\r\n" * 2
    refused(rmp.post("/contacts", data=two.encode(), headers={"Content-Type": VCARD}), 400, "vcard")
    no_mail = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n"
    refused(rmp.post("/contacts", data=no_mail, headers={"Content-Type": VCARD}), 400, "email")
    refused(rmp.post("/contacts", data=b"\xff\xfe", headers={"Content-Type": VCARD}), 400, "vcard")
    refused(rmp.post("/contacts", data=b"{", headers={"Content-Type": "application/json"}), 400)
    nul = {"name": "A\u0000", "email": "a@b.test"}
    refused(rmp.post("/contacts", json=nul), 400, "name")
    refused(rmp.post("/groups", json={"name": "Team"}), 400, "members")
    refused(
        rmp.post("/groups", json={"name": "Team", "members": ["a@b.test", "x"]}), 400, "members[1]"
    )
    refused(rmp.post("/groups", json={"name": "[]", "members": []}), 400, "name")
    everything = rmp.get("/contacts/all").json()
    assert (everything["contacts"], everything["groups"]) == ([], [])
    assert everything["addressBooks"] == ["Contacts"]

    made = _contact(rmp, name="Kept", email="kept@b.test")
    uid = made["uid"]
    refused(rmp.put(f"/contacts/{uid}", json={"name": ""}), 400, "name")
    refused(rmp.put(f"/contacts/{uid}", json={"email": None}), 400, "email")
    refused(rmp.put(f"/contacts/{uid}", json={"email": "bad", "phone": "+2"}), 400, "email")
    refused(rmp.put(f"/contacts/{uid}", json={"members": ["a@b.test"]}), 400, "members")
    assert rmp.get("/contacts").json()["contacts"] == [
        {k: v for k, v in made.items() if k != "addressBook"}
    ]


def test_someone_elses_contact_is_not_found(server: RunningServer) -> None:
    owner, _ = person(server)
    other, _ = person(server)
    made = _contact(owner, name="Private", email="private@x.test")
    uid = made["uid"]
    refused(other.put(f"/contacts/{uid}", json={"name": "Mine now"}), 404)
    refused(other.delete(f"/contacts/{uid}"), 404)
    refused(other.get(f"/contacts/{uid}/vcard"), 404)
    assert other.get("/contacts").json()["contacts"] == []
    group = owner.post("/groups", json={"name": "Secret", "members": ["a@x.test"]}).json()
    refused(other.delete(f"/contacts/{group['group']['uid']}"), 404)
    assert other.get("/groups").json()["contactGroups"] == []
    assert owner.get("/contacts").json()["contacts"][0]["name"] == "Private"
    assert [g["name"] for g in owner.get("/groups").json()["contactGroups"]] == ["[Secret]"]
    unauthenticated = requests.get(f"{server.url}/api/v2/contacts")
    refused(unauthenticated, 401)


def test_groups_show_openfire_groups_with_members_and_contact_groups(
    server: RunningServer, client: Any, http: requests.Session
) -> None:
    rmp, me = person(server)
    _, colleague = person(server)
    lead, member = unique("lead"), unique("member")
    client.users.add_user(lead, "password-1")
    client.users.add_user(member, "password-1")
    name = unique("Developers ")
    client.groups.add_group(name, "Dev team", admins=[lead], members=[member, "x@other.test"])

    answer = rmp.get("/groups")
    assert answer.status_code == 200, answer.text
    server_groups = {g["name"]: g for g in answer.json()["serverGroups"]}
    assert server_groups[name] == {
        "name": name,
        "members": [f"{lead}@{DOMAIN}", f"{member}@{DOMAIN}", "x@other.test"],
    }
    assert answer.json()["contactGroups"] == []

    made = rmp.post(
        "/groups",
        json={
            "name": "Team Leaders",
            "members": [colleague, "leader2@domain.test"],
            "description": "Project team leaders",
        },
    )
    assert made.status_code == 201, made.text
    group = made.json()["group"]
    assert group == {
        "uid": group["uid"],
        "name": "[Team Leaders]",
        "members": [colleague, "leader2@domain.test"],
        "description": "Project team leaders",
        "addressBook": "Contacts",
    }
    refused(rmp.post("/groups", json={"name": "[Team Leaders]", "members": []}), 409)
    assert rmp.get("/groups").json()["contactGroups"] == [group]
    assert rmp.get("/contacts/all").json()["groups"] == [group]
    assert rmp.get("/contacts").json()["contacts"] == []  # groups are no contacts
    card = vobject.readOne(rmp.get(f"/contacts/{group['uid']}/vcard").text)
    assert card.fn.value == "Team Leaders"
    assert [m.value for m in card.contents["x-addressbookserver-member"]] == [
        f"mailto:{colleague}",
        "mailto:leader2@domain.test",
    ]

    # A member who is a person follows a rename of their account made through Openfire.
    old = colleague.split("@")[0]
    renamed = unique("renamed")
    _openfire(server, http, old, username=renamed)
    shown = rmp.get("/groups").json()["contactGroups"][0]
    assert shown["members"] == [f"{renamed}@{DOMAIN}", "leader2@domain.test"]

    # A member whose address becomes a person's later follows that person from then on.
    waiting = unique("waiting")
    later = rmp.post("/groups", json={"name": "Later", "members": [f"{waiting}@{DOMAIN}"]})
    assert later.status_code == 201, later.text
    client.users.add_user(waiting, "password-1")
    moved = unique("moved")
    _openfire(server, http, waiting, username=moved)
    groups = {g["name"]: g for g in rmp.get("/groups").json()["contactGroups"]}
    assert groups["[Later]"]["members"] == [f"{moved}@{DOMAIN}"]
    assert rmp.delete(f"/contacts/{later.json()['group']['uid']}").status_code == 200

    changed = rmp.put(f"/contacts/{group['uid']}", json={"members": [me], "description": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["contact"]["members"] == [me]
    assert changed.json()["contact"]["description"] is None
    assert rmp.delete(f"/contacts/{group['uid']}").status_code == 200
    assert rmp.get("/groups").json()["contactGroups"] == []
