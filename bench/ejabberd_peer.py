"""Townhall's Openfire API side by side with ejabberd's HTTP admin API, in one run.

Only ratios compare across machines and hours, so both servers run here, on loopback, on
the same data and under the same load (`wrk -t1 -c64`, one Lua script, bench/peer_load.lua):

  read    read one user of 10,000       GET /users/{u}          vs check_account
  list    list all users, ~5,000        GET /users              vs registered_users
  user    create user, hashed password  POST /users (argon2id)  vs register (SCRAM)
  room    create persistent room        POST /chatrooms         vs create_room_with_opts
  roster  read a 10-item roster         GET /users/u/roster     vs get_roster

ejabberd 23.01 comes from Debian (installed if absent, without starting Debian's daemon) and
runs as a private node with mod_http_api on loopback (recipe: ../shared/design/ejabberd-peer.md).
Townhall runs as `townhall serve` in four configurations, each on a fresh database:
s1 = SQLite 1 worker, s2 = SQLite 2 workers, p2 = PostgreSQL 2 workers, r2 = the same with
Redis (the PostgreSQL deployment: events and the read cache shared). Every scenario runs
ejabberd, then each Townhall configuration, then ejabberd again; the ratio is Townhall's
rate over the mean of the two ejabberd runs that bracket it. Also prints each Townhall
worker's resident memory, idle and after the load.

    .venv/bin/python bench/ejabberd_peer.py        # the full run (root: apt-get, chown)
    .venv/bin/python bench/ejabberd_peer.py --seconds 3 --users 2000 --list-users 1000 \
        --configs s2 --scenarios read,roster                  # a quick check, ~1 min

Most of a short run is seeding: ejabberd hashes every seeded password (SCRAM, ~13 ms of
CPU each), so 10,000 users take two to three minutes on two cores.

Prints tables; never asserts. Stops every process it started, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from openfire_load import ADMIN_PASSWORD, API, drop_database, fresh_database, seed_users

HERE = Path(__file__).resolve().parent
LUA = HERE / "peer_load.lua"
XMPP_HOST = "localhost"
MUC_SERVICE = f"conference.{XMPP_HOST}"
CONFIGS = {
    "s1": ("sqlite", 1, False),
    "s2": ("sqlite", 2, False),
    "p2": ("postgresql", 2, False),
    "r2": ("postgresql", 2, True),
}
"""(database, workers, with Redis at REDIS_URL): r2 is the PostgreSQL deployment as the
README describes it, Redis carrying events and the read cache between the workers."""
LABELS = {
    "s1": "SQLite 1 worker",
    "s2": "SQLite 2 workers",
    "p2": "PostgreSQL 2 workers",
    "r2": "PostgreSQL+Redis 2 w.",
}
REDIS_URL = "redis://127.0.0.1:6379/0"
ROSTER_OWNER = "seed0"
ROSTER_ITEMS = 10
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass(frozen=True)
class Load:
    """One side of a scenario: what wrk sends (see bench/peer_load.lua)."""

    path: str  # appended to the server's base URL
    method: str = "POST"
    path_fmt: str = ""
    body_fmt: str = ""
    pick: str = "count"
    cap: int = 0


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    ejabberd: Load
    townhall: Load


def body(**fields: object) -> str:
    """A JSON body template; "{i}" and "{t}" inside its strings are filled in by wrk."""
    return json.dumps(fields, separators=(",", ":"))


def scenarios(users: int, list_users: int) -> list[Scenario]:
    """The issue's five scenarios; `{i}` is the request's index, `{t}` the run's tag."""
    ofp = f"{API}/users"
    return [
        Scenario(
            "read",
            f"read one user of {users:,}",
            Load("/check_account", body_fmt=body(user="seed{i}", host=XMPP_HOST), pick="rand"),
            Load("/users", method="GET", path_fmt=ofp + "/seed{i}", pick="rand"),
        ),
        Scenario(
            "list",
            f"list all users, ~{list_users:,}",
            Load("/registered_users", body_fmt=body(host=XMPP_HOST)),
            Load("/users", method="GET"),
        ),
        Scenario(
            "user",
            "create user, hashed password",
            Load(
                "/register",
                body_fmt=body(user="new{t}_{i}", host=XMPP_HOST, password="bench-pw-{i}"),
                cap=2000,
            ),
            Load(
                "/users",
                body_fmt=body(username="new{t}_{i}", password="bench-pw-{i}", name="N"),
                cap=2000,
            ),
        ),
        Scenario(
            "room",
            "create persistent room",
            Load(
                "/create_room_with_opts",
                body_fmt=body(
                    name="room{t}_{i}",
                    service=MUC_SERVICE,
                    host=XMPP_HOST,
                    options=[
                        {"name": "persistent", "value": "true"},
                        {"name": "title", "value": "Room {i}"},
                    ],
                ),
                cap=5000,
            ),
            Load(
                "/chatrooms",
                body_fmt=body(
                    roomName="room{t}_{i}",
                    naturalName="Room {i}",
                    description="bench",
                    persistent=True,
                    publicRoom=True,
                ),
                cap=5000,
            ),
        ),
        Scenario(
            "roster",
            f"read a {ROSTER_ITEMS}-item roster",
            Load("/get_roster", body_fmt=body(user=ROSTER_OWNER, host=XMPP_HOST)),
            Load(f"/users/{ROSTER_OWNER}/roster", method="GET"),
        ),
    ]


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children() -> dict[int, list[int]]:
    """Parent -> child PIDs, from /proc (no `ps` fork per call)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, out, todo = children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB / 1024
    return 0.0


def pids_of_user(user: str) -> set[int]:
    uid = pwd.getpwnam(user).pw_uid
    return {int(p) for p in os.listdir("/proc") if p.isdigit() and _owner(p) == uid}


def _owner(pid: str) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


def stop_tree(pid: int, grace: float = 20) -> None:
    """SIGTERM the process and what it spawned, then SIGKILL what is left."""
    tree = descendants(pid)
    for p in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in tree):
        time.sleep(0.2)
    for p in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- packages -------------------------------------------------------------------------------


def ensure_packages() -> None:
    """wrk and ejabberd from Debian. A policy-rc.d answering 101 keeps the package from
    starting Debian's ejabberd daemon (as .ci/run does for Postfix); a daemon that started
    anyway is stopped, since only the private node below may run."""
    missing = [p for p in ("wrk", "ejabberd") if not _installed(p)]
    if not missing:
        return
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    before = _ejabberd_pids()
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env=env,
        )
    finally:
        if own_policy:
            policy.unlink()
    for pid in _ejabberd_pids() - before:
        stop_tree(pid)


def _installed(package: str) -> bool:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", package], capture_output=True, text=True
    )
    return out.stdout.strip() == "installed"


def _ejabberd_pids() -> set[int]:
    try:
        return pids_of_user("ejabberd")
    except KeyError:
        return set()


# --- ejabberd -------------------------------------------------------------------------------

EJABBERD_YML = """\
loglevel: warning
hosts: [{host}]
auth_method: internal
auth_password_format: scram
default_db: mnesia
listen:
  - port: {http_port}
    ip: "127.0.0.1"
    module: ejabberd_http
    backlog: 1024
    request_handlers:
      /api: mod_http_api
  - port: {c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    access: c2s
acl:
  admin: {{user: ["admin@{host}"]}}
  local: {{user_regexp: ""}}
access_rules:
  local: {{allow: local}}
  c2s: {{allow: all}}
  muc_create: {{allow: local}}
api_permissions:
  "loopback, no auth":
    who:
      ip: 127.0.0.1/8
    what: ["*", "!stop", "!start"]
  "ctl":
    from: [ejabberd_ctl]
    who: all
    what: "*"
modules:
  mod_adhoc: {{}}
  mod_admin_extra: {{}}
  mod_disco: {{}}
  mod_http_api: {{}}
  mod_last: {{}}
  mod_muc:
    host: "conference.@HOST@"
    access: [allow]
    access_create: muc_create
    access_persistent: muc_create
    access_admin: [{{allow: admin}}]
  mod_muc_admin: {{}}
  mod_offline: {{}}
  mod_ping: {{}}
  mod_privacy: {{}}
  mod_private: {{}}
  mod_roster: {{versioning: true}}
  mod_shared_roster: {{}}
  mod_vcard: {{}}
"""


class Ejabberd:
    """A private ejabberd node: own config, spool and logs in a scratch folder owned by the
    `ejabberd` user (ejabberdctl runs the node as that user), HTTP API and c2s on free
    loopback ports, Erlang distribution bound to loopback."""

    def __init__(self, scratch: Path) -> None:
        self.dir = scratch
        self.http_port, self.c2s_port = free_port(), free_port()
        self.node = f"ejabberd-peer{os.getpid()}@localhost"
        self.url = f"http://127.0.0.1:{self.http_port}/api"
        self.ctl_cfg = self.dir / "ejabberdctl.cfg"
        self.pid: int | None = None
        # ejabberdctl starts an epmd when none runs (here RabbitMQ's usually does): one
        # that appears during this run is this run's to stop.
        self.epmd_before = set(_epmd_pids())

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "ejabberdctl",
                "--ctl-config",
                str(self.ctl_cfg),
                "--spool",
                str(self.dir / "db"),
                "--logs",
                str(self.dir / "log"),
                *args,
            ],
            env={**os.environ, "ERL_EPMD_ADDRESS": "127.0.0.1"},
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def start(self) -> None:
        for sub in ("db", "log", "run"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        yml = self.dir / "ejabberd.yml"
        yml.write_text(
            EJABBERD_YML.format(host=XMPP_HOST, http_port=self.http_port, c2s_port=self.c2s_port)
        )
        yml.chmod(0o600)
        self.ctl_cfg.write_text(
            f"ERLANG_NODE={self.node}\n"
            "INET_DIST_INTERFACE=127.0.0.1\n"
            'ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"\n'
            f"EJABBERD_PID_PATH={self.dir / 'run' / 'ejabberd.pid'}\n"
            f"EJABBERD_CONFIG_PATH={yml}\n"
        )
        user = pwd.getpwnam("ejabberd")
        for path in [self.dir, *self.dir.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        self.ctl("start")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            pidfile = self.dir / "run" / "ejabberd.pid"
            if self.pid is None and pidfile.exists() and pidfile.read_text().strip():
                self.pid = int(pidfile.read_text().strip())
            with contextlib.suppress(requests.RequestException):
                if requests.post(f"{self.url}/status", json={}, timeout=2).ok:
                    break
            time.sleep(0.5)
        else:
            log = "\n".join(p.read_text() for p in (self.dir / "log").glob("*.log"))
            raise SystemExit(f"ejabberd did not start:\n{log}")
        if self.pid is None:
            raise SystemExit("ejabberd started but wrote no PID file")

    def stop(self) -> None:
        """ctl stop, then make sure the beam (and an epmd this run started) are gone."""
        pidfile = self.dir / "run" / "ejabberd.pid"
        if self.pid is None and pidfile.exists():
            with contextlib.suppress(ValueError):
                self.pid = int(pidfile.read_text().strip())
        if self.pid is not None or pidfile.exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.ctl("stop", check=False)
            if self.pid is not None:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and _alive(self.pid):
                    time.sleep(0.3)
                if _alive(self.pid):
                    stop_tree(self.pid, grace=5)
        for pid in set(_epmd_pids()) - self.epmd_before:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def call(self, command: str, body: dict[str, object]) -> requests.Response:
        return requests.post(f"{self.url}/{command}", json=body, timeout=60)

    def seed(self, start: int, count: int) -> None:
        """Register seed{start}..: ejabberd hashes each (SCRAM), several at a time."""

        def register(i: int) -> None:
            r = self.call("register", {"user": f"seed{i}", "host": XMPP_HOST, "password": "pw"})
            if not r.ok:
                raise SystemExit(f"ejabberd register seed{i}: {r.status_code} {r.text}")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(register, range(start, start + count)))

    def seed_roster(self) -> None:
        for i in range(1, ROSTER_ITEMS + 1):
            r = self.call(
                "add_rosteritem",
                {
                    "localuser": ROSTER_OWNER,
                    "localhost": XMPP_HOST,
                    "user": f"seed{i}",
                    "host": XMPP_HOST,
                    "nick": f"Seed {i}",
                    "group": "Friends",
                    "subs": "both",
                },
            )
            if not r.ok or r.text.strip() not in ("0", ""):
                raise SystemExit(f"ejabberd add_rosteritem: {r.status_code} {r.text}")

    def pids(self) -> list[int]:
        return descendants(self.pid) if self.pid else []

    def census(self) -> tuple[int, int]:
        users = self.call("registered_users", {"host": XMPP_HOST}).json()
        roster = self.call("get_roster", {"user": ROSTER_OWNER, "host": XMPP_HOST}).json()
        return len(users), len(roster) if isinstance(roster, list) else -1


def _epmd_pids() -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{p}/comm").read_text().strip() == "epmd":
                    out.append(int(p))
    return out


def townhall_auth() -> str:
    token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    return f"Basic {token}"


# --- Townhall -------------------------------------------------------------------------------


@dataclass
class Townhall:
    """`townhall serve` on a fresh database, as a user starts it."""

    config: str
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    database_url: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        kind, workers, redis = CONFIGS[self.config]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database_url = fresh_database(kind, self.workdir)
        env = {
            **os.environ,
            "TOWNHALL_DATABASE_URL": self.database_url,
            "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "TOWNHALL_LOG_LEVEL": "warning",
            # Several servers run at once; none of the scenarios receives mail.
            "TOWNHALL_SMTP_LISTEN": "off",
            # A fresh database is a fresh deployment: its keys in Redis are its own.
            **({"TOWNHALL_REDIS_URL": REDIS_URL} if redis else {}),
        }
        log = self.workdir / "server.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "townhall",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/readyz", timeout=1).ok:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.3)
        raise SystemExit(f"townhall ({self.config}) did not start:\n{log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_tree(self.process.pid)
            self.process.wait(timeout=10)
        if self.database_url:
            with contextlib.suppress(Exception):
                drop_database(self.database_url)

    def headers(self) -> dict[str, str]:
        return {"Authorization": townhall_auth(), "Accept": "application/json"}

    def census(self) -> tuple[int, int]:
        """(users, roster items of the roster owner), to check both servers hold the same."""
        h = self.headers()
        users = requests.get(f"{self.url}{API}/users?limit=1", headers=h, timeout=60)
        roster = requests.get(f"{self.url}{API}/users/{ROSTER_OWNER}/roster", headers=h, timeout=60)
        items = roster.json().get("rosterItem", []) if roster.ok else []
        # Townhall's own admin account is not part of the data.
        return int(users.headers.get("X-Total-Count", -1)) - 1, len(items)

    def seed(self, start: int, count: int) -> None:
        asyncio.run(seed_users(self.database_url, count, start=start))

    def seed_roster(self) -> None:
        for i in range(1, ROSTER_ITEMS + 1):
            r = requests.post(
                f"{self.url}{API}/users/{ROSTER_OWNER}/roster",
                json={
                    "jid": f"seed{i}@{XMPP_HOST}",
                    "nickname": f"Seed {i}",
                    "subscriptionType": 3,
                    "groups": ["Friends"],
                },
                headers=self.headers(),
                timeout=30,
            )
            if r.status_code != 201:
                raise SystemExit(f"townhall roster item: {r.status_code} {r.text}")

    def pids(self) -> list[int]:
        return descendants(self.process.pid) if self.process else []

    def workers(self) -> list[int]:
        """The serving processes: the server's children (granian's workers)."""
        if self.process is None:
            return []
        return sorted(children().get(self.process.pid, []))


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Run:
    rps: float  # 2xx responses per second
    responses: int
    non2xx: int
    p99: float
    cpu_ms: float  # server CPU per response


def wrk(
    url: str, load: Load, args: argparse.Namespace, tag: int, auth: str, pids: list[int], n: int
) -> Run:
    env = {
        **os.environ,
        "METHOD": load.method,
        "PATH_FMT": load.path_fmt.replace("{t}", str(tag)),
        "BODY_FMT": load.body_fmt.replace("{t}", str(tag)),
        "PICK": load.pick,
        "N": str(n),
        "MAXREQ": str(load.cap),
        "AUTH": auth,
    }
    before = cpu_ticks(pids)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(LUA),
            url + load.path,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=args.seconds + 120,
    )
    used = cpu_ticks(pids) - before
    found = re.search(r"^RESULT (.*)$", out.stdout, re.M)
    if not found:
        raise SystemExit(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")
    r = dict(kv.split("=", 1) for kv in found.group(1).split())
    if failure := re.search(r"^FIRST_FAILURE (.*)$", out.stdout, re.M):
        print(f"    first failure: {failure.group(1)}", flush=True)
    responses = int(r["responses"])
    return Run(
        # Successes only: a fast error (429, 401) is not throughput.
        rps=(responses - int(r["non2xx"])) / float(r["elapsed"]),
        responses=responses,
        non2xx=int(r["non2xx"]) + int(r["sockerr"]),
        p99=float(r["p99"]),
        cpu_ms=1000 * used / TICK / max(1, responses),
    )


def wait_idle(pids: list[int], limit: float = 60) -> None:
    """Until the servers are done with what the last run queued (under 3 % of a core
    over a second), so that one run's tail does not land in the next."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_ticks(pids)
        time.sleep(1)
        if cpu_ticks(pids) - before < max(1, TICK * 3 // 100):
            return


# --- main -----------------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=15, help="per wrk run (default 15)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--scenarios",
        default="read,list,user,room,roster",
        help="comma list of: read,list,user,room,roster",
    )
    parser.add_argument("--configs", default="s1,s2,p2,r2", help="comma list of: s1,s2,p2,r2")
    parser.add_argument("--users", type=int, default=10_000, help="users for the read scenario")
    parser.add_argument("--list-users", type=int, default=5_000, help="users for the list scenario")
    args = parser.parse_args()
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.configs = [c for c in args.configs.split(",") if c]
    known = {s.name for s in scenarios(0, 0)}
    if bad := [s for s in args.scenarios if s not in known] + [
        c for c in args.configs if c not in CONFIGS
    ]:
        parser.error(f"unknown scenario or config: {', '.join(bad)}")
    args.list_users = min(args.list_users, args.users)
    return args


