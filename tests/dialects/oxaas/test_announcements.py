"""Announcements: a brand's admins manage those of their brand and its sub-brands
(resellerAdminAuth), each change raises the version, and a person sees the enabled ones
of their brand within the time window, read in the announcement's timezone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.dialects.oxaas.test_scopes import Brands, _brands, _services
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.ox import Ox, refused
from townhall.domain.principal import Principal

PREFIXES = ("/oxaas/v1", "/api/oxaas/v1")


@pytest.fixture(scope="module")
async def brands(server: RunningServer) -> Brands:
    return await _brands(server.database_url)


def _body(**extra: object) -> dict[str, object]:
    return {"name": unique("news"), "msgJsonObject": {"en": "Maintenance tonight"}, **extra}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_an_announcement_is_made_changed_switched_and_deleted(
    server: RunningServer, brands: Brands, prefix: str
) -> None:
    ox = Ox(server, brands.top_admin, prefix)
    sub_brand = ox.get(f"/admin/contexts/{brands.context}/brand")  # not a reseller route
    assert sub_brand.status_code == 401
    made = ox.post(
        "/admin/announcements",
        json=_body(
            startDatetime="2026-12-24T09:00:00",
            endDatetime="2026-12-26T18:00:00",
            timezone="Europe/Berlin",
            discardable=True,
        ),
    )
    assert made.status_code == 200, made.text
    shown = made.json()
    assert shown["version"] == 1 and isinstance(shown["id"], int)
    assert shown["startDatetime"] == "2026-12-24T09:00:00+01:00"
    assert shown["ownerBrand"].startswith("top") and shown["brands"] == []
    assert shown["enabled"] is True and shown["discardable"] is True
    assert shown["msgJsonObject"] == {"en": "Maintenance tonight"}
    one = f"/admin/announcements/{shown['id']}"
    changed = ox.put(one, json={"name": "renamed", "version": 1})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["version"]) == ("renamed", 2)
    assert changed.json()["timezone"] == "Europe/Berlin"  # what was not given stays
    refused(ox.put(one, json={"name": "stale", "version": 1}), 409, "version")
    assert ox.put(one + "/disable").json()["enabled"] is False
    again = ox.put(f"/admin/announcements/enable/{shown['id']}").json()
    assert (again["enabled"], again["version"]) == (True, 4)
    assert ox.put(f"/admin/announcements/disable/{shown['id']}").json()["version"] == 5
    for path in ("/admin/announcements", "/admin/announcements/*"):
        listed = ox.get(path)
        assert listed.status_code == 200, listed.text
        assert [a["version"] for a in listed.json() if a["id"] == shown["id"]] == [5]
    assert ox.delete(one).status_code == 200
    refused(ox.delete(one), 404, "announcement")
    assert all(a["id"] != shown["id"] for a in ox.get("/admin/announcements").json())


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_brand_sees_its_own_and_its_sub_brands_never_another(
    server: RunningServer, brands: Brands, prefix: str
) -> None:
    top, sub = Ox(server, brands.top_admin, prefix), Ox(server, brands.sub_admin, prefix)
    other = Ox(server, brands.other_admin, prefix)
    of_sub = sub.post("/admin/announcements", json=_body()).json()
    of_top = top.post("/admin/announcements", json=_body()).json()
    assert of_sub["id"] in [a["id"] for a in top.get("/admin/announcements").json()]
    assert of_top["id"] not in [a["id"] for a in sub.get("/admin/announcements").json()]
    assert other.get("/admin/announcements").json() == [] or all(
        a["id"] not in (of_sub["id"], of_top["id"])
        for a in other.get("/admin/announcements").json()
    )
    for caller, announcement in ((sub, of_top), (other, of_sub), (other, of_top)):
        path = f"/admin/announcements/{announcement['id']}"
        refused(caller.put(path, json={"name": "mine now"}), 404, "announcement")
        refused(caller.put(path + "/enable"), 404)
        refused(caller.delete(path), 404)
    assert top.get("/admin/announcements").json()  # still there, unchanged
    # The top brand may make one owned by (and shown to) its sub-brand; not the reverse.
    sub_name = of_sub["ownerBrand"]
    made = top.post("/admin/announcements", json=_body(ownerBrand=sub_name, brands=[sub_name]))
    assert made.status_code == 200 and made.json()["ownerBrand"] == sub_name
    refused(sub.post("/admin/announcements", json=_body(ownerBrand=of_top["ownerBrand"])), 404)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_only_reseller_admins_pass(server: RunningServer, brands: Brands, prefix: str) -> None:
    for outsider in (
        brands.context_admin,
        ("admin", ADMIN_PASSWORD),  # the master admin, without the override
        (brands.top_admin[0], "wrong-password"),
        ("nobody-at-all", "pw-12345678"),
    ):
        answer = Ox(server, outsider, prefix).get("/admin/announcements")
        refused(answer, 401)
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="oxaas"'
        refused(Ox(server, outsider, prefix).post("/admin/announcements", json=_body()), 401)


def test_bad_announcements_are_refused_naming_the_field(
    server: RunningServer, brands: Brands
) -> None:
    ox = Ox(server, brands.top_admin)
    before = ox.get("/admin/announcements").json()
    for body, word in (
        ({"msgJsonObject": {}}, "name"),
        (_body(timezone="Mars/Olympus"), "timezone"),
        (_body(startDatetime="next tuesday"), "startDatetime"),
        (_body(startDatetime="2026-12-02T00:00:00", endDatetime="2026-12-01T00:00:00"), "end"),
        (_body(msgJsonObject="text"), "msgJsonObject"),
        (_body(enabled="yes"), "enabled"),
        (_body(brands=["no-such-brand"]), "no-such-brand"),
    ):
        status = 404 if word == "no-such-brand" else 400
        refused(ox.post("/admin/announcements", json=body), status, word)
    refused(ox.post("/admin/announcements", data=b"[1]"), 400)
    refused(ox.put("/admin/announcements/abc", json=_body()), 400, "id")
    refused(ox.put("/admin/announcements/999999", json=_body()), 404, "announcement")
    assert ox.get("/admin/announcements").json() == before  # nothing changed


@pytest.fixture(scope="module")
def overridden(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    folder: Path = tmp_path_factory.mktemp("announce-override")
    with fresh_database(backend_of(database_url), folder) as url:
        running = start_server(url, folder / "server.log", TOWNHALL_MASTER_ACCOUNT_OVERRIDE="on")
        yield running
        stop_server(running)


async def test_with_the_override_the_master_acts_as_the_default_brand(
    overridden: RunningServer,
) -> None:
    brands = await _brands(overridden.database_url)
    master = Ox(overridden, ("admin", ADMIN_PASSWORD))
    made = master.post("/admin/announcements", json=_body())
    assert made.status_code == 200, made.text
    assert [a["id"] for a in master.get("/admin/announcements").json()] == [made.json()["id"]]
    refused(Ox(overridden, brands.context_admin).get("/admin/announcements"), 401)


def _wall(zone: str, delta: timedelta) -> str:
    """The wall-clock time in `zone` at now + delta, without an offset."""
    return (datetime.now(UTC) + delta).astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat()


async def test_a_person_sees_the_enabled_ones_of_their_brand_in_the_window(
    server: RunningServer, brands: Brands
) -> None:
    top, other = Ox(server, brands.top_admin), Ox(server, brands.other_admin)
    hour = timedelta(hours=1)
    far = "Pacific/Kiritimati"  # UTC+14: read as UTC, its wall clock is 14 hours ahead
    running = top.post(
        "/admin/announcements",
        json=_body(startDatetime=_wall(far, -hour), endDatetime=_wall(far, hour), timezone=far),
    ).json()
    read_as_utc = top.post(
        "/admin/announcements", json=_body(startDatetime=_wall(far, -hour))
    ).json()
    disabled = top.post("/admin/announcements", json=_body(enabled=False)).json()
    over = top.post(
        "/admin/announcements", json=_body(endDatetime=_wall("UTC", -hour), timezone="UTC")
    ).json()
    elsewhere = other.post("/admin/announcements", json=_body()).json()
    listed_for_other = top.post(
        "/admin/announcements", json=_body(brands=[running["ownerBrand"]])
    ).json()
    async with _services(server.database_url) as services:
        tenant = await services.tenants.by_id(brands.context)  # under the sub-brand of top
        seen = {a.id for a in await services.announcements.current_for(Principal(tenant, "x"))}
        first = await services.tenants.first()
        assert first is not None
        default_seen = {a.id for a in await services.announcements.current_for(Principal(first))}
    assert running["id"] in seen and listed_for_other["id"] in seen
    for hidden in (read_as_utc, disabled, over, elsewhere):
        assert hidden["id"] not in seen, hidden
    assert running["id"] not in default_seen
    assert top.put(f"/admin/announcements/{running['id']}/disable").status_code == 200
    async with _services(server.database_url) as services:
        tenant = await services.tenants.by_id(brands.context)
        seen = {a.id for a in await services.announcements.current_for(Principal(tenant, "x"))}
    assert running["id"] not in seen
