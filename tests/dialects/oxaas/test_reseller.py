"""resellerAdminAuth and the routes scoped to a reseller's brands: search across
contexts, explicit domains of a context and of a brand, shared mail domains, users in a
domain, and mail routed in a shared domain for the contexts of its brand."""

from __future__ import annotations

import smtplib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.conftest import (
    ADMIN_PASSWORD,
    RunningServer,
    start_server,
    stop_server,
    unique,
)
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.mail import mailing_server, send
from tests.helpers.ox import Ox, refused
from townhall.config import load_settings
from townhall.domain.principal import Principal
from townhall.infrastructure.mailstore.maildir import MaildirStore
from townhall.services.container import Services
from townhall.services.people import NewPerson, PersonChanges
from townhall.services.tenants import NewTenant
from townhall.store.schema import audit_log

PASSWORD = "reseller-pw-1"
PREFIXES = ("/oxaas/v1", "/api/oxaas/v1")
MASTER = ("admin", ADMIN_PASSWORD)


@dataclass
class World:
    """Brands top > sub and an unrelated `other`, each with an admin; a context under
    sub and one under other, each with its admin and one person whose attributes carry
    `mark`; a shared domain of sub in which both people have their e-mail."""

    mark: str
    top_admin: tuple[str, str]
    sub_admin: tuple[str, str]
    other_admin: tuple[str, str]
    context: int
    context_admin: tuple[str, str]
    other_context: int
    other_context_admin: tuple[str, str]
    shared: str
    ids: dict[str, int]


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


async def _world(database_url: str) -> World:
    async with _services(database_url) as services:
        first = await services.tenants.first()
        assert first is not None
        operator = Principal.system(first)
        mark = unique("rs")
        top, sub, other = f"top{mark}", f"sub{mark}", f"other{mark}"
        await services.brands.create(operator, top)
        await services.brands.create(operator, sub, parent=top)
        await services.brands.create(operator, other)
        admins = {}
        for brand in (top, sub, other):
            made = await services.brands.add_admin(operator, brand, f"ra{brand}", PASSWORD)
            admins[brand] = (made.admin.username, PASSWORD)
        mine = await services.tenants.create(operator, NewTenant(f"c{mark}.test", brand=sub))
        theirs = await services.tenants.create(operator, NewTenant(f"o{mark}.test", brand=other))
        shared = f"shared{mark}.test"
        ids = {}
        for made, who in ((mine, "a"), (theirs, "b")):
            actor = Principal.system(made.tenant, "tester")
            person = await services.people.create(
                actor,
                NewPerson(
                    f"{mark}{who}",
                    "pw-1234567",
                    email=f"{mark}{who}@{shared}",
                    profile={"mobile_phone": f"+49{who}{mark}", "delivery_status": f"ds-{mark}"},
                    profile_lists={"custom_ids": (f"c-{mark}-{who}", "other-id")},
                ),
            )
            ids[who] = person.id
    return World(
        mark,
        admins[top],
        admins[sub],
        admins[other],
        mine.tenant.id,
        (mine.admin, mine.password),
        theirs.tenant.id,
        (theirs.admin, theirs.password),
        shared,
        ids,
    )


@pytest.fixture(scope="module")
async def world(server: RunningServer) -> World:
    return await _world(server.database_url)


def _names(answer: list[dict[str, object]]) -> list[object]:
    return sorted(u["uidname"] for u in answer)


def _challenged(answer: object) -> None:
    refused(answer, 401)  # type: ignore[arg-type]
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="oxaas"'  # type: ignore[attr-defined]


async def _in_view(services: Services, view: str, column: str, domain: str) -> list[str]:
    """What an engines' view holds in `domain` (store/mail_views.py)."""
    query = text(f"SELECT {column} FROM {view} WHERE {column} LIKE :pattern ORDER BY 1")
    async with services.deps.db.read() as tx:
        found = await tx.execute(query, {"pattern": f"%{domain}"})
        return [row[0] for row in found]


