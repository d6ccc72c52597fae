"""What an operator sees of a running server: one access line per request (text or
JSON), failed logins logged and audited on every API, Prometheus metrics per route summed
across workers (also after the workers are replaced), and readiness naming each
dependency.

Every server here is a real `townhall serve`, read through its log file and over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
import requests

from tests.conftest import (
    ADMIN_PASSWORD,
    RunningServer,
    start_server,
    stop_server,
    unique,
)
from tests.console.helpers import Console
from tests.helpers.mail import send
from tests.helpers.symphony import key_pair

ADMIN = ("admin", ADMIN_PASSWORD)
REDIS_URL = "redis://127.0.0.1:6379/0"
USER_ROUTE = "/plugins/restapi/v1/users/{username}"
SECRET = "never-logged-Secret-42"
"""The password of every failed login here: it must appear in no log."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_lines(log: Path, needle: str, wait: float = 10.0) -> list[str]:
    """The log's lines holding `needle`, waiting for the first one: a request's access
    line is written once its answer is sent, so it may trail the client's read."""
    deadline = time.monotonic() + wait
    while True:
        lines = [line for line in log.read_text(errors="replace").splitlines() if needle in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def _access_line(server: RunningServer, request_id: str) -> str:
    lines = [line for line in _log_lines(server.log, request_id) if "townhall.access" in line]
    assert len(lines) == 1, (request_id, lines)
    return lines[0]


# -- the access log ----------------------------------------------------------------------


def test_each_request_has_one_access_line_with_its_route_api_principal_and_id(
    server: RunningServer,
) -> None:
    given = unique("req-")
    answer = requests.get(f"{server.api}/users/admin", auth=ADMIN, headers={"X-Request-Id": given})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Request-Id"] == given
    line = _access_line(server, f"request_id={given} ")
    assert f" GET {USER_ROUTE} 200 " in line, line
    assert " api=openfire " in line and " principal=admin@example.org " in line, line
    assert line.endswith(" path=/plugins/restapi/v1/users/admin"), line
    assert re.search(r" 200 \d+\.\dms ", line), line


def test_an_id_is_made_when_none_or_an_unfit_one_is_sent(server: RunningServer) -> None:
    made = requests.get(f"{server.url}/healthz")
    unfit = requests.get(f"{server.url}/healthz", headers={"X-Request-Id": "a b\tc" + "x" * 200})
    ids = {made.headers["X-Request-Id"], unfit.headers["X-Request-Id"]}
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]+", i) for i in ids), ids
    for request_id in ids:
        line = _access_line(server, f"request_id={request_id} ")
        assert " GET /healthz 200 " in line and " api=server principal=- " in line, line


def test_refusals_before_and_without_a_route_are_logged_by_template_and_api(
    server: RunningServer,
) -> None:
    refused = requests.get(
        f"{server.api}/users/admin", auth=("admin", "wrong-" + SECRET), headers=_id("401")
    )
    assert refused.status_code == 401
    line = _access_line(server, refused.headers["X-Request-Id"])
    assert f" GET {USER_ROUTE} 401 " in line and " principal=- " in line, line
    missing = requests.get(f"{server.url}/api/v2/{unique('nowhere')}", headers=_id("404"))
    assert missing.status_code == 404
    line = _access_line(server, missing.headers["X-Request-Id"])
    assert " GET unmatched 404 " in line and " api=rmp " in line, line
    head = requests.head(f"{server.api}/users/admin", auth=ADMIN, headers=_id("head"))
    assert head.status_code == 200
    line = _access_line(server, head.headers["X-Request-Id"])
    assert f" HEAD {USER_ROUTE} 200 " in line, line