def _term(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through the `finally` that stops the servers


@contextlib.contextmanager
def servers(
    args: argparse.Namespace, scratch: Path
) -> Iterator[tuple[Ejabberd, dict[str, Townhall]]]:
    ejab_dir = Path(tempfile.mkdtemp(prefix="ejabberd-peer-"))
    ejabberd = Ejabberd(ejab_dir)
    townhalls = {c: Townhall(c, scratch / c) for c in args.configs}
    try:
        ejabberd.start()
        for th in townhalls.values():
            th.start()
        yield ejabberd, townhalls
    finally:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        for th in townhalls.values():
            th.stop()
        ejabberd.stop()
        shutil.rmtree(ejab_dir, ignore_errors=True)


def main() -> None:
    args = arguments()
    if os.geteuid() != 0:
        raise SystemExit(
            "run as root: it may apt-get ejabberd and wrk, and hands ejabberd its folder"
        )
    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGHUP, _term)
    ensure_packages()
    scratch = Path(tempfile.mkdtemp(prefix="townhall-peer-"))
    chosen = [s for s in scenarios(args.users, args.list_users) if s.name in args.scenarios]
    # The list runs at ~5,000 users, the rest at the full count: seed, list, seed the rest.
    order = sorted(chosen, key=lambda s: s.name != "list")
    results: dict[tuple[str, str], Run] = {}
    memory: dict[str, tuple[dict[int, float], dict[int, float]]] = {}
    ejab_mem: list[float] = []
    print(
        f"wrk -t1 -c{args.connections} -d{args.seconds}s, loopback, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start",
        flush=True,
    )
    try:
        with servers(args, scratch) as (ejabberd, townhalls):
            everyone: list[Ejabberd | Townhall] = [ejabberd, *townhalls.values()]
            seeded = 0

            def seed_to(count: int) -> None:
                nonlocal seeded
                if count <= seeded:
                    return
                t0 = time.monotonic()
                for server in everyone:
                    server.seed(seeded, count - seeded)
                if seeded <= ROSTER_ITEMS < count:
                    for server in everyone:
                        server.seed_roster()
                seeded = count
                held = {
                    getattr(server, "config", "ejabberd"): server.census() for server in everyone
                }
                print(
                    f"seeded in {time.monotonic() - t0:.0f}s; (users, roster items) held: {held}",
                    flush=True,
                )
                want = (count, ROSTER_ITEMS if count > ROSTER_ITEMS else 0)
                if any(census != want for census in held.values()):
                    raise SystemExit(f"the servers do not hold the same data: {held}, want {want}")

            all_pids = [p for s in everyone for p in s.pids()]
            wait_idle(all_pids)
            ejab_mem.append(rss_mb(ejabberd.pid or 0))
            for c, th in townhalls.items():
                memory[c] = ({w: rss_mb(w) for w in th.workers()}, {})
            auth = townhall_auth()
            tag = 0
            for scenario in order:
                seed_to(args.list_users if scenario.name == "list" else args.users)
                n = args.users
                steps: list[tuple[str, Ejabberd | Townhall]] = [
                    ("ejd1", ejabberd),
                    *townhalls.items(),
                    ("ejd2", ejabberd),
                ]
                for label, server in steps:
                    tag += 1
                    everyone_pids = [p for s in everyone for p in s.pids()]
                    wait_idle(everyone_pids)
                    if isinstance(server, Ejabberd):
                        run = wrk(server.url, scenario.ejabberd, args, tag, "", server.pids(), n)
                    else:
                        run = wrk(
                            server.url + API, scenario.townhall, args, tag, auth, server.pids(), n
                        )
                    results[(scenario.name, label)] = run
                    print(
                        f"  {scenario.name:<7} {label:<5} {run.rps:>9.1f} req/s"
                        f"  {run.responses:>7} responses  {run.non2xx:>5} non-2xx"
                        f"  p99 {run.p99:>8.2f} ms  {run.cpu_ms:>7.2f} ms CPU/req",
                        flush=True,
                    )
            wait_idle([p for s in everyone for p in s.pids()])
            ejab_mem.append(rss_mb(ejabberd.pid or 0))
            for c, th in townhalls.items():
                memory[c][1].update({w: rss_mb(w) for w in th.workers()})
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report(args, chosen, results, memory, ejab_mem)


