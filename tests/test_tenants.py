"""Tenants as an operator makes them (the CLI and the operator route), kept apart
through every API, and routed only by names the operator chose."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, _free_port, unique
from tests.helpers.cli import townhall
from tests.helpers.rmp import DOMAIN, Rmp, admin, at, book, make_resource, refused
from tests.helpers.symphony import Bot, key_pair, login
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson


@dataclass
class Made:
    domain: str
    admin: str
    password: str


def _create(server: RunningServer, admin_name: str = "admin") -> Made:
    domain = f"{unique('tenant')}.test"
    done = townhall(
        server.database_url, "tenants", "create", domain, "--name", "T", "--admin", admin_name
    )
    assert done.returncode == 0, done.stderr
    assert f"admin username: {admin_name}" in done.stdout
    found = re.search(r"admin password \(shown once\): (\S+)", done.stdout)
    assert found, done.stdout
    return Made(domain, admin_name, found.group(1))


def _openfire(
    server: RunningServer, host: str, user: str, password: str, path: str
) -> requests.Response:
    return requests.get(
        f"{server.api}{path}",
        headers={"Host": host, "Accept": "application/json"},
        auth=(user, password),
    )


def _usernames(answer: requests.Response) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {u["username"] for u in answer.json()["users"]}


def test_the_cli_creates_lists_and_deletes_tenants(server: RunningServer) -> None:
    made = _create(server, "boss")
    listed = townhall(server.database_url, "tenants", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{made.domain}\tT\t{made.domain}\n" in listed.stdout
    assert f"{DOMAIN}\t" in listed.stdout and "(default)" in listed.stdout
    Rmp(server).login(f"boss@{made.domain}", made.password)
    again = townhall(server.database_url, "tenants", "create", made.domain)
    assert again.returncode == 1 and made.domain in again.stderr
    for bad in ("127.0.0.1", "not a domain"):
        refused_ = townhall(server.database_url, "tenants", "create", bad)
        assert refused_.returncode == 1 and "domain" in refused_.stderr
    first = townhall(server.database_url, "tenants", "delete", DOMAIN)
    assert first.returncode == 1 and "first tenant" in first.stderr
    gone = townhall(server.database_url, "tenants", "delete", made.domain)
    assert gone.returncode == 0, gone.stderr
    assert made.domain not in townhall(server.database_url, "tenants", "list").stdout
    answer = Rmp(server).post(
        "/auth/login", json={"email": f"boss@{made.domain}", "password": made.password}
    )
    refused(answer, 401)
    admin(server)  # the first tenant is untouched


def test_two_tenants_are_apart_through_rmp_and_openfire(server: RunningServer) -> None:
    a, b = _create(server), _create(server)
    rmp_a = Rmp(server).login(f"admin@{a.domain}", a.password)
    rmp_b = Rmp(server).login(f"admin@{b.domain}", b.password)
    # The same username in both tenants (and the first's) are three different people.
    refused(
        Rmp(server).post(
            "/auth/login", json={"email": f"admin@{a.domain}", "password": b.password}
        ),
        401,
    )
    refused(
        Rmp(server).post("/auth/login", json={"email": f"admin@{DOMAIN}", "password": a.password}),
        401,
    )
    same = {"email": f"same@{a.domain}", "password": "pw-of-a-1", "realName": "A"}
    assert rmp_a.post("/users", json=same).status_code == 201
    refused(rmp_b.get(f"/users/same@{a.domain}"), 404)
    refused(rmp_b.get(f"/users/same@{b.domain}"), 404)
    refused(rmp_b.post(f"/users/same@{a.domain}/password", json={"newPassword": "x-y-z-123"}), 404)
    listed = rmp_b.get("/users").json()
    assert [u["email"] for u in listed["users"]] == [f"admin@{b.domain}"]
    refused(rmp_b.get(f"/users/admin@{DOMAIN}"), 404)
    # Openfire: the Host names the tenant; each tenant's admin sees only its own people.
    assert _usernames(_openfire(server, a.domain, "admin", a.password, "/users")) == {
        "admin",
        "same",
    }
    assert _usernames(_openfire(server, b.domain, "admin", b.password, "/users")) == {"admin"}
    assert _openfire(server, b.domain, "admin", b.password, "/users/same").status_code == 404
    assert _openfire(server, b.domain, "admin", a.password, "/users").status_code == 401


async def test_two_tenants_are_apart_through_symphony(
    server: RunningServer, services: Services
) -> None:
    a, b = _create(server), _create(server)
    uids = {}
    sessions = {}
    for made in (a, b):
        tenant = await services.tenants.routed(made.domain)
        assert tenant is not None
        private, public = key_pair()
        bot = await services.people.create(
            Principal.system(tenant),
            NewPerson(
                "bot",
                roles=frozenset({"ADMINISTRATOR"}),
                account_type="SYSTEM",
                keys={"current": (public, None)},
            ),
        )
        signed = Bot("bot", bot.id, private, public).jwt()
        answer = requests.post(
            f"{server.url}/login/pubkey/authenticate",
            json={"token": signed},
            headers={"Host": made.domain},
        )
        assert answer.status_code == 200, answer.text
        sessions[made.domain] = {"sessionToken": answer.json()["token"], "Host": made.domain}
        uids[made.domain] = bot.id
        assert login(server, signed).status_code == 401  # not a bot of the first tenant
    assert uids[a.domain] != uids[b.domain]  # same username, different people
    pod = f"{server.url}/pod/v1/admin/user"
    own = requests.get(f"{pod}/{uids[b.domain]}", headers=sessions[b.domain])
    assert own.status_code == 200 and own.json()["userAttributes"]["userName"] == "bot"
    theirs = requests.get(f"{pod}/{uids[a.domain]}", headers=sessions[b.domain])
    assert theirs.status_code == 400 and "not found" in theirs.text  # Symphony's answer
    names = requests.get(f"{server.url}/pod/v2/admin/user/list", headers=sessions[b.domain])
    assert names.status_code == 200, names.text
    assert {u["userAttributes"]["userName"] for u in names.json()} == {"admin", "bot"}


def test_a_tenant_admin_cannot_capture_traffic(server: RunningServer) -> None:
    b = _create(server)
    rmp_b = Rmp(server).login(f"admin@{b.domain}", b.password)
    for literal in ("127.0.0.1", "10.1", "192.168.0.1."):
        refused(rmp_b.post("/domains", json={"domain": literal, "type": "primary"}), 400, "domain")
    capture = f"{unique('capture')}.test"
    made = rmp_b.post("/domains", json={"domain": capture, "type": "primary"})
    assert made.status_code == 201, made.text
    # A Host the tenant added routes to nobody but the default: its admin is unknown there.
    assert _openfire(server, capture, "admin", ADMIN_PASSWORD, "/users").status_code == 200
    assert _openfire(server, capture, "admin", b.password, "/users").status_code == 401
    for asked in (
        {"email": f"admin@{capture}", "password": b.password},
        {"email": f"admin@{b.domain}", "password": b.password, "server": capture},
    ):
        refused(Rmp(server).post("/auth/login", json=asked), 401)
    # Only the operator adds a routing name.
    alt = f"{unique('alt')}.test"
    routed = townhall(server.database_url, "tenants", "route", b.domain, alt)
    assert routed.returncode == 0, routed.stderr
    assert _usernames(_openfire(server, alt, "admin", b.password, "/users")) == {"admin"}


def test_a_tenant_cannot_claim_a_name_inside_another_tenants(server: RunningServer) -> None:
    b = _create(server)
    rmp_b = Rmp(server).login(f"admin@{b.domain}", b.password)
    for inside in (f"mail.{DOMAIN}", f"a.b.{DOMAIN}"):
        refused(rmp_b.post("/domains", json={"domain": inside, "type": "primary"}), 403)
    own = rmp_b.post("/domains", json={"domain": f"mail.{b.domain}", "type": "primary"})
    assert own.status_code == 201, own.text
    first = admin(server).post("/domains", json={"domain": f"{unique('m')}.{DOMAIN}"})
    assert first.status_code == 201, first.text


def test_the_operator_route(server: RunningServer) -> None:
    operator = admin(server)
    b = _create(server)
    tenant_admin = Rmp(server).login(f"admin@{b.domain}", b.password)
    refused(tenant_admin.get("/admin/tenants"), 403)
    refused(tenant_admin.post("/admin/tenants", json={"domain": f"{unique('x')}.test"}), 403)
    refused(tenant_admin.delete(f"/admin/tenants/{b.domain}"), 403)
    plain = {"email": f"{unique('p')}@{DOMAIN}", "password": "pw-123456", "realName": "P"}
    assert operator.post("/users", json=plain).status_code == 201
    refused(Rmp(server).login(plain["email"], "pw-123456").get("/admin/tenants"), 403)
    domain = f"{unique('op')}.test"
    made = operator.post("/admin/tenants", json={"domain": domain, "name": "Op"})
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["tenant"] == {
        "domain": domain,
        "name": "Op",
        "routes": [domain],
        "default": False,
    }
    assert answer["admin"]["email"] == f"admin@{domain}"
    theirs = Rmp(server).login(answer["admin"]["email"], answer["admin"]["password"])
    booked = book(theirs, make_resource(theirs), at(9, day=3), at(10, day=3))  # data to delete
    assert booked.status_code == 201, booked.text
    group = {"name": "staff", "description": "d", "members": ["admin"], "admins": ["admin"]}
    made_group = requests.post(
        f"{server.api}/groups",
        json=group,
        headers={"Host": domain},
        auth=("admin", answer["admin"]["password"]),
    )
    assert made_group.status_code == 201, made_group.text
    event = {"title": "T", "startTime": "2032-05-03T10:00:00Z", "endTime": "2032-05-03T11:00:00Z"}
    assert theirs.post("/calendars/Calendar/events", json=event).status_code == 201
    refused(operator.post("/admin/tenants", json={"domain": domain}), 409)
    refused(operator.post("/admin/tenants", json={"domain": "127.0.0.1"}), 400, "domain")
    listed = operator.get("/admin/tenants").json()["tenants"]
    assert {"domain": DOMAIN, "default": True}.items() <= listed[0].items()
    assert domain in {t["domain"] for t in listed}
    refused(operator.delete(f"/admin/tenants/{DOMAIN}"), 409)
    assert operator.delete(f"/admin/tenants/{domain}").status_code == 200
    refused(operator.delete(f"/admin/tenants/{domain}"), 404)
    asked = {"email": answer["admin"]["email"], "password": answer["admin"]["password"]}
    refused(Rmp(server).post("/auth/login", json=asked), 401)


def test_an_ip_address_is_never_a_domain(server: RunningServer) -> None:
    """Whoever asks: the first tenant's own admin, through RMP, names no address."""
    operator = admin(server)
    for literal in ("127.0.0.1", "10.1", "192.168.0.1.", "[::1]", "::1"):
        refused(
            operator.post("/domains", json={"domain": literal, "type": "primary"}), 400, "domain"
        )
    domains = operator.get("/domains").json()
    assert not any(d["name"][-1].isdigit() for d in domains["domains"]), domains


def test_no_first_tenant_named_by_an_address(tmp_path: Path) -> None:
    """`TOWNHALL_DOMAIN=127.0.0.1` stops the first start with one line naming the
    setting, before anything is created."""
    database = tmp_path / "townhall.db"
    env = {
        **os.environ,
        "TOWNHALL_DATABASE_URL": f"sqlite:///{database}",
        "TOWNHALL_DOMAIN": "127.0.0.1",
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    # The timeout only ends a server that (wrongly) started; it asserts nothing.
    started = subprocess.run(
        [sys.executable, "-m", "townhall", "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 1, started.stdout + started.stderr
    assert started.stderr.strip().splitlines() == [
        "error: TOWNHALL_DOMAIN is an IP address, not a domain name"
    ], started.stderr
    env["TOWNHALL_DOMAIN"] = "example.org"
    listed = subprocess.run(
        [sys.executable, "-m", "townhall", "tenants", "list"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert "Created tenant example.org" in listed.stdout  # the failed start made none
    rows = [line.split("\t")[0] for line in listed.stdout.splitlines() if "\t" in line]
    assert rows == ["example.org"]