async def _audited(services: Services, tenant_id: int, action: str) -> list[str]:
    query = (
        select(audit_log.c.summary, audit_log.c.username)
        .where(audit_log.c.tenant_id == tenant_id, audit_log.c.action == action)
        .order_by(audit_log.c.id)
    )
    async with services.deps.db.read() as tx:
        return [f"{r.username}|{r.summary}" for r in await tx.execute(query)]


# -- search ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_sees_the_resellers_contexts_only(
    server: RunningServer, world: World, prefix: str
) -> None:
    m = world.mark
    for admin in (world.top_admin, world.sub_admin):
        ox = Ox(server, admin, prefix)
        found = ox.get("/admin/users", params={"search": f"{m}*", "field": "UIDNAME"})
        assert found.status_code == 200, found.text
        [one] = found.json()
        assert one["uidname"] == f"{m}a" and one["context-id"] == world.context
        assert one["user-id"] == world.ids["a"] and one["msisdn"] == f"+49a{m}"
        assert one["custom"] == [f"c-{m}-a", "other-id"]
    other = Ox(server, world.other_admin, prefix)
    assert _names(other.get("/admin/users", params={"search": f"{m}*"}).json()) == [f"{m}b"]
    ox = Ox(server, world.sub_admin, prefix)

    def search(value: str, field: str | None = None) -> list[object]:
        params = {"search": value, **({"field": field} if field else {})}
        answer = ox.get("/admin/users", params=params)
        assert answer.status_code == 200, answer.text
        return _names(answer.json())

    assert search(f"+49a{m}", "MSISDN") == [f"{m}a"]
    assert search(f"+49b{m}", "MSISDN") == []  # the other brand's person
    assert search(f"DS-{m}", "oxdeliverystatus") == [f"{m}a"]  # case does not count
    assert search(f"c-{m}-*", "CUSTOM") == [f"{m}a"]
    assert search("other-id", "CUSTOM") == [f"{m}a"]
    assert search(f"c-{m}", "CUSTOM") == []  # no wildcard: the whole value
    assert search(f"c-{m}-a*other-id", "CUSTOM") == []  # one element, not two
    assert search(f"c-{m}-a*", "CUSTOM") == [f"{m}a"]
    assert search(f"c_{m}_a", "CUSTOM") == []  # SQL's wildcards are plain characters
    assert search(f"%{m}a") == []
    assert search(f"*{m}a") == [f"{m}a"]  # ANY: the uid name
    assert search(f"*-{m}-a") == [f"{m}a"]  # ANY: a custom id
    assert search(f"{m}a", "MSISDN") == []
    refused(ox.get("/admin/users"), 400, "search")
    refused(ox.get("/admin/users", params={"search": " "}), 400, "search")
    refused(ox.get("/admin/users", params={"search": "x", "field": "EMAIL"}), 400, "field")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_refuses_context_admins_and_the_master_without_override(
    server: RunningServer, world: World, prefix: str
) -> None:
    for caller in (
        world.context_admin,
        MASTER,
        (world.sub_admin[0], "wrong-password"),
        (world.sub_admin[0], ""),
    ):
        _challenged(Ox(server, caller, prefix).get("/admin/users", params={"search": "*"}))


