"""A safe lifecycle, through the real `townhall` command: one data directory, no
database made by accident, first-start settings warned of when changed, every
configuration mistake one line and exit 2, people managed from the command line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import (
    ADMIN_PASSWORD,
    BACKENDS,
    PG_ADMIN_URL,
    RunningServer,
    _free_port,
    start_server,
    stop_server,
    unique,
)
from tests.helpers.cli import townhall
from tests.helpers.databases import fresh_database

CHEAP = {"TOWNHALL_ARGON2_TIME_COST": "1", "TOWNHALL_ARGON2_MEMORY_KIB": "1024"}


def run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """`townhall ARGS` with only the given settings (none inherited from this process)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
    return subprocess.run(
        [sys.executable, "-m", "townhall", *args],
        env={**clean, **CHEAP, "TOWNHALL_SMTP_LISTEN": "off", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(out: subprocess.CompletedProcess[str], status: int = 2) -> str:
    """The single line a refusal printed (on stderr, nothing of a traceback)."""
    assert out.returncode == status, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with nothing behind it yet: a SQLite file that does not exist,
    an empty PostgreSQL database."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


def _tables(url: str) -> list[str]:
    if url.startswith("sqlite"):
        import sqlite3

        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return []
        with sqlite3.connect(path) as db:
            return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]

    async def listed() -> list[str]:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        finally:
            await conn.close()
        return [row["tablename"] for row in rows]

    return asyncio.run(listed())


# -- configuration mistakes -------------------------------------------------------------

COMMANDS = [("serve", "--port", "0"), ("users", "list"), ("config", "check"), ("db", "upgrade")]


def _mistakes(folder: Path) -> list[tuple[dict[str, str], str]]:
    """(settings, what the one line must say) for each kind of mistake."""
    typo = folder / "typo.toml"
    typo.write_text('domain = "example.org"\ndb_pool_sise = 3\n')
    wrong_type = folder / "type.toml"
    wrong_type.write_text('db_pool_size = "ten"\n')
    broken = folder / "broken.toml"
    broken.write_text('domain = "example.org"\nlog_level = = "info"\n')
    database = f"sqlite:///{folder / 'townhall.db'}"
    return [
        ({"TOWNHALL_CONFIG": str(typo)}, f"error: db_pool_sise in {typo}: unknown setting"),
        ({"TOWNHALL_CONFIG": str(wrong_type)}, f"error: db_pool_size in {wrong_type}: must be"),
        ({"TOWNHALL_CONFIG": str(broken)}, "line 2"),
        ({"TOWNHALL_CONFIG": str(folder / "none.toml")}, "error: TOWNHALL_CONFIG: no file at"),
        ({"TOWNHALL_DB_POOL_SIZE": "ten"}, "error: TOWNHALL_DB_POOL_SIZE: must be an integer"),
        ({"TOWNHALL_MASTER_ACCOUNT_OVERRIDE": "maybe"}, "TOWNHALL_MASTER_ACCOUNT_OVERRIDE"),
        (
            {"TOWNHALL_DATABASE_URL": "mysql://townhall@localhost/townhall"},
            "error: TOWNHALL_DATABASE_URL: mysql is not supported; use sqlite:/// or postgresql://",
        ),
        (
            {"TOWNHALL_DATABASE_URL": database, "TOWNHALL_ADMIN_PUBLIC_KEY": "/no/such/key.pem"},
            "error: TOWNHALL_ADMIN_PUBLIC_KEY: no file at /no/such/key.pem",
        ),
        (
            {"TOWNHALL_DATABASE_URL": database, "TOWNHALL_SAAS_PLANS": "/no/such/plans.toml"},
            "error: TOWNHALL_SAAS_PLANS: cannot read /no/such/plans.toml",
        ),
        (
            {"TOWNHALL_DATABASE_URL": database, "TOWNHALL_DATA_DIR": str(folder / "absent")},
            "error: TOWNHALL_DATA_DIR:",
        ),
    ]


@pytest.mark.parametrize("case", range(10))
def test_each_configuration_mistake_is_one_line_and_exit_2(tmp_path: Path, case: int) -> None:
    settings, said = _mistakes(tmp_path)[case]
    for command in COMMANDS:
        line = one_line(run(*command, cwd=tmp_path, **settings))
        assert said in line, (command, line)
    assert not (tmp_path / "townhall.db").exists()  # nothing was created


def test_a_junk_pem_file_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "key.pem"
    junk.write_text("not a key")
    line = one_line(
        run(
            "users",
            "list",
            TOWNHALL_DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}",
            TOWNHALL_ADMIN_PUBLIC_KEY=str(junk),
        )
    )
    assert line == f"error: TOWNHALL_ADMIN_PUBLIC_KEY: {junk} is not a PEM-encoded public key"