def report(
    args: argparse.Namespace,
    chosen: list[Scenario],
    results: dict[tuple[str, str], Run],
    memory: dict[str, tuple[dict[int, float], dict[int, float]]],
    ejab_mem: list[float],
) -> None:
    print()
    print(
        "req/s = 2xx responses per second; ratio = Townhall req/s / mean of the two "
        "ejabberd runs that bracket it"
    )

    def flag(*runs: Run) -> str:
        if any(r.non2xx for r in runs):
            return "*"
        return "~" if any(r.responses < args.connections for r in runs) else ""

    flagged = set()
    print(
        f"{'scenario':<32} {'Townhall config':<21} {'ejabberd req/s (runs)':>27} "
        f"{'Townhall req/s':>15} "
        f"{'ratio':>6} {'ms CPU/req ejd/TH':>18} {'TH non-2xx':>10}"
    )
    ratios: dict[tuple[str, str], float] = {}
    for s in chosen:
        e1, e2 = results[(s.name, "ejd1")], results[(s.name, "ejd2")]
        mean = (e1.rps + e2.rps) / 2
        ecpu = (e1.cpu_ms + e2.cpu_ms) / 2
        for c in args.configs:
            t = results[(s.name, c)]
            ratios[(s.name, c)] = t.rps / mean if mean else 0.0
            runs = f"{mean:,.1f} ({e1.rps:,.0f} / {e2.rps:,.0f})"
            mark = flag(e1, e2, t)
            flagged.add(mark)
            print(
                f"{s.title:<32} {LABELS[c]:<21} {runs:>27} {t.rps:>15,.1f} "
                f"{ratios[(s.name, c)]:>6.2f}{mark:<1} "
                f"{f'{ecpu:.2f} / {t.cpu_ms:.2f}':>18} {t.non2xx:>10}"
            )
        if e1.non2xx or e2.non2xx:
            print(f"{'':<32} (ejabberd non-2xx: {e1.non2xx} / {e2.non2xx})")
    print()
    print("| scenario | " + " | ".join(LABELS[c] for c in args.configs) + " |")
    print("|---|" + "---|" * len(args.configs))
    for s in chosen:
        print(
            f"| {s.title} | "
            + " | ".join(
                f"{ratios[(s.name, c)]:.2f}"
                + flag(results[(s.name, "ejd1")], results[(s.name, "ejd2")], results[(s.name, c)])
                for c in args.configs
            )
            + " |"
        )
    if "*" in flagged:
        print("* some responses were not 2xx (see the first failure printed with the run)")
    if "~" in flagged:
        print(
            f"~ a run had fewer responses than its {args.connections} connections: "
            "too short to measure (raise --seconds)"
        )
    print()
    print("resident memory (RSS, MB, from /proc), idle before the load -> after it:")
    for c, (idle, after) in memory.items():
        workers = ", ".join(
            f"pid {w}: {idle[w]:.0f} -> {after.get(w, 0):.0f}" for w in sorted(idle)
        )
        print(f"  Townhall {LABELS[c]:<21} per worker: {workers}")
    if len(ejab_mem) == 2:
        print(f"  ejabberd (beam.smp)   {ejab_mem[0]:.0f} -> {ejab_mem[1]:.0f}")
    print(json.dumps({"ratios": {f"{k[0]}/{k[1]}": round(v, 3) for k, v in ratios.items()}}))


if __name__ == "__main__":
    main()