# -- a context's explicit domains --------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_explicit_domains_of_a_context(
    server: RunningServer, world: World, services: Services, prefix: str
) -> None:
    base = f"/admin/contexts/{world.context}/domains"
    mine = Ox(server, world.context_admin, prefix)
    reseller = Ox(server, world.sub_admin, prefix)
    first, second = f"x1{unique('d')}.test", f"x2{unique('d')}.test"
    assert first not in mine.get(base).json()["domains"]
    assert mine.put(f"{base}/{first}").json() == {"domain": first}
    assert mine.put(f"{base}/{first.upper()}").json() == {"domain": first}  # again: no change
    assert reseller.put(f"{base}/{second}").json() == {"domain": second}  # the brand's admin
    listed = mine.get(base).json()["domains"]
    assert first in listed and second in listed
    assert mine.get(f"{base}/{first}").json() == {"domain": first}
    refused(mine.get(f"{base}/nothere{world.mark}.test"), 404, "domain")
    # The context's primary domain is not an explicit one.
    refused(mine.get(f"{base}/c{world.mark}.test"), 404, "domain")
    refused(mine.put(f"{base}/c{world.mark}.test"), 409, "domain")
    # Hosted for mail: the routing core takes mail for it.
    person = f"{world.mark}a"
    await services.people.update(
        Principal.system(await services.tenants.by_id(world.context), "tester"),
        person,
        PersonChanges(email=f"{person}@{first}"),
    )
    route = await services.mail_routing.resolve(f"{person}@{first}", "someone@else.test")
    assert route.accepted and route.mailboxes == ((world.ids["a"], f"{person}@{first}"),)
    # Other owners' names, and names that are no domain.
    refused(mine.put(f"{base}/o{world.mark}.test"), 409, "domain")  # the other context's
    refused(mine.put(f"{base}/sub.o{world.mark}.test"), 409, "domain")  # inside it
    for bad in ("no_domain", "bad..name.test", "127.0.0.1"):
        refused(mine.put(f"{base}/{bad}"), 400, "domain")
        refused(mine.get(f"{base}/{bad}"), 400, "domain")
        refused(mine.delete(f"{base}/{bad}"), 400, "domain")
        refused(reseller.get(f"/admin/domains/{bad}"), 400, "domain")
    # A forward in a domain goes with it, and does not come back with the name.
    forward = f"/admin/forwards/{world.context}/team@{second}"
    assert mine.put(forward, json=["someone@else.test"]).ok
    assert mine.delete(f"{base}/{second}").json() == {"domain": second}
    refused(mine.delete(f"{base}/{second}"), 404, "domain")
    assert mine.put(f"{base}/{second}").json() == {"domain": second}
    refused(mine.get(forward), 404)
    assert mine.delete(f"{base}/{second}").json() == {"domain": second}
    refused(mine.delete(f"{base}/c{world.mark}.test"), 404, "domain")
    assert second not in mine.get(base).json()["domains"]
    audited = await _audited(services, world.context, "domain.created")
    assert f"{world.context_admin[0]}|domain.created: {first}" in audited, audited
    assert any(
        a == f"brand admin {world.sub_admin[0]}|domain.created: {second}" for a in audited
    ), audited
    deleted = await _audited(services, world.context, "domain.deleted")
    assert any(a.endswith(f"domain.deleted: {second}") for a in deleted), deleted
    # Put the person's address back where the other tests expect it.
    await services.people.update(
        Principal.system(await services.tenants.by_id(world.context), "tester"),
        person,
        PersonChanges(email=f"{person}@{world.shared}"),
    )


@pytest.mark.parametrize("prefix", PREFIXES)
def test_explicit_domains_of_a_context_refuse_outsiders(
    server: RunningServer, world: World, prefix: str
) -> None:
    base = f"/admin/contexts/{world.context}/domains"
    name = f"{unique('never')}.test"
    for caller in (world.other_admin, MASTER, world.other_context_admin):
        ox = Ox(server, caller, prefix)
        _challenged(ox.get(base))
        _challenged(ox.put(f"{base}/{name}"))
        _challenged(ox.delete(f"{base}/{name}"))
    assert name not in Ox(server, world.context_admin, prefix).get(base).json()["domains"]
    assert Ox(server, world.top_admin, prefix).get(base).status_code == 200


