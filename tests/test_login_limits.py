"""Failed logins are held back per account and per client address, on every API.

A server of its own with small limits: 3 failures per account and 6 per address in a
window of WINDOW seconds. Each test speaks from loopback addresses of its own
(127.0.0.x), so one test's failures never count against another's.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.helpers.rmp import DOMAIN, person
from tests.helpers.symphony import key_pair, make_bot
from townhall.config import Settings
from townhall.infrastructure.throttle import Limit, RedisThrottle
from townhall.services.container import Services

REDIS_URL = "redis://127.0.0.1:6379/0"
PER_ACCOUNT = 3
PER_ADDRESS = 6
WINDOW = 8
PASSWORD = "pw-123456"  # what tests.helpers.rmp.person gives everyone
_hosts = itertools.count(10)


class _From(HTTPAdapter):
    """Connections from one loopback source address (Linux routes all of 127/8 to lo)."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def client() -> requests.Session:
    """A session from a loopback address no other request in this module uses."""
    session = requests.Session()
    session.mount("http://", _From(f"127.0.0.{next(_hosts)}"))
    return session


@pytest.fixture(scope="module")
def guarded(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        database_url,
        tmp_path_factory.mktemp("limits") / "server.log",
        TOWNHALL_LOGIN_FAILURES_PER_ACCOUNT=str(PER_ACCOUNT),
        TOWNHALL_LOGIN_FAILURES_PER_ADDRESS=str(PER_ADDRESS),
        TOWNHALL_LOGIN_FAILURE_WINDOW_SECONDS=str(WINDOW),
    )
    yield running
    stop_server(running)


def _rmp_login(session: requests.Session, server: RunningServer, email: str, password: str) -> Any:
    body = {"email": email, "password": password}
    return session.post(f"{server.url}/api/v2/auth/login", json=body)


def _held(answer: requests.Response) -> int:
    assert answer.status_code == 429, answer.text
    return int(answer.headers["Retry-After"])


def test_many_logins_at_once_with_the_right_password_count_as_one_attempt(
    guarded: RunningServer,
) -> None:
    """A client that logs in on many connections at once (a pool warming up, a
    benchmark) is one attempt while the first check runs, not one per connection:
    counted one by one, all but the first PER_ACCOUNT got "too many failed logins"."""
    _, email = person(guarded)
    at_once = PER_ACCOUNT * 8
    sessions = [client() for _ in range(at_once)]  # addresses of their own: the account counts
    start = threading.Barrier(at_once)

    def login(session: requests.Session) -> int:
        start.wait()
        return int(_rmp_login(session, guarded, email, PASSWORD).status_code)

    with ThreadPoolExecutor(at_once) as pool:
        answers = list(pool.map(login, sessions))
    assert answers == [200] * at_once


def test_rmp_holds_an_account_back_even_for_the_right_password_until_the_window_ends(
    guarded: RunningServer,
) -> None:
    _, email = person(guarded)
    _, bystander = person(guarded)
    attacker = client()
    for _ in range(PER_ACCOUNT):
        assert _rmp_login(attacker, guarded, email, "wrong-password").status_code == 401
    held = _rmp_login(attacker, guarded, email, "wrong-password")
    assert 1 <= _held(held) <= WINDOW
    assert held.json()["success"] is False and held.json()["error"]["code"] == "RATE_LIMITED"
    right = _rmp_login(client(), guarded, email, PASSWORD)  # from elsewhere, too
    wait = _held(right)
    assert _rmp_login(client(), guarded, bystander, PASSWORD).status_code == 200
    time.sleep(wait)
    assert _rmp_login(client(), guarded, email, PASSWORD).status_code == 200


def test_failed_logins_are_in_the_security_audit_log(guarded: RunningServer) -> None:
    _, email = person(guarded)
    username = email.split("@")[0]
    attacker = client()
    for _ in range(PER_ACCOUNT + 2):
        _rmp_login(attacker, guarded, email, "wrong-password")
    logs = requests.get(
        f"{guarded.api}/logs/security",
        params={"username": username},
        auth=("admin", ADMIN_PASSWORD),
        headers={"Accept": "application/json"},
    )
    assert logs.status_code == 200, logs.text
    entries = logs.json()["logs"]
    failed = [e for e in entries if e["summary"].startswith("session.login_failed")]
    assert len(failed) == PER_ACCOUNT  # the ones held back checked nothing
    assert all("127.0.0." in e["summary"] for e in failed)
    assert "wrong-password" not in guarded.log.read_text()
    assert f"login failed: tenant={DOMAIN} username='{username}'" in guarded.log.read_text()


