"""Who may call which OX route: context admins, brand (reseller) admins of the brand that
owns the context or one above it, and the master admin only with the override."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.helpers.cli import townhall
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.ox import Ox, refused
from townhall.config import load_settings
from townhall.domain.errors import Unauthenticated
from townhall.domain.models import DEFAULT_BRAND_ID
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.tenants import NewTenant

RESELLER_PASSWORD = "reseller-pw-1"


@dataclass
class Brands:
    """A brand with a sub-brand and an unrelated brand, each with an admin, and a tenant
    (context) under the sub-brand."""

    top_admin: tuple[str, str]
    sub_admin: tuple[str, str]
    other_admin: tuple[str, str]
    context: int
    context_admin: tuple[str, str]


@asynccontextmanager
async def _services(database_url: str) -> AsyncIterator[Services]:
    settings = load_settings(
        {
            "TOWNHALL_DATABASE_URL": database_url,
            "TOWNHALL_ARGON2_TIME_COST": "1",
            "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
        }
    )
    built = Services.build(settings)
    try:
        yield built
    finally:
        await built.close()


async def _brands(database_url: str) -> Brands:
    """Made as the operator, in process (the CLI's own test is below)."""
    async with _services(database_url) as services:
        first = await services.tenants.first()
        assert first is not None
        operator = Principal.system(first)
        top, sub, other = unique("top"), unique("sub"), unique("other")
        await services.brands.create(operator, top)
        await services.brands.create(operator, sub, parent=top)
        await services.brands.create(operator, other)
        admins = {}
        for brand in (top, sub, other):
            made = await services.brands.add_admin(
                operator, brand, unique("reseller"), RESELLER_PASSWORD
            )
            admins[brand] = (made.admin.username, RESELLER_PASSWORD)
        tenant = await services.tenants.create(
            operator, NewTenant(f"{unique('ctx')}.test", brand=sub)
        )
    return Brands(
        admins[top],
        admins[sub],
        admins[other],
        tenant.tenant.id,
        (tenant.admin, tenant.password),
    )


@pytest.fixture(scope="module")
async def brands(server: RunningServer) -> Brands:
    return await _brands(server.database_url)


def test_a_context_names_its_brand_and_top_level_brand(
    server: RunningServer, brands: Brands
) -> None:
    shown = Ox(server, brands.context_admin).get(f"/admin/contexts/{brands.context}/brand")
    assert shown.status_code == 200, shown.text
    assert shown.json()["brandname"].startswith("sub")
    assert shown.json()["toplevel-brand"].startswith("top")


def test_without_the_override_only_the_context_admin_passes(
    server: RunningServer, brands: Brands
) -> None:
    path = f"/admin/contexts/{brands.context}/users"
    assert Ox(server, brands.context_admin).get(path).status_code == 200
    for outsider in (brands.top_admin, brands.sub_admin, brands.other_admin):
        refused(Ox(server, outsider).get(path), 401)
    refused(Ox(server, ("admin", ADMIN_PASSWORD)).get(path), 401)  # the master admin
    # A context admin of one context is nobody in another.
    refused(Ox(server, brands.context_admin).get("/admin/contexts/1/users"), 401)


@pytest.fixture(scope="module")
def overridden(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("override")
    with fresh_database(backend_of(database_url), folder) as url:
        running = start_server(
            url,
            folder / "server.log",
            TOWNHALL_MASTER_ACCOUNT_OVERRIDE="on",
            TOWNHALL_OX_MAIL_CREDENTIAL="mailreader:mail-pw-1",
        )
        yield running
        stop_server(running)


async def test_with_the_override_brand_admins_above_and_the_master_pass(
    overridden: RunningServer,
) -> None:
    brands = await _brands(overridden.database_url)
    path = f"/admin/contexts/{brands.context}/users"
    for allowed in (brands.context_admin, brands.sub_admin, brands.top_admin):
        assert Ox(overridden, allowed).get(path).status_code == 200, allowed
    assert Ox(overridden, ("admin", ADMIN_PASSWORD)).get(path).status_code == 200
    refused(Ox(overridden, brands.other_admin).get(path), 401)
    refused(Ox(overridden, (brands.sub_admin[0], "wrong-password")).get(path), 401)


def test_the_operator_makes_brands_with_the_cli(server: RunningServer) -> None:
    url = server.database_url

    def ok(*args: str) -> str:
        done = townhall(url, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    brand = unique("clibrand")
    ok("brands", "create", brand)
    added = ok("brands", "add-admin", brand, unique("cliadmin"))
    assert re.search(r"password \(shown once\): \S+", added), added
    ok("brands", "set-mail-credential", brand, f"{brand}-mail:mail-pw-1")
    made = ok("tenants", "create", f"{unique('clictx')}.test", "--brand", brand)
    assert re.search(r"created \(context \d+\)", made), made
    assert f"{brand}\t-\t{brand}-mail" in ok("brands", "list")
    unknown = townhall(url, "tenants", "create", f"{unique('x')}.test", "--brand", "no-such")
    assert unknown.returncode == 1 and "no-such" in unknown.stderr


async def test_the_default_brands_mail_credential_comes_from_the_setting(
    overridden: RunningServer,
) -> None:
    async with _services(overridden.database_url) as services:
        brand = await services.auth.brand_mail_reader("mailreader", "mail-pw-1")
        assert brand.id == DEFAULT_BRAND_ID
        with pytest.raises(Unauthenticated):
            await services.auth.brand_mail_reader("mailreader", "wrong-pw-1")