# -- the brand's domains ------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_explicit_domains_of_a_brand(server: RunningServer, world: World, prefix: str) -> None:
    name = f"b{unique('x')}.test"
    theirs = f"t{unique('x')}.test"
    put = Ox(server, world.context_admin, prefix).put
    assert put(f"/admin/contexts/{world.context}/domains/{name}").status_code == 200
    other_put = Ox(server, world.other_context_admin, prefix).put
    assert other_put(f"/admin/contexts/{world.other_context}/domains/{theirs}").status_code == 200
    for admin in (world.sub_admin, world.top_admin):
        ox = Ox(server, admin, prefix)
        listed = ox.get("/admin/domains").json()["domains"]
        assert name in listed and theirs not in listed
        assert ox.get(f"/admin/domains/{name}").json() == {"domain": name}
        refused(ox.get(f"/admin/domains/{theirs}"), 404, "domain")
    # A user with an alias (a forward to their address) in the domain.
    m = world.mark
    assert Ox(server, world.sub_admin, prefix).get(f"/admin/domains/{name}/users").json() == {
        "users": []
    }
    forward = f"/admin/forwards/{world.context}/info@{name}"
    made = Ox(server, world.context_admin, prefix).put(forward, json=[f"{m}a@{world.shared}"])
    assert made.status_code == 200, made.text
    users = Ox(server, world.sub_admin, prefix).get(f"/admin/domains/{name}/users").json()
    assert _names(users["users"]) == [f"{m}a"]
    other = Ox(server, world.other_admin, prefix)
    refused(other.get(f"/admin/domains/{name}/users"), 404, "domain")
    assert theirs in other.get("/admin/domains").json()["domains"]
    assert name not in other.get("/admin/domains").json()["domains"]
    refused(other.get(f"/admin/domains/{name}"), 404, "domain")
    for caller in (world.context_admin, MASTER):
        _challenged(Ox(server, caller, prefix).get("/admin/domains"))
        _challenged(Ox(server, caller, prefix).get(f"/admin/domains/{name}"))


# -- shared mail domains -------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_shared_mail_domains(
    server: RunningServer, world: World, services: Services, prefix: str
) -> None:
    sub = Ox(server, world.sub_admin, prefix)
    top = Ox(server, world.top_admin, prefix)
    other = Ox(server, world.other_admin, prefix)
    name = f"s{unique('x')}.test"
    made = sub.post(f"/admin/sharedmaildomains/{name}")
    assert made.status_code == 201 and made.json() == {"domain": name}, made.text
    refused(sub.post(f"/admin/sharedmaildomains/{name}"), 409, name)
    assert sub.put(f"/admin/sharedmaildomains/{name}").json() == {"domain": name}
    assert sub.get(f"/admin/sharedmaildomains/{name}").json() == {"domain": name}
    assert name in sub.get("/admin/sharedmaildomains").json()["domains"]
    assert name in sub.get("/admin/sharedmaildomains/*").json()["domains"]
    assert name in top.get("/admin/sharedmaildomains").json()["domains"]  # brand above
    # Another brand neither sees nor takes it; nobody else may hold the name.
    refused(other.get(f"/admin/sharedmaildomains/{name}"), 404, "domain")
    assert name not in other.get("/admin/sharedmaildomains").json()["domains"]
    refused(other.post(f"/admin/sharedmaildomains/{name}"), 409, name)
    refused(other.put(f"/admin/sharedmaildomains/{name}"), 409, name)
    refused(other.delete(f"/admin/sharedmaildomains/{name}"), 404, "domain")
    refused(other.post(f"/admin/sharedmaildomains/x.{name}"), 409, "domain")  # inside it
    refused(other.post(f"/admin/sharedmaildomains/c{world.mark}.test"), 409)  # a context's
    context_put = Ox(server, world.other_context_admin, prefix).put
    refused(context_put(f"/admin/contexts/{world.other_context}/domains/{name}"), 409)
    for bad in ("nodots", "under_score.test", "1.2.3.4"):
        for method in ("POST", "PUT", "GET", "DELETE"):
            refused(sub.request(method, f"/admin/sharedmaildomains/{bad}"), 400, "domain")
    for caller in (world.context_admin, MASTER):
        ox = Ox(server, caller, prefix)
        _challenged(ox.get("/admin/sharedmaildomains"))
        _challenged(ox.post(f"/admin/sharedmaildomains/{unique('n')}.test"))
        _challenged(ox.delete(f"/admin/sharedmaildomains/{name}"))
    assert sub.delete(f"/admin/sharedmaildomains/{name}").json() == {"domain": name}
    refused(sub.get(f"/admin/sharedmaildomains/{name}"), 404, "domain")
    audited = await _audited(services, (await services.tenants.first()).id, "domain.created")  # type: ignore[union-attr]
    assert f"brand admin {world.sub_admin[0]}|domain.created: {name}" in audited, audited
    deleted = await _audited(services, (await services.tenants.first()).id, "domain.deleted")  # type: ignore[union-attr]
    assert f"brand admin {world.sub_admin[0]}|domain.deleted: {name}" in deleted, deleted