def test_every_api_is_named_with_its_principal(server: RunningServer) -> None:
    login = requests.post(
        f"{server.url}/api/v2/auth/login",
        json={"email": "admin@example.org", "password": ADMIN_PASSWORD},
        headers=_id("rmp-login"),
    )
    assert login.status_code == 200, login.text
    token = login.json()["token"]
    me = requests.get(
        f"{server.url}/api/v2/auth/admin",
        headers={"Authorization": f"Bearer {token}", **_id("rmp")},
    )
    ox = requests.get(
        f"{server.url}/oxaas/v1/admin/contexts/1/users", auth=ADMIN, headers=_id("ox")
    )
    pod = requests.get(f"{server.url}/pod/v1/sessioninfo", headers=_id("pod"))
    expected = {
        login: ("POST /api/v2/auth/login", "rmp", "-"),
        me: ("GET /api/v2/auth/admin", "rmp", "admin@example.org"),
        ox: ("GET /oxaas/v1/admin/contexts/{contextid}/users", "oxaas", "admin@example.org"),
        pod: ("GET /pod/v1/sessioninfo", "symphony", "-"),
    }
    for answer, (route, api, principal) in expected.items():
        line = _access_line(server, answer.headers["X-Request-Id"])
        assert f" {route} {answer.status_code} " in line, line
        assert f" api={api} principal={principal} " in line, line
    console = Console(server)
    assert console.sign_in().status_code == 303
    people = console.page("/people")
    assert people.status_code == 200
    line = _access_line(server, people.headers["X-Request-Id"])
    assert " GET /admin/people 200 " in line, line
    assert " api=console principal=admin@example.org " in line, line


def _id(label: str) -> dict[str, str]:
    return {"X-Request-Id": unique(f"t-{label}-")}


def test_json_lines_parse_with_typed_fields(tmp_path: Path) -> None:
    running = start_server(
        f"sqlite:///{tmp_path / 'townhall.db'}", tmp_path / "server.log", TOWNHALL_LOG_FORMAT="json"
    )
    try:
        given = unique("json-")
        assert requests.get(
            f"{running.api}/users/admin", auth=ADMIN, headers={"X-Request-Id": given}
        ).ok
        lines = _log_lines(running.log, given)
    finally:
        stop_server(running)
    ours = [line for line in running.log.read_text().splitlines() if line.startswith("{")]
    parsed = [json.loads(line) for line in ours]  # every one of Townhall's lines parses
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in parsed)
    (entry,) = [json.loads(line) for line in lines]
    assert entry["logger"] == "townhall.access" and entry["level"] == "info"
    assert entry["method"] == "GET" and entry["route"] == USER_ROUTE
    assert entry["status"] == 200 and isinstance(entry["duration_ms"], float)
    assert entry["api"] == "openfire" and entry["principal"] == "admin@example.org"
    assert entry["request_id"] == given and entry["path"] == "/plugins/restapi/v1/users/admin"


def test_an_unknown_log_format_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "townhall", "serve", "--port", str(_free_port())],
        env={
            **os.environ,
            "TOWNHALL_DATABASE_URL": f"sqlite:///{tmp_path / 'townhall.db'}",
            "TOWNHALL_LOG_FORMAT": "xml",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "TOWNHALL_LOG_FORMAT: must be one of text, json" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "townhall.db").exists()


# -- failed logins -----------------------------------------------------------------------


def _openfire(server: RunningServer, name: str) -> int:
    return requests.get(f"{server.api}/users/admin", auth=(name, SECRET)).status_code


def _rmp(server: RunningServer, name: str) -> int:
    body = {"email": f"{name}@example.org", "password": SECRET}
    return requests.post(f"{server.url}/api/v2/auth/login", json=body).status_code


def _ox(server: RunningServer, name: str) -> int:
    return requests.get(
        f"{server.url}/oxaas/v1/admin/contexts/1/users", auth=(name, SECRET)
    ).status_code


def _symphony(server: RunningServer, name: str) -> int:
    private, _ = key_pair()  # a key registered for nobody
    signed = jwt.encode({"sub": name, "exp": int(time.time()) + 60}, private, algorithm="RS512")
    answer = requests.post(f"{server.url}/login/pubkey/authenticate", json={"token": signed})
    return answer.status_code


def _console(server: RunningServer, name: str) -> int:
    console = Console(server)
    return console.sign_in(name, SECRET).status_code


@pytest.mark.parametrize(
    "api", [_openfire, _rmp, _ox, _symphony, _console], ids=lambda f: f.__name__[1:]
)
def test_a_failed_login_is_logged_and_audited_never_with_the_password(
    server: RunningServer, api: object
) -> None:
    name = unique("ghost")
    assert api(server, name) in (400, 401), name  # type: ignore[operator]
    (line,) = _log_lines(server.log, f"username='{name}'")
    assert "warning townhall.auth login failed: tenant=example.org" in line, line
    assert "address=127.0.0.1" in line, line
    audit = requests.get(
        f"{server.api}/logs/security",
        params={"username": name},
        auth=ADMIN,
        headers={"Accept": "application/json"},
    )
    assert audit.status_code == 200, audit.text
    failed = [e for e in audit.json()["logs"] if e["summary"].startswith("session.login_failed")]
    assert len(failed) == 1 and "127.0.0.1" in failed[0]["summary"], audit.json()
    assert SECRET not in server.log.read_text()