def test_openfire_basic_answers_the_plugins_error_with_retry_after(guarded: RunningServer) -> None:
    _, email = person(guarded)
    username = email.split("@")[0]
    attacker = client()
    users = f"{guarded.api}/users/admin"
    json = {"Accept": "application/json"}
    for _ in range(PER_ACCOUNT):
        assert attacker.get(users, auth=(username, "wrong"), headers=json).status_code == 401
    held = attacker.get(users, auth=(username, "wrong"), headers=json)
    _held(held)
    assert held.json()["exception"] and held.json()["message"]
    _held(client().get(users, auth=(username, PASSWORD), headers=json))


async def test_symphony_key_logins_are_held_back(
    guarded: RunningServer, services: Services
) -> None:
    bot = await make_bot(services, frozenset({"INDIVIDUAL"}))
    stranger_key, _ = key_pair()
    attacker = client()
    url = f"{guarded.url}/login/pubkey/authenticate"
    forged = jwt.encode(
        {"sub": bot.username, "exp": int(time.time()) + 60}, stranger_key, algorithm="RS512"
    )
    for _ in range(PER_ACCOUNT):
        assert attacker.post(url, json={"token": forged}).status_code == 401
    held = attacker.post(url, json={"token": forged})
    _held(held)
    assert held.json()["code"] == 429 and held.json()["message"]
    _held(client().post(url, json={"token": bot.jwt()}))


def test_an_address_is_held_back_across_accounts_not_elsewhere(guarded: RunningServer) -> None:
    _, email = person(guarded)
    attacker = client()
    for _ in range(PER_ADDRESS):
        guess = f"{unique('nobody')}@{DOMAIN}"  # one failure per account: no account limit
        assert _rmp_login(attacker, guarded, guess, "wrong-password").status_code == 401
    _held(_rmp_login(attacker, guarded, email, PASSWORD))
    assert _rmp_login(client(), guarded, email, PASSWORD).status_code == 200


def test_a_success_restarts_the_account_count_but_not_the_address_count(
    guarded: RunningServer,
) -> None:
    _, email = person(guarded)
    user = client()
    for _ in range(2):
        for _ in range(PER_ACCOUNT - 1):
            assert _rmp_login(user, guarded, email, "typo-password").status_code == 401
        assert _rmp_login(user, guarded, email, PASSWORD).status_code == 200
    # 4 failures and 2 successes from this address: two more failures reach its limit.
    for _ in range(PER_ADDRESS - 2 * (PER_ACCOUNT - 1)):
        _rmp_login(user, guarded, f"{unique('nobody')}@{DOMAIN}", "wrong-password")
    _held(_rmp_login(user, guarded, email, PASSWORD))


async def test_deployments_on_one_redis_count_apart() -> None:
    """Keys start with each deployment's name (by default a digest of its database URL),
    so a second deployment on the same Redis neither sees nor holds back our logins."""
    ours = Settings(database_url=f"sqlite:///{unique('ours')}.db")
    theirs = Settings(database_url=f"sqlite:///{unique('theirs')}.db")
    assert ours.deployment_name != theirs.deployment_name
    named = Settings(database_url=ours.database_url, deployment_name="chosen")
    assert named.deployment_name == "chosen"
    throttles = [RedisThrottle(REDIS_URL, WINDOW, s.deployment_name) for s in (ours, theirs)]
    try:
        limit = [Limit(throttles[0].key("login", "address", "192.0.2.1"), 1)]
        assert (await throttles[0].attempt(limit)).wait is None
        assert (await throttles[0].attempt(limit)).wait is not None
        other = [Limit(throttles[1].key("login", "address", "192.0.2.1"), 1)]
        assert (await throttles[1].attempt(other)).wait is None
    finally:
        for throttle in throttles:
            await throttle.close()


def test_guessing_the_shared_secret_is_held_back_per_address(guarded: RunningServer) -> None:
    admin = requests.Session()
    admin.auth = ("admin", ADMIN_PASSWORD)
    secret = "a-shared-secret-" + unique("s")
    made = admin.put(
        f"{guarded.api}/system/properties/plugin.restapi.secret",
        json={"key": "plugin.restapi.secret", "value": secret},
        headers={"Accept": "application/json"},
    )
    assert made.status_code == 200, made.text
    url = f"{guarded.url}/plugins/restapi/v1/userservice"
    guesser = client()
    for guess in range(PER_ADDRESS):
        refused = guesser.get(url, params={"secret": f"guess-{guess}", "type": "none"})
        assert refused.text == "<error>RequestNotAuthorised</error>\n"
    _held(guesser.get(url, params={"secret": secret, "type": "none"}))
    assert client().get(url, params={"secret": secret, "type": "none"}).status_code == 200
