"""RMP domains: person domains, resource sub-domains and settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.conftest import RunningServer, unique
from tests.helpers.rmp import DOMAIN, admin, person, refused
from townhall.domain.errors import Invalid
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.store.schema import domains


def test_list_shows_the_tenant_domain_with_counts(server: RunningServer) -> None:
    listed = admin(server).get("/domains").json()
    assert listed["success"] is True
    primary = next(d for d in listed["domains"] if d["name"] == DOMAIN)
    assert primary["type"] == "primary" and primary["users"] >= 1
    assert primary["created"].endswith("Z") and "resources" in primary


def test_create_alias_and_resource_subdomain(server: RunningServer) -> None:
    rmp = admin(server)
    alias = f"{unique('alias')}.test"
    made = rmp.post("/domains", json={"domain": alias, "type": "primary"})
    assert made.status_code == 201, made.text
    assert made.json()["domain"]["type"] == "primary"
    sub = f"{unique('rooms')}.resources.{DOMAIN}"
    made = rmp.post("/domains", json={"domain": sub, "type": "resource-subdomain"})
    assert made.status_code == 201, made.text
    assert made.json()["domain"] == {
        "name": sub,
        "type": "resource-subdomain",
        "parent": DOMAIN,
        "resources": 0,
        "created": made.json()["domain"]["created"],
    }
    names = [d["name"] for d in rmp.get("/domains").json()["domains"]]
    assert alias in names and sub in names
    refused(rmp.post("/domains", json={"domain": alias}), 409)
    refused(rmp.post("/domains", json={"domain": "not a domain"}), 400, "domain")
    refused(rmp.post("/domains", json={"domain": "x.test", "type": "weird"}), 400, "type")
    bad_sub = {"domain": f"a.resources.{unique('n')}.test", "type": "resource-subdomain"}
    refused(rmp.post("/domains", json=bad_sub), 404)
    refused(rmp.post("/domains", json={"domain": "y.test", "adminEmail": "ghost@" + DOMAIN}), 404)
    assert "y.test" not in [d["name"] for d in rmp.get("/domains").json()["domains"]]


def test_domain_admin_sees_and_sets_only_its_domains(server: RunningServer) -> None:
    rmp, email = person(server)
    refused(rmp.get("/domains"), 403)
    refused(rmp.get(f"/domains/{DOMAIN}/settings"), 403)
    alias = f"{unique('own')}.test"
    made = admin(server).post("/domains", json={"domain": alias, "adminEmail": email})
    assert made.status_code == 201, made.text
    assert [d["name"] for d in rmp.get("/domains").json()["domains"]] == [alias]
    assert rmp.get(f"/domains/{alias}/settings").status_code == 200
    refused(rmp.get(f"/domains/{DOMAIN}/settings"), 403)
    refused(rmp.post("/domains", json={"domain": f"{unique('z')}.test"}), 403)


def test_settings_round_trip_and_validation(server: RunningServer) -> None:
    rmp = admin(server)
    alias = f"{unique('set')}.test"
    rmp.post("/domains", json={"domain": alias})
    settings = rmp.get(f"/domains/{alias}/settings").json()
    assert settings["settings"]["allowPastBookings"] is False
    changed = rmp.put(f"/domains/{alias}/settings", json={"allowPastBookings": True})
    assert changed.status_code == 200 and changed.json()["settings"]["allowPastBookings"] is True
    wrapped = rmp.put(f"/domains/{alias}/settings", json={"settings": {"maxBookingHours": 8}})
    assert wrapped.json()["settings"]["maxBookingHours"] == 8
    refused(
        rmp.put(f"/domains/{alias}/settings", json={"maxBookingHours": "8"}), 400, "maxBookingHours"
    )
    bad = {"timezone": "UTC", "shoeSize": 4}
    refused(rmp.put(f"/domains/{alias}/settings", json=bad), 400, "shoeSize")
    refused(rmp.put(f"/domains/{alias}/settings", json=[1]), 400)
    refused(rmp.get(f"/domains/unknown-{alias}/settings"), 404)
    after = rmp.get(f"/domains/{alias}/settings").json()["settings"]
    assert after["maxBookingHours"] == 8 and "shoeSize" not in after


async def test_settings_keep_their_stored_keys(services: Services) -> None:
    """The domain's setting names are its own; the column keeps the keys rows were first
    written with, so existing rows stay valid and both spellings never mix."""
    actor = Principal.system(await services.tenants.first())
    alias = f"{unique('stored')}.test"
    await services.domains.create(actor, alias)
    changed = await services.domains.update_settings(actor, alias, {"max_booking_hours": 8})
    assert changed["max_booking_hours"] == 8 and changed["allow_past_bookings"] is False
    async with services.deps.db.write() as tx:
        row = domains.c.name == alias
        stored = (await tx.execute(select(domains.c.settings).where(row))).scalar_one()
        assert stored == {"maxBookingHours": 8}
        written = {"maxBookingHours": 8, "allowPastBookings": True, "dateFormat": "DD.MM.YYYY"}
        await tx.execute(update(domains).where(row).values(settings=written))
    read = await services.domains.settings(actor, alias)
    assert (read["allow_past_bookings"], read["date_format"]) == (True, "DD.MM.YYYY")
    with pytest.raises(Invalid) as refused_key:
        await services.domains.update_settings(actor, alias, {"maxBookingHours": 2})
    assert refused_key.value.field == "maxBookingHours"


def test_domains_come_page_by_page(server: RunningServer) -> None:
    rmp = admin(server)
    for _ in range(2):
        assert rmp.post("/domains", json={"domain": f"{unique('pg')}.test"}).status_code == 201
    everything = rmp.get("/domains").json()
    total = everything["total"]
    assert total >= 3 and (everything["page"], everything["pages"]) == (1, 1)
    paged = [
        rmp.get("/domains", params={"limit": 1, "page": n}).json() for n in range(1, total + 1)
    ]
    assert [p["domains"][0]["name"] for p in paged] == [d["name"] for d in everything["domains"]]
    assert {p["pages"] for p in paged} == {total}
    refused(rmp.get("/domains", params={"limit": 1, "page": total + 1}), 400, "page")