def test_a_non_administrators_right_password_is_a_failed_openfire_login(
    server: RunningServer,
) -> None:
    name = unique("plain")
    made = requests.post(
        f"{server.api}/users", json={"username": name, "password": SECRET}, auth=ADMIN
    )
    assert made.status_code == 201, made.text
    assert _openfire(server, name) == 401
    (line,) = _log_lines(server.log, f"username='{name}'")
    assert "reason=not an administrator" in line, line


# -- metrics across workers --------------------------------------------------------------


def _scrape(server: RunningServer) -> dict[str, float]:
    """`name{labels}` -> value of one scrape (labels as Prometheus prints them)."""
    text = requests.get(f"{server.url}/metrics").text
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            found[series] = float(value)
    return found


def _series(name: str, **labels: str) -> str:
    inner = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _fetch_user(server: RunningServer) -> str:
    """One request on a new connection; the id's prefix names the worker that answered."""
    answer = requests.get(f"{server.api}/users/admin", auth=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.headers["X-Request-Id"].split("-")[0]


def _drive(server: RunningServer, until_workers: int, batch: int = 40) -> tuple[int, set[str]]:
    """Batches of parallel requests until `until_workers` workers answered some (at
    most 10 batches): how many were made and which workers answered."""
    made, workers = 0, set()
    with ThreadPoolExecutor(8) as pool:
        for _ in range(10):
            workers |= set(pool.map(lambda _: _fetch_user(server), range(batch)))
            made += batch
            if len(workers) >= until_workers:
                break
    return made, workers


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(
        database_url, tmp_path / "server.log", workers=2, TOWNHALL_DB_POOL_SIZE="2"
    )
    yield running
    stop_server(running)


def test_one_scrape_sums_both_workers_and_survives_their_replacement(
    two_workers: RunningServer,
) -> None:
    server = two_workers
    made, workers = _drive(server, until_workers=2)
    assert len(workers) == 2, workers  # both workers answered some
    count = _series(
        "townhall_http_requests_total", api="openfire", method="GET", route=USER_ROUTE, status="200"
    )
    timed = {"api": "openfire", "method": "GET", "route": USER_ROUTE}
    first = _scrape(server)
    assert first[count] == made, (made, {k: v for k, v in first.items() if "users" in k})
    name = "townhall_http_request_duration_seconds"
    assert first[_series(name + "_count", **timed)] == made
    assert first[_series(name + "_bucket", le="+Inf", **timed)] == made
    buckets = [k for k in first if k.startswith(name + "_bucket") and USER_ROUTE in k]
    assert len(buckets) >= 10, buckets
    scrapes = _series(
        "townhall_http_requests_total", api="server", method="GET", route="/metrics", status="200"
    )
    pools = {k: v for k, v in first.items() if k.startswith("townhall_db_pool_size")}
    assert pools and all(v > 0 for v in pools.values()), pools

    # Granian replaces both workers on SIGHUP: what the old ones counted stays, counted
    # once, and their gauges (pool sizes) leave with them.
    server.process.send_signal(signal.SIGHUP)
    assert _log_lines(server.log, "Stopped old worker-2", wait=60), server.log.read_text()
    more, new_workers = _drive(server, until_workers=2)
    assert not new_workers & workers, (workers, new_workers)
    second = _scrape(server)
    assert second[count] == made + more
    assert second[_series(name + "_bucket", le="+Inf", **timed)] == made + more
    assert second[scrapes] == first.get(scrapes, 0) + 1  # the first scrape, counted once
    assert {k: v for k, v in second.items() if k.startswith("townhall_db_pool_size")} == pools
    assert second["townhall_events_published_total"] >= first["townhall_events_published_total"]


def test_serve_removes_the_metrics_folder_of_a_killed_server(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    orphan = Path(tempfile.gettempdir()) / f"townhall-metrics-{gone.stdout.strip()}-test"
    orphan.mkdir()
    (orphan / "counter_1.db").write_bytes(b"")
    running = start_server(f"sqlite:///{tmp_path / 'townhall.db'}", tmp_path / "server.log")
    try:
        assert not orphan.exists()
        own = [
            p
            for p in Path(tempfile.gettempdir()).glob("townhall-metrics-*")
            if p.name.startswith(f"townhall-metrics-{running.process.pid}-")
        ]
        assert len(own) == 1 and any(own[0].glob("counter_*.db")), own
    finally:
        stop_server(running)
    assert not own[0].exists()  # removed when serving ended


# -- readiness ---------------------------------------------------------------------------


def _unready(database_url: str, log: Path, env: dict[str, str]) -> requests.Response:
    """`/readyz` of a server that answers (`/healthz`) but is not ready, then stopped."""
    port = _free_port()
    environment = {
        **os.environ,
        "TOWNHALL_DATABASE_URL": database_url,
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOWNHALL_DOMAIN": "example.org",
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "townhall", "serve", "--port", str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not answer:\n{log.read_text()}")
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_readiness_names_each_listener_and_what_is_down(database_url: str, tmp_path: Path) -> None:
    smtp, policy, closed = _free_port(), _free_port(), _free_port()
    log = tmp_path / "server.log"
    env = {
        "TOWNHALL_SMTP_LISTEN": f"127.0.0.1:{smtp}",
        "TOWNHALL_MTA_POLICY_LISTEN": f"127.0.0.1:{policy}",
        "TOWNHALL_MAIL_STORE": "dovecot",
        "TOWNHALL_DOVEADM_URL": f"http://127.0.0.1:{closed}/doveadm/v1",
        "TOWNHALL_DOVEADM_KEY": "nobody-listens",
        "TOWNHALL_LMTP": f"127.0.0.1:{closed}",
    }
    down = _unready(database_url, log, env)
    assert down.status_code == 503, down.text
    assert down.json() == {
        "status": "unavailable",
        "reason": "dovecot",
        "database": "up",
        "smtp": "up",
        "mta_policy": "up",
        "dovecot": "down",
    }
    # Without Dovecot, every listener is up and named.
    up = {k: v for k, v in env.items() if "SMTP" in k or "POLICY" in k}
    running = start_server(database_url, tmp_path / "up.log", 1, **up)
    try:
        ready = requests.get(f"{running.url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ok",
            "database": "up",
            "smtp": "up",
            "mta_policy": "up",
        }
        # The listener's counters: one message delivered, one recipient refused.
        name = unique("mailee")
        made = requests.post(
            f"{running.api}/users",
            json={"username": name, "password": SECRET, "email": f"{name}@example.org"},
            auth=ADMIN,
        )
        assert made.status_code == 201, made.text
        assert send(smtp, "someone@sender.test", [f"{name}@example.org"], "counted") == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send(smtp, "someone@sender.test", ["nobody@not-hosted.test"], "refused")
        scraped = _scrape(running)
        assert scraped["townhall_smtp_messages_accepted_total"] == 1
        assert scraped[_series("townhall_smtp_messages_refused_total", stage="rcpt")] == 1
    finally:
        stop_server(running)


def test_event_bus_metrics_with_redis(database_url: str, tmp_path: Path) -> None:
    """With Redis, each worker hears the other's events: both are counted, and the
    connected gauge is 1 (every live worker subscribed)."""
    if database_url.startswith("sqlite"):
        pytest.skip("several processes with Redis fan-out is the PostgreSQL deployment")
    running = start_server(
        database_url,
        tmp_path / "server.log",
        2,
        TOWNHALL_REDIS_URL=REDIS_URL,
        TOWNHALL_DB_POOL_SIZE="2",
    )
    try:
        before = _scrape(running)
        assert before["townhall_event_bus_redis_connected"] == 1
        published, received = "townhall_events_published_total", "townhall_events_received_total"
        # Ready means one worker is: the other may subscribe a moment later, and an
        # event published before that reaches nobody. So create until one is heard.
        made_count, after = 0, before
        deadline = time.monotonic() + 20
        while after[received] == before[received] and time.monotonic() < deadline:
            made = requests.post(  # a new connection each, so both workers publish some
                f"{running.api}/users",
                json={"username": unique("evt"), "password": SECRET},
                auth=ADMIN,
                headers={"Connection": "close"},
            )
            assert made.status_code == 201, made.text
            made_count += 1
            time.sleep(0.1)  # Redis delivers after the answer
            after = _scrape(running)
        assert after[published] >= before[published] + made_count, (before, after)
        assert after[received] > before[received], (before, after)
    finally:
        stop_server(running)