def test_a_postgresql_database_that_does_not_exist_is_named(tmp_path: Path) -> None:
    name = f"townhall_absent_{os.getpid()}"
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    for command in COMMANDS:
        line = one_line(run(*command, TOWNHALL_DATABASE_URL=url))
        assert line.startswith("error: TOWNHALL_DATABASE_URL: the PostgreSQL database"), line
        assert f"{name} does not exist" in line


def test_a_toml_value_of_the_right_type_is_taken(tmp_path: Path) -> None:
    config = tmp_path / "townhall.toml"
    config.write_text('db_pool_size = 3\ncors_origins = ["https://a.test"]\ndomain = "x.test"\n')
    out = run("config", "show", TOWNHALL_CONFIG=str(config), TOWNHALL_DOMAIN="y.test")
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines()}
    assert lines["TOWNHALL_DB_POOL_SIZE"].split()[1] == "3"
    assert f"[file ({config})]" in lines["TOWNHALL_DB_POOL_SIZE"]
    assert "https://a.test" in lines["TOWNHALL_CORS_ORIGINS"]
    # The environment wins over the file, and says so.
    assert lines["TOWNHALL_DOMAIN"].split()[1:] == ["y.test", "[environment]"]
    assert lines["TOWNHALL_WORKERS"].endswith("[default]")


# -- config show / check ----------------------------------------------------------------


def test_config_show_masks_secrets_and_check_finds_the_database(server: RunningServer) -> None:
    secret = "sh0wn-nowhere-secret"
    url = server.database_url.replace("postgresql://postgres@", f"postgresql://postgres:{secret}@")
    shown = run(
        "config",
        "show",
        TOWNHALL_DATABASE_URL=url,
        TOWNHALL_SECRET_KEY=secret,
        TOWNHALL_ADMIN_PASSWORD=secret,
    )
    assert shown.returncode == 0, shown.stderr
    assert secret not in shown.stdout
    lines = {line.split()[0]: line for line in shown.stdout.splitlines()}
    assert lines["TOWNHALL_SECRET_KEY"].split()[1:] == ["********", "[environment]"]
    assert lines["TOWNHALL_ADMIN_PASSWORD"].split()[1] == "********"
    checked = run("config", "check", TOWNHALL_DATABASE_URL=server.database_url)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines()[-1] == "configuration ok"
    assert "(revision " in checked.stdout
    bad = run(
        "config",
        "check",
        TOWNHALL_DATABASE_URL=server.database_url,
        TOWNHALL_CACHE="sometimes",
        TOWNHALL_SMTP_LISTEN="2525",
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "error: TOWNHALL_CACHE: must be one of auto, off",
        "error: TOWNHALL_SMTP_LISTEN must be host:port or off",
    ]


# -- the data directory and --create ----------------------------------------------------


def test_a_command_refuses_to_create_a_database_without_create(fresh: str, tmp_path: Path) -> None:
    line = one_line(run("users", "list", TOWNHALL_DATABASE_URL=fresh))
    where = fresh.removeprefix("sqlite:///") if fresh.startswith("sqlite") else fresh
    assert line == (
        f"error: no Townhall database at {where}: run `townhall serve` first, or pass --create"
    )
    assert _tables(fresh) == []  # nothing created, not even the schema
    made = run("--create", "users", "list", TOWNHALL_DATABASE_URL=fresh)
    assert made.returncode == 0, made.stderr
    assert "Created tenant" in made.stdout and "admin password (shown once)" in made.stdout
    assert made.stdout.splitlines()[-1].startswith("admin\t")
    again = run("users", "list", TOWNHALL_DATABASE_URL=fresh)  # there is one now
    assert again.returncode == 0 and "Created tenant" not in again.stdout