async def test_a_shared_domain_hosts_mail_for_the_contexts_of_its_brand(
    server: RunningServer, world: World, services: Services
) -> None:
    m, shared = world.mark, world.shared
    sender = "someone@elsewhere.test"
    before = await services.mail_routing.resolve(f"{m}a@{shared}", sender)
    assert before.code == 550 and before.reply.startswith("5.1.2")  # not hosted yet
    top = Ox(server, world.top_admin)  # the brand above makes it for its own brand
    assert Ox(server, world.sub_admin).post(f"/admin/sharedmaildomains/{shared}").status_code == 201
    route = await services.mail_routing.resolve(f"{m}a@{shared}", sender)
    assert route.accepted and route.mailboxes == ((world.ids["a"], f"{m}a@{shared}"),)
    # The engines' views (Postfix, Dovecot) say the same.
    assert await _in_view(services, "mta_mailboxes", "address", shared) == [f"{m}a@{shared}"]
    assert await _in_view(services, "mda_users", "username", shared) == [f"{m}a@{shared}"]
    assert await _in_view(services, "mta_domains", "domain", shared) == [shared]
    # The other brand's person has an address there too, but their context does not
    # host the domain: nobody there.
    theirs = await services.mail_routing.resolve(f"{m}b@{shared}", sender)
    assert theirs.code == 550 and theirs.reply.startswith("5.1.1")
    assert (await services.mail_routing.resolve(f"nobody@{shared}", sender)).code == 550
    # Users with an address in the domain: the reseller's only.
    users = Ox(server, world.sub_admin).get(f"/admin/domains/{shared}/users")
    assert users.status_code == 200, users.text
    assert _names(users.json()["users"]) == [f"{m}a"]
    assert users.json()["users"][0]["context-id"] == world.context
    assert _names(top.get(f"/admin/domains/{shared}/users").json()["users"]) == [f"{m}a"]
    refused(Ox(server, world.other_admin).get(f"/admin/domains/{shared}/users"), 404, "domain")
    refused(top.get(f"/admin/domains/none{m}.test/users"), 404, "domain")
    refused(top.get("/admin/domains/bad_name/users"), 400, "domain")
    _challenged(Ox(server, world.context_admin).get(f"/admin/domains/{shared}/users"))
    # The other context's primary domain: its admin's address is there.
    theirs_users = Ox(server, world.other_admin, PREFIXES[1]).get(f"/admin/domains/o{m}.test/users")
    [their_admin] = theirs_users.json()["users"]
    assert their_admin["context-id"] == world.other_context
    assert top.delete(f"/admin/sharedmaildomains/{shared}").status_code == 200
    gone = await services.mail_routing.resolve(f"{m}a@{shared}", sender)
    assert gone.reply.startswith("5.1.2")
    # A shared domain of the brand above hosts mail for the contexts of the sub-brand.
    above = f"above{m}.test"
    assert top.post(f"/admin/sharedmaildomains/{above}").status_code == 201
    assert (
        above not in Ox(server, world.sub_admin).get("/admin/sharedmaildomains").json()["domains"]
    )
    actor = Principal.system(await services.tenants.by_id(world.context), "tester")
    await services.people.update(actor, f"{m}a", PersonChanges(email=f"{m}a@{above}"))
    try:
        route = await services.mail_routing.resolve(f"{m}a@{above}", sender)
        assert route.accepted and route.mailboxes == ((world.ids["a"], f"{m}a@{above}"),)
        assert await _in_view(services, "mta_mailboxes", "address", above) == [f"{m}a@{above}"]
    finally:
        await services.people.update(actor, f"{m}a", PersonChanges(email=f"{m}a@{shared}"))


