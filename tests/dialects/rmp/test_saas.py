"""RMP's SaaS and portal routes, and plan limits held in every API (RMP, Openfire,
Symphony), through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.helpers.rmp import DOMAIN, Rmp, refused
from tests.helpers.symphony import key_pair
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson

PASSWORD = "customer-pw-1"
TINY_CATALOGUE = """
[rmp.tiny]
price = 31.00
users = 3
resources = 1

[rmp.big]
price = 62.00
users = 100
resources = 100

[email.basic]
price = 3.10
storage_gb = 1
"""


def _register(server: RunningServer, **changes: Any) -> tuple[requests.Response, str]:
    domain = f"{unique('acme')}.test"
    payload: dict[str, Any] = {
        "companyName": "ACME Corp",
        "emailDomain": domain,
        "adminEmail": f"boss@{domain}",
        "adminPassword": PASSWORD,
        "services": [
            {"service": "rmp", "plan": "standard"},
            {"service": "email", "plan": "business"},
        ],
        "deployment": "cloud",
        "region": "EU",
        **changes,
    }
    answer = requests.post(f"{server.url}/api/v2/saas/register", json=payload)
    return answer, domain


def _saas_login(server: RunningServer, email: str, password: str = PASSWORD) -> Rmp:
    rmp = Rmp(server)
    answer = rmp.post("/saas/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    rmp.login_answer = answer.json()
    rmp.headers["Authorization"] = f"Bearer {rmp.login_answer['token']}"
    return rmp


def _usage(rmp: Rmp) -> dict[str, Any]:
    answer = rmp.get("/saas/subscription")
    assert answer.status_code == 200, answer.text
    return answer.json()["subscription"]  # type: ignore[no-any-return]


# -- register, log in, see usage ----------------------------------------------------------


def test_register_login_and_real_usage(server: RunningServer) -> None:
    made, domain = _register(server)
    assert made.status_code == 201, made.text
    sub = made.json()["subscription"]
    assert sub["id"].startswith("sub_")
    assert sub["companyName"] == "ACME Corp" and sub["emailDomain"] == domain
    assert sub["server"] == domain  # no saas_server configured: the customer's own domain
    assert sub["services"]["rmp"] == {
        "plan": "standard",
        "price": 49.99,
        "maxUsers": 50,
        "maxResources": 100,
    }
    assert sub["services"]["email"]["plan"] == "business"
    assert sub["totalMonthly"] == 59.98 and sub["status"] == "active"
    assert made.json()["admin"] == {"email": f"boss@{domain}"}  # chosen password: not echoed

    rmp = _saas_login(server, f"boss@{domain}")
    body = rmp.login_answer
    assert body["server"] == domain
    assert body["user"] == {
        "email": f"boss@{domain}",
        "realName": "Administrator",
        "company": "ACME Corp",
    }
    assert body["subscription"]["services"] == ["rmp", "email"]
    assert body["subscription"]["expiresAt"].endswith("T00:00:00Z")
    assert body["refreshToken"] and body["expiresIn"] > 0

    usage = _usage(rmp)
    assert usage["services"]["rmp"]["users"] == 1 and usage["services"]["rmp"]["resources"] == 0
    assert usage["usage"]["users"] == 1
    assert usage["services"]["email"]["maxStorage"] == "50GB"
    assert usage["billing"]["monthly"] == 59.98
    assert usage["billing"]["nextBilling"].endswith("-01T00:00:00Z")

    person = {"email": f"ann@{domain}", "password": "pw-123456", "realName": "Ann"}
    assert rmp.post("/users", json=person).status_code == 201
    assert _usage(rmp)["services"]["rmp"]["users"] == 2

    # The same customer's admin signs in through the ordinary login too.
    assert Rmp(server).login(f"boss@{domain}", PASSWORD).login_answer["user"]["isServerAdmin"]
    # A second registration of the domain is refused, and a wrong password as usual.
    again, _ = _register(server, emailDomain=domain, adminEmail=f"x@{domain}")
    refused(again, 409)
    wrong = Rmp(server).post("/saas/login", json={"email": f"boss@{domain}", "password": "no"})
    refused(wrong, 401)


def test_servers_list_this_deployment(server: RunningServer) -> None:
    rmp = _saas_login(server, f"boss@{_registered(server)}")
    answer = rmp.get("/saas/servers")
    assert answer.status_code == 200, answer.text
    servers = answer.json()["servers"]
    assert len(servers) == 1  # no Redis: clustering is off, this process is the node
    node = servers[0]
    assert node["region"] == "EU" and node["status"] == "available"
    assert node["capacity"]["maximum"] == 100
    assert node["capacity"]["current"] >= 1  # at least the customer just registered
    assert node["capacity"]["percentage"] == node["capacity"]["current"]
    refused(requests.get(f"{server.url}/api/v2/saas/servers"), 401)


def _registered(server: RunningServer, **changes: Any) -> str:
    made, domain = _register(server, **changes)
    assert made.status_code == 201, made.text
    return domain


def test_bad_input_is_refused_naming_the_field_and_stores_nothing(server: RunningServer) -> None:
    url = f"{server.url}/api/v2/saas/register"
    domain = f"{unique('bad')}.test"
    good: dict[str, Any] = {
        "companyName": "Bad Inc",
        "emailDomain": domain,
        "adminEmail": f"boss@{domain}",
        "adminPassword": PASSWORD,
        "services": [{"service": "rmp", "plan": "standard"}],
        "deployment": "cloud",
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"companyName": None}, "companyName"),
        ({"companyName": "  "}, "companyName"),
        ({"emailDomain": "not a domain"}, "emailDomain"),
        ({"adminEmail": "boss@elsewhere.test"}, "adminEmail"),
        ({"adminEmail": "nobody"}, "adminEmail"),
        ({"services": []}, "services"),
        ({"services": "rmp"}, "services"),
        ({"services": [{"service": "rmp", "plan": "platinum"}]}, "services"),
        ({"services": [{"service": "fax", "plan": "standard"}]}, "services"),
        ({"deployment": "moon"}, "deployment"),
        ({"region": "Mars"}, "region"),
        ({"adminPassword": "short"}, "adminPassword"),
        ({"adminName": "x" * 2000}, "adminName"),
        ({"adminEmail": 5}, "adminEmail"),
    ]
    for change, field in cases:
        payload = {k: v for k, v in {**good, **change}.items() if v is not None}
        refused(requests.post(url, json=payload), 400, field)
    made = requests.post(url, json=good)  # nothing was left behind by the refusals
    assert made.status_code == 201, made.text

    rmp = _saas_login(server, f"boss@{domain}")
    refused(rmp.post("/saas/subscription/upgrade", json={"service": "rmp"}), 400, "newPlan")
    refused(
        rmp.post("/saas/subscription/upgrade", json={"service": "rmp", "newPlan": "gold"}),
        400,
        "newPlan",
    )
    refused(
        rmp.post("/saas/subscription/upgrade", json={"service": "fax", "newPlan": "x"}),
        400,
        "service",
    )
    refused(
        rmp.post("/saas/subscription/upgrade", json={"service": "rmp", "newPlan": "standard"}),
        400,
        "newPlan",
    )
    refused(rmp.get("/saas/invoices", params={"page": "0"}), 400, "page")
    # No customer holds the domain: refused like a wrong password.
    nobody = Rmp(server).post(
        "/saas/login", json={"email": f"admin@{DOMAIN}", "password": ADMIN_PASSWORD}
    )
    refused(nobody, 401)
    # The deployment's own tenant has no subscription.
    own = Rmp(server).login(f"admin@{DOMAIN}", ADMIN_PASSWORD)
    refused(own.get("/saas/subscription"), 404)
    # A customer's plain member sees no billing.
    assert (
        rmp.post(
            "/users", json={"email": f"m@{domain}", "password": "pw-123456", "realName": "M"}
        ).status_code
        == 201
    )
    member = Rmp(server).login(f"m@{domain}", "pw-123456")
    refused(member.get("/saas/subscription"), 403)
    refused(
        member.post("/saas/subscription/upgrade", json={"service": "rmp", "newPlan": "free"}), 403
    )


# -- a deployment with its own catalogue and pinned clocks ---------------------------------


@dataclass
class Pinned:
    march_1: RunningServer
    march_11: RunningServer


def _offset_to(moment: datetime) -> str:
    return str(round((moment - datetime.now(UTC)).total_seconds()))


@pytest.fixture(scope="module")
def pinned(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pinned]:
    """Two servers on the test database with the operator's catalogue (a TOML file), one
    whose clock reads 2031-03-01 12:00Z, one 2031-03-11 12:00Z."""
    folder = tmp_path_factory.mktemp("saas")
    catalogue = folder / "plans.toml"
    catalogue.write_text(TINY_CATALOGUE)
    started = []
    try:
        for day in (1, 11):
            offset = _offset_to(datetime(2031, 3, day, 12, tzinfo=UTC))
            started.append(
                start_server(
                    database_url,
                    folder / f"server-{day}.log",
                    TOWNHALL_CLOCK_OFFSET_SECONDS=offset,
                    TOWNHALL_SAAS_PLANS=str(catalogue),
                    TOWNHALL_SAAS_REGISTRATIONS_PER_ADDRESS="3",
                )
            )
        yield Pinned(*started)
    finally:
        for running in started:
            stop_server(running)


def _tiny(server: RunningServer) -> str:
    return _registered(
        server,
        services=[{"service": "rmp", "plan": "tiny"}, {"service": "email", "plan": "basic"}],
    )


def test_upgrade_mid_month_prorates_by_the_day(pinned: Pinned) -> None:
    domain = _tiny(pinned.march_1)
    early = _saas_login(pinned.march_1, f"boss@{domain}")
    first = early.get("/saas/invoices")
    assert first.status_code == 200, first.text
    [march] = first.json()["invoices"]
    assert march["periodStart"] == "2031-03-01" and march["status"] == "open"
    assert march["total"] == 34.10  # both plans for the whole month

    late = _saas_login(pinned.march_11, f"boss@{domain}")
    upgraded = late.post("/saas/subscription/upgrade", json={"service": "rmp", "newPlan": "big"})
    assert upgraded.status_code == 200, upgraded.text
    rmp = upgraded.json()["subscription"]["services"]["rmp"]
    assert rmp["plan"] == "big" and rmp["maxUsers"] == 100 and rmp["price"] == 62.0

    answer = late.get("/saas/invoices")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 1 and body["page"] == 1 and body["pages"] == 1
    [march] = body["invoices"]
    lines = {(line["service"], line["plan"]): line for line in march["lines"]}
    # 10 days of tiny (1st to 10th), 21 of big (11th, the day of the change, to 31st).
    assert lines["rmp", "tiny"]["days"] == 10 and lines["rmp", "tiny"]["amount"] == 10.00
    assert lines["rmp", "big"]["days"] == 21 and lines["rmp", "big"]["amount"] == 42.00
    assert lines["email", "basic"]["days"] == 31 and lines["email", "basic"]["amount"] == 3.10
    assert all(line["daysInPeriod"] == 31 for line in march["lines"])
    assert march["total"] == 55.10


def test_registrations_are_limited_per_client_address(pinned: Pinned) -> None:
    """The March 11 server lets one address register 3 customers an hour."""
    for _ in range(3):
        _tiny(pinned.march_11)
    answer, _ = _register(pinned.march_11, services=[{"service": "rmp", "plan": "tiny"}])
    error = refused(answer, 429)
    assert error["details"]["retryAfter"] > 0


def _openfire_create(server: RunningServer, domain: str, name: str) -> requests.Response:
    return requests.post(
        f"{server.api}/users",
        json={"username": name, "password": "pw-123456", "name": name, "email": f"{name}@{domain}"},
        headers={"Host": domain, "Accept": "application/json"},
        auth=("boss", PASSWORD),
    )


async def test_plan_limits_hold_in_every_api(pinned: Pinned, services: Services) -> None:
    server = pinned.march_1
    domain = _tiny(server)  # 3 users, 1 resource
    rmp = _saas_login(server, f"boss@{domain}")
    # A Symphony bot of the customer (user 2 of 3), made in process as tests/test_tenants.py
    # does: the limit is the service's, so it counts as any person does.
    tenant = await services.tenants.routed(domain)
    assert tenant is not None
    private, public = key_pair()
    await services.people.create(
        Principal.system(tenant),
        NewPerson(
            "bot",
            roles=frozenset({"ADMINISTRATOR"}),
            account_type="SYSTEM",
            keys={"current": (public, None)},
        ),
    )
    # The server's clock reads 2031-03-01 12:00Z: the bot's token expires after that.
    expires = int(datetime(2031, 3, 1, 12, 4, tzinfo=UTC).timestamp())
    signed = jwt.encode({"sub": "bot", "exp": expires}, private, algorithm="RS512")
    session = requests.post(
        f"{server.url}/login/pubkey/authenticate", json={"token": signed}, headers={"Host": domain}
    )
    assert session.status_code == 200, session.text
    pod = {"sessionToken": session.json()["token"], "Host": domain}

    third = {"email": f"c@{domain}", "password": "pw-123456", "realName": "C"}
    assert rmp.post("/users", json=third).status_code == 201  # user 3 of 3

    # RMP: 403 in its envelope, the code and the numbers in details.
    fourth = {"email": f"d@{domain}", "password": "pw-123456", "realName": "D"}
    error = refused(rmp.post("/users", json=fourth), 403)
    assert error["code"] == "PLAN_LIMIT_REACHED"
    assert error["details"] == {"limit": "users", "allowed": 3, "used": 3}
    # Openfire: its error entity.
    answer = _openfire_create(server, domain, "olga")
    assert answer.status_code == 403, answer.text
    assert answer.json()["exception"] == "NotAllowedException"
    assert "at most 3 users" in answer.json()["message"]
    # Symphony: its {code, message}.
    answer = requests.post(
        f"{server.url}/pod/v2/admin/user/create",
        json={
            "userAttributes": {
                "userName": "sam",
                "emailAddress": f"sam@{domain}",
                "accountType": "NORMAL",
                "displayName": "Sam",
            }
        },
        headers=pod,
    )
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == 403 and "at most 3 users" in answer.json()["message"]
    # Nothing was created by any of them.
    assert _usage(rmp)["services"]["rmp"]["users"] == 3
    for name in ("d", "olga", "sam"):
        assert rmp.get(f"/users/{name}@{domain}").status_code == 404

    # Resources: the first fits, the second is refused, also in a bulk creation.
    kind = unique("room-type")
    made = rmp.post("/resource-types", json={"id": kind, "name": "Room", "category": "rooms"})
    assert made.status_code == 201, made.text
    one = rmp.post("/resources", json={"name": "Room A", "type": kind, "category": "rooms"})
    assert one.status_code == 201, one.text
    error = refused(
        rmp.post("/resources", json={"name": "Room B", "type": kind, "category": "rooms"}), 403
    )
    assert error["details"] == {"limit": "resources", "allowed": 1, "used": 1}
    assert _usage(rmp)["services"]["rmp"]["resources"] == 1

    # A plan the customer already outgrows is refused; a bigger one lets them grow at once.
    answer = rmp.post("/saas/subscription/upgrade", json={"service": "rmp", "newPlan": "big"})
    assert answer.status_code == 200, answer.text
    assert _openfire_create(server, domain, "olga").status_code == 201
    assert rmp.post("/users", json=fourth).status_code == 201
    down = rmp.post("/saas/subscription/upgrade", json={"service": "rmp", "newPlan": "tiny"})
    refused(down, 409)
    assert _usage(rmp)["services"]["rmp"] == {
        "plan": "big",
        "price": 62.0,
        "users": 5,
        "maxUsers": 100,
        "resources": 1,
        "maxResources": 100,
    }


def test_a_bad_catalogue_stops_the_server_naming_the_setting(
    database_url: str, tmp_path: Path
) -> None:
    catalogue = tmp_path / "plans.toml"
    catalogue.write_text('[rmp.tiny]\nprice = "lots"\n')
    with pytest.raises(RuntimeError) as failed:
        start_server(database_url, tmp_path / "server.log", TOWNHALL_SAAS_PLANS=str(catalogue))
    assert "TOWNHALL_SAAS_PLANS" in str(failed.value) and "rmp.tiny" in str(failed.value)


def test_concurrent_creations_never_pass_the_limit(server: RunningServer) -> None:
    """Ten people created at once where four places are left: exactly four are made (the
    subscription row is locked before counting)."""
    domain = _registered(server, services=[{"service": "rmp", "plan": "free"}])  # 5 users
    rmp = _saas_login(server, f"boss@{domain}")
    token = rmp.headers["Authorization"]

    def create(n: int) -> int:
        answer = requests.post(
            f"{server.url}/api/v2/users",
            json={"email": f"p{n}@{domain}", "password": "pw-123456", "realName": f"P{n}"},
            headers={"Authorization": token},
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(create, range(10)))
    assert statuses == [201] * 4 + [403] * 6
    assert _usage(rmp)["services"]["rmp"]["users"] == 5