def test_a_command_run_elsewhere_makes_no_new_deployment(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run("--create", "users", "list", TOWNHALL_DATA_DIR=str(data)).returncode == 0
    assert (data / "townhall.db").is_file()
    # The same data directory from another folder is the same deployment...
    listed = run("users", "list", cwd=elsewhere, TOWNHALL_DATA_DIR=str(data))
    assert listed.returncode == 0 and "Created tenant" not in listed.stdout
    # ...and no data directory, in a folder that holds none, is refused.
    line = one_line(run("users", "list", cwd=elsewhere))
    assert f"no Townhall database at {elsewhere / 'townhall.db'}" in line
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_serve_prints_the_data_directory_which_holds_mail_and_files(
    tmp_path: Path, backend: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with fresh_database(backend, tmp_path) as url:
        env = {"TOWNHALL_DATA_DIR": str(data), "TOWNHALL_SMTP_LISTEN": f"127.0.0.1:{_free_port()}"}
        if backend == "postgresql":
            env["TOWNHALL_DATABASE_URL"] = url
        shown = run("config", "show", cwd=tmp_path, **env)
        lines = {line.split()[0]: line.split()[1] for line in shown.stdout.splitlines()}
        assert lines["(mailboxes)"] == str(data / "mail")
        assert lines["(files)"] == str(data / "files")
        server = start_server(
            env.get("TOWNHALL_DATABASE_URL", ""), tmp_path / "server.log", 1, **env
        )
        try:
            log = server.log.read_text()
        finally:
            stop_server(server)
    assert f"  data directory: {data}\n" in log
    assert f"mailboxes: {data / 'mail'}" in log
    if backend == "sqlite":
        assert (data / "townhall.db").is_file()


# -- first-start settings ---------------------------------------------------------------


def test_changed_first_start_settings_are_warned_of(fresh: str, tmp_path: Path) -> None:
    first = {"TOWNHALL_SECRET_KEY": "the-first-secret-key"}
    server = start_server(fresh, tmp_path / "first.log", 1, **first)
    stop_server(server)
    assert "townhall: warning" not in server.log.read_text()
    same = start_server(fresh, tmp_path / "same.log", 1, **first)
    stop_server(same)
    assert "townhall: warning" not in same.log.read_text()
    changed = start_server(
        fresh,
        tmp_path / "changed.log",
        TOWNHALL_DOMAIN="other.test",
        TOWNHALL_ADMIN_PASSWORD="another-password",
        TOWNHALL_SECRET_KEY="another-secret-key",
    )
    stop_server(changed)
    log = changed.log.read_text()
    warned = [line for line in log.splitlines() if line.startswith("townhall: warning:")]
    assert len(warned) == 3, log
    assert "TOWNHALL_DOMAIN is other.test but the first tenant's domain is example.org" in log
    assert "TOWNHALL_ADMIN_PASSWORD is not admin's password" in log
    assert "TOWNHALL_SECRET_KEY is not the stored secret key" in log
    for secret in ("another-password", "another-secret-key", "the-first-secret-key"):
        assert secret not in log
    # Unset, nothing is compared (the stored values stand).
    unset = start_server(fresh, tmp_path / "unset.log", TOWNHALL_ADMIN_PASSWORD="")
    stop_server(unset)
    assert "townhall: warning" not in unset.log.read_text()


# -- db upgrade -------------------------------------------------------------------------


def test_db_upgrade_lists_what_it_applied(fresh: str) -> None:
    from townhall.store.migrate import head_revision

    made = run("db", "upgrade", TOWNHALL_DATABASE_URL=fresh)
    assert made.returncode == 0, made.stderr
    applied = [line for line in made.stdout.splitlines() if line.startswith("applied ")]
    assert applied[0] == "applied 0001: initial schema"
    assert applied[-1].startswith(f"applied {head_revision()}: ")
    assert len(applied) == len({line.split(":")[0] for line in applied}) >= 10
    assert made.stdout.splitlines()[-1].endswith(f"is at revision {head_revision()}")
    again = run("db", "upgrade", TOWNHALL_DATABASE_URL=fresh)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"database is up to date (revision {head_revision()})"


# -- people -----------------------------------------------------------------------------


def _login(server: RunningServer, name: str, password: str) -> int:
    """An Openfire basic-auth request as the person: 200 if they may sign in."""
    return requests.get(f"{server.api}/users/{name}", auth=(name, password)).status_code


def _refused_soon(server: RunningServer, name: str, password: str) -> bool:
    """Whether the server refuses the credential within the 2 s its Openfire auth filter
    keeps what it accepted: a change the CLI makes reaches a server without Redis only
    through the database (with Redis, its event reaches it at once)."""
    deadline = time.monotonic() + 4
    while _login(server, name, password) != 401:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_users_commands_act_as_the_apis_do(server: RunningServer) -> None:
    url = server.database_url
    name = unique("clerk")
    made = townhall(
        url, "admin", "create", name, "--password", "first-pw-1", "--email", f"{name}@example.org"
    )
    assert made.returncode == 0, made.stderr
    admin = ("admin", ADMIN_PASSWORD)
    try:
        listed = townhall(url, "users", "list", "--search", name)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines() == [f"{name}\t\t{name}@example.org\tactive\tserver_admin"]
        everyone = townhall(url, "users", "list", "--tenant", "example.org").stdout
        assert {line.split("\t")[0] for line in everyone.splitlines()} >= {"admin", name}
        shown = townhall(url, "users", "show", name)
        assert shown.returncode == 0, shown.stderr
        assert f"email: {name}@example.org" in shown.stdout.splitlines()
        assert "first-pw-1" not in shown.stdout

        assert _login(server, name, "first-pw-1") == 200
        locked = townhall(url, "users", "lock", name)
        assert locked.returncode == 0 and locked.stdout.strip() == f"{name} locked"
        assert _refused_soon(server, name, "first-pw-1")
        assert "locked" in townhall(url, "users", "show", name).stdout
        assert townhall(url, "users", "unlock", name).returncode == 0
        assert _login(server, name, "first-pw-1") == 200

        reset = townhall(url, "users", "reset-password", name)
        assert reset.returncode == 0, reset.stderr
        printed = reset.stdout.rsplit("(shown once): ", 1)[1].strip()
        assert _refused_soon(server, name, "first-pw-1")
        assert _login(server, name, printed) == 200
        chosen = townhall(url, "users", "reset-password", name, "--password", "chosen-pw-2")
        assert chosen.returncode == 0 and "shown once" not in chosen.stdout
        assert _login(server, name, "chosen-pw-2") == 200

        # Each change is in the audit log, as the APIs' are, made by the CLI.
        r = requests.get(
            f"{server.api}/logs/security?username=cli&limit=50",
            auth=admin,
            headers={"Accept": "application/json"},
        )
        summaries = [log["summary"] for log in r.json()["logs"]]
        for action in ("user.locked", "user.unlocked", "user.updated"):
            assert f"{action}: {name}" in summaries, summaries

        missing = unique("nobody")
        for command in ("show", "lock", "unlock", "reset-password"):
            out = townhall(url, "users", command, missing)
            assert one_line(out, 1) == f"error: no user {missing}", command
        elsewhere = townhall(url, "users", "list", "--tenant", "no.such")
        assert one_line(elsewhere, 1) == "error: no tenant has the domain no.such"
    finally:  # other tests rely on `admin` being the only administrator
        requests.delete(f"{server.api}/users/{name}", auth=admin)


def test_a_locked_user_cannot_log_in_over_rmp(server: RunningServer) -> None:
    url = server.database_url
    name = unique("rmp")
    admin = ("admin", ADMIN_PASSWORD)
    r = requests.post(
        f"{server.api}/users",
        json={
            "username": name,
            "password": "rmp-pass-1",
            "name": "R",
            "email": f"{name}@example.org",
        },
        auth=admin,
    )
    assert r.status_code == 201, r.text

    def rmp_login() -> int:
        answer = requests.post(
            f"{server.url}/api/v2/auth/login",
            json={"email": f"{name}@example.org", "password": "rmp-pass-1"},
        )
        return answer.status_code

    try:
        assert rmp_login() == 200
        assert townhall(url, "users", "lock", name).returncode == 0
        assert rmp_login() in (401, 403)
        assert townhall(url, "users", "unlock", name).returncode == 0
        assert rmp_login() == 200
    finally:
        requests.delete(f"{server.api}/users/{name}", auth=admin)