# -- the master admin with the override ---------------------------------------------------


@pytest.fixture(scope="module")
def overridden(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("reseller-override")
    with fresh_database(backend_of(database_url), folder) as url:
        running = start_server(url, folder / "server.log", TOWNHALL_MASTER_ACCOUNT_OVERRIDE="on")
        yield running
        stop_server(running)


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_with_the_override_the_master_acts_for_every_brand(
    overridden: RunningServer, prefix: str
) -> None:
    world = await _world(overridden.database_url)
    master = Ox(overridden, MASTER, prefix)
    m = world.mark
    found = master.get("/admin/users", params={"search": f"{m}*", "field": "UIDNAME"})
    assert found.status_code == 200, found.text
    assert _names(found.json()) == [f"{m}a", f"{m}b"]
    name = f"m{unique('x')}.test"
    assert master.post(f"/admin/sharedmaildomains/{name}").status_code == 201
    assert name in master.get("/admin/sharedmaildomains").json()["domains"]
    # The master's shared domains are the default brand's: no other brand sees them.
    assert (
        name
        not in Ox(overridden, world.sub_admin, prefix)
        .get("/admin/sharedmaildomains")
        .json()["domains"]
    )
    assert master.delete(f"/admin/sharedmaildomains/{name}").status_code == 200
    # Still refused: context admins, and the master where only brand admins may act.
    _challenged(Ox(overridden, world.context_admin, prefix).get("/admin/users?search=x"))
    context_only = f"/admin/contexts/{world.context}/domains"
    _challenged(master.get(context_only))
    assert Ox(overridden, world.sub_admin, prefix).get(context_only).status_code == 200
    _challenged(Ox(overridden, ("admin", "wrong-password"), prefix).get("/admin/domains"))


# -- mail through the embedded receiver ---------------------------------------------------


@pytest.fixture(scope="module")
def mail_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, int, MaildirStore]]:
    folder: Path = tmp_path_factory.mktemp("reseller-mail")
    with (
        fresh_database(backend_of(database_url), folder) as url,
        mailing_server(url, folder, relaying=False) as mailing,
    ):
        yield mailing.server, mailing.smtp_port, mailing.store


async def test_smtp_delivers_in_a_shared_domain_to_the_brands_contexts_only(
    mail_server: tuple[RunningServer, int, MaildirStore],
) -> None:
    server, port, store = mail_server
    world = await _world(server.database_url)
    mine, theirs = f"{world.mark}a@{world.shared}", f"{world.mark}b@{world.shared}"

    def send_to(recipient: str) -> dict[str, object]:
        return send(port, "someone@outside.test", [recipient], "shared")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as before:
        send_to(mine)
    assert b"5.1.2" in before.value.recipients[mine][1]  # not hosted yet
    made = Ox(server, world.sub_admin).post(f"/admin/sharedmaildomains/{world.shared}")
    assert made.status_code == 201, made.text
    assert send_to(mine) == {}
    assert [b"shared" in m for m in await store.messages(mine)] == [True]
    with pytest.raises(smtplib.SMTPRecipientsRefused) as foreign:
        send_to(theirs)  # an address there, but of another brand's context
    assert b"5.1.1" in foreign.value.recipients[theirs][1]
    assert await store.messages(theirs) == []
