"""Several server processes on PostgreSQL + Redis behave as one server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def cluster(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    if database_url.startswith("sqlite"):
        pytest.skip("several processes with Redis fan-out is the PostgreSQL deployment")
    running = start_server(
        database_url,
        tmp_path_factory.mktemp("cluster") / "server.log",
        workers=2,
        TOWNHALL_REDIS_URL=REDIS_URL,
    )
    yield running
    stop_server(running)


def _statuses(url: str, auth: object, n: int = 24) -> set[int]:
    # A new connection per request, so the requests spread over both workers.
    return {
        requests.get(url, auth=auth, headers={"Connection": "close"}).status_code  # type: ignore[arg-type]
        for _ in range(n)
    }


def test_an_auth_change_reaches_every_process_at_once(cluster: RunningServer) -> None:
    users = f"{cluster.api}/users/admin"
    basic = ("admin", ADMIN_PASSWORD)
    assert _statuses(users, basic) == {200}  # both workers now hold warm caches
    props = f"{cluster.api}/system/properties"
    secret = "cluster-test-secret"
    r = requests.post(props, json={"key": "plugin.restapi.secret", "value": secret}, auth=basic)
    assert r.status_code == 201
    r = requests.post(props, json={"key": "plugin.restapi.httpAuth", "value": "secret"}, auth=basic)
    assert r.status_code == 201
    time.sleep(0.2)  # Redis delivery, well under the 1-2 s the caches would otherwise keep
    try:
        assert _statuses(users, basic) == {401}
        with_secret = {
            requests.get(
                users, headers={"Authorization": secret, "Connection": "close"}
            ).status_code
            for _ in range(24)
        }
        assert with_secret == {200}
    finally:
        requests.put(
            f"{props}/plugin.restapi.httpAuth",
            json={"key": "plugin.restapi.httpAuth", "value": "basic"},
            headers={"Authorization": secret},
        )
    time.sleep(0.2)
    assert _statuses(users, basic) == {200}


def test_one_user_created_twice_across_processes(cluster: RunningServer) -> None:
    import threading

    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def create() -> None:
        barrier.wait()
        r = requests.post(
            f"{cluster.api}/users",
            json={"username": "twice", "password": "password-1"},
            auth=("admin", ADMIN_PASSWORD),
            headers={"Connection": "close"},
        )
        statuses.append(r.status_code)

    threads = [threading.Thread(target=create) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] + [409] * 9


def test_each_process_is_a_cluster_node(cluster: RunningServer) -> None:
    from openfire_restapi import OpenfireRestApiClient

    client = OpenfireRestApiClient(cluster.url, ("admin", ADMIN_PASSWORD))
    deadline = time.monotonic() + 15
    while len(client.clustering.get_nodes()) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    nodes = client.clustering.get_nodes()
    assert len(nodes) == 2
    assert sorted(n["seniorMember"] for n in nodes.values()) == [False, True]
    assert client.clustering.get_status() in {"Senior member", "Junior member"}
    some_id = next(iter(nodes))
    assert client.clustering.get_node(some_id)["nodeID"] == some_id


@pytest.fixture(scope="module")
def guarded_cluster(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """Two workers sharing login limits through Redis: 3 failures per account."""
    if database_url.startswith("sqlite"):
        pytest.skip("several processes with Redis fan-out is the PostgreSQL deployment")
    running = start_server(
        database_url,
        tmp_path_factory.mktemp("guarded") / "server.log",
        workers=2,
        TOWNHALL_REDIS_URL=REDIS_URL,
        TOWNHALL_LOGIN_FAILURES_PER_ACCOUNT="3",
    )
    yield running
    stop_server(running)


def test_the_account_limit_holds_across_processes(guarded_cluster: RunningServer) -> None:
    from tests.conftest import unique

    name = unique("guarded")
    made = requests.post(
        f"{guarded_cluster.api}/users",
        json={"username": name, "password": "right-password"},
        auth=("admin", ADMIN_PASSWORD),
    )
    assert made.status_code == 201, made.text
    statuses = [
        requests.get(
            f"{guarded_cluster.api}/users/admin",
            auth=(name, "wrong-password"),
            headers={"Connection": "close"},  # a new connection each: both workers answer
        ).status_code
        for _ in range(12)
    ]
    assert statuses == [401] * 3 + [429] * 9


def test_a_new_route_reaches_every_process_at_once(cluster: RunningServer) -> None:
    operator = {"Authorization": f"Bearer {_operator_token(cluster)}"}
    made = requests.post(
        f"{cluster.url}/api/v2/admin/tenants",
        json={"domain": f"routed{time.monotonic_ns()}.test"},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    name = f"alt{time.monotonic_ns()}.test"
    users = f"{cluster.api}/users/admin"
    basic = ("admin", ADMIN_PASSWORD)

    def statuses() -> set[int]:
        headers = {"Host": name, "Connection": "close", "Accept": "application/json"}
        return {requests.get(users, auth=basic, headers=headers).status_code for _ in range(24)}

    assert statuses() == {200}  # unknown name: the first tenant, cached in both workers
    routed = requests.post(
        f"{cluster.url}/api/v2/admin/tenants/{made.json()['tenant']['domain']}/routes",
        json={"name": name},
        headers=operator,
    )
    assert routed.status_code in (200, 201), routed.text
    time.sleep(0.2)  # Redis delivery, well under the 5 s the routing cache keeps a name
    # The new tenant's answers: the first tenant's admin is unknown there (429 once the
    # failures reach the account limit of the new tenant's own `admin`).
    assert statuses() <= {401, 429}


def _operator_token(cluster: RunningServer) -> str:
    login = {"email": "admin@example.org", "password": ADMIN_PASSWORD}
    answer = requests.post(f"{cluster.url}/api/v2/auth/login", json=login)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])
