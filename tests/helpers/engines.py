"""Private Postfix and Dovecot instances for the engine tests, from deploy/'s templates.

`engines_present()` says whether the binaries are here: without them an engine test is
skipped on a developer's machine and FAILS in CI (`CI` set), so a CI image that lost
the packages cannot pass by skipping. `running_engines()` renders deploy/postfix and
deploy/dovecot into a private folder for one Townhall database (SQLite file or
PostgreSQL, where the engines log in as a role made by `townhall mail engine-role`) and
starts `postfix -c DIR start-fg` and `dovecot -F -c FILE` on free loopback ports.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import _free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BINARIES = ("postfix", "dovecot", "doveadm")
SEARCH_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def engines_present() -> None:
    """Skip (developer machine) or fail (CI) when Postfix or Dovecot is missing, or the
    tests cannot start them (not root)."""
    missing = [b for b in BINARIES if shutil.which(b, path=SEARCH_PATH) is None]
    if not missing and os.geteuid() == 0:
        return
    why = f"mail engines not installed: {', '.join(missing)} (see .ci/run)"
    if not missing:  # postfix start-fg, and Dovecot switching to the mail uid, need root
        why = "the engine tests start Postfix and Dovecot, which needs root"
    if os.environ.get("CI"):
        pytest.fail(why + "; CI must run the engine tests")
    pytest.skip(why)


@dataclass
class Engines:
    folder: Path
    smtp_port: int
    imap_port: int
    lmtp_port: int
    doveadm_port: int
    doveadm_key: str
    postfix_log: Path
    dovecot_log: Path

    @property
    def doveadm_url(self) -> str:
        return f"http://127.0.0.1:{self.doveadm_port}/doveadm/v1"

    def maillog_until(self, *words: str, timeout: float = 20) -> str:
        """Postfix's log once a line holds every word (a delivery or bounce is logged
        after the SMTP session ends)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.postfix_log.read_text() if self.postfix_log.exists() else ""
            for line in text.splitlines():
                if all(w in line for w in words):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line with {words}:\n{text[-4000:]}")
            time.sleep(0.1)


def _render(template: Path, target: Path, values: dict[str, str]) -> None:
    text = template.read_text()
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    assert "@@" not in text, f"{template}: a placeholder was not filled in"
    target.write_text(text)


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"engine exited:\n{log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened:\n{log.read_text() if log.exists() else ''}")


def engine_role(database_url: str) -> str:
    """Make the engines' least-privilege role for a PostgreSQL database, with the CLI an
    operator uses; its name."""
    role = "th_mail_" + urlsplit(database_url).path.rsplit("_", 1)[-1]
    made = subprocess.run(
        [sys.executable, "-m", "townhall", "mail", "engine-role", role],
        env={**os.environ, "TOWNHALL_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    return role


def drop_role(role: str) -> None:
    """After the role's database is gone, the role itself."""
    import asyncio

    from tests.conftest import _pg

    asyncio.run(_pg(f"DROP ROLE IF EXISTS {role}"))


def engine_ports() -> dict[str, int]:
    """Free loopback ports for the engines' listeners (chosen before Townhall starts,
    so its settings can name Dovecot's LMTP and doveadm)."""
    return {n: _free_port() for n in ("smtp", "imap", "lmtp", "doveadm")}


@contextmanager
def running_engines(
    database_url: str,
    role: str | None = None,
    policy: str = "",
    push: str = "",
    ports: dict[str, int] | None = None,
    key: str = "",
) -> Iterator[Engines]:
    """Postfix and Dovecot against this Townhall database until the block ends.
    `policy` is `host:port` of Townhall's policy service, or empty for none; `push` the
    URL Dovecot's push events go to (with the token as password), or empty."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"th-eng-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o755)
    pf, dc = folder / "pf", folder / "dc"
    for sub in (pf, pf / "log", pf / "data", pf / "queue", dc, dc / "run", dc / "state"):
        sub.mkdir(parents=True, exist_ok=True)
    mail_root = dc / "mail"
    mail_root.mkdir()
    shutil.chown(mail_root, "nobody", "nogroup")
    shutil.chown(pf / "data", "postfix", "postfix")
    ports = ports or engine_ports()
    key = key or secrets.token_hex(16)
    if database_url.startswith("sqlite"):
        db_path = database_url.removeprefix("sqlite:///")
        Path(db_path).parent.chmod(0o755)
        kind, connect, dict_user = "sqlite", db_path, "root"
        map_values = {"SQLITE_PATH": db_path}
    else:
        parts = urlsplit(database_url)
        assert role is not None, "PostgreSQL engines log in as the engines role"
        dbname = parts.path.lstrip("/")
        host = parts.hostname or "127.0.0.1"
        kind, dict_user = "pgsql", "dovecot"
        connect = f"host={host} port={parts.port or 5432} dbname={dbname} user={role}"
        map_values = {
            "PG_HOST": f"inet:{host}:{parts.port or 5432}",
            "PG_USER": role,
            "PG_PASSWORD": "",
            "PG_DBNAME": dbname,
        }
    for name in ("domains", "mailboxes", "aliases"):
        template = DEPLOY / "postfix" / kind / f"townhall-{name}.cf.in"
        _render(template, pf / f"townhall-{name}.cf", map_values)
    _render(
        DEPLOY / "postfix" / "main.cf.in",
        pf / "main.cf",
        {
            "QUEUE_DIR": str(pf / "queue"),
            "DATA_DIR": str(pf / "data"),
            "HOSTNAME": "mx.townhall.test",
            "INET_INTERFACES": "127.0.0.1",
            "MAPS": f"{kind}:{pf}",
            "LMTP": f"127.0.0.1:{ports['lmtp']}",
            "POLICY": f", check_policy_service inet:{policy}" if policy else "",
            "DEFAULT_TRANSPORT": "error:nothing leaves the test box",
            "LOG_FILE": str(pf / "log" / "maillog"),
            "LOG_PREFIX": str(folder),
        },
    )
    _render(
        DEPLOY / "postfix" / "master.cf.in",
        pf / "master.cf",
        {"SMTP_LISTEN": f"127.0.0.1:{ports['smtp']}"},
    )
    dovecot_values = {
        "BASE_DIR": str(dc / "run"),
        "STATE_DIR": str(dc / "state"),
        "LOG_FILE": str(dc / "dovecot.log"),
        "LISTEN": "127.0.0.1",
        "SSL": "no",
        "DISABLE_PLAINTEXT_AUTH": "no",
        "MAIL_ROOT": str(mail_root),
        "MAIL_UID": "nobody",
        "MAIL_GID": "nogroup",
        "CONF_DIR": str(dc),
        "POSTMASTER": "postmaster@mx.townhall.test",
        "SQL_DRIVER": kind,
        "SQL_CONNECT": connect,
        "DICT_USER": dict_user,
        "IMAP_PORT": str(ports["imap"]),
        "LMTP_PORT": str(ports["lmtp"]),
        "DOVEADM_PORT": str(ports["doveadm"]),
        "DOVEADM_KEY": key,
        "PUSH_DRIVER": f"ox:url={push}" if push else "",
    }
    for name in ("dovecot.conf", "dovecot-sql.conf.ext", "dovecot-dict-sql.conf.ext"):
        _render(DEPLOY / "dovecot" / f"{name}.in", dc / name, dovecot_values)
    postfix_bin = shutil.which("postfix", path=SEARCH_PATH) or "postfix"
    dovecot_bin = shutil.which("dovecot", path=SEARCH_PATH) or "dovecot"
    dovecot_out = (dc / "stderr.log").open("wb")
    dovecot = subprocess.Popen(
        [dovecot_bin, "-F", "-c", str(dc / "dovecot.conf")],
        stdout=dovecot_out,
        stderr=subprocess.STDOUT,
    )
    postfix_out = (pf / "log" / "stderr.log").open("wb")
    postfix = subprocess.Popen(
        [postfix_bin, "-c", str(pf), "start-fg"], stdout=postfix_out, stderr=subprocess.STDOUT
    )
    engines = Engines(
        folder,
        ports["smtp"],
        ports["imap"],
        ports["lmtp"],
        ports["doveadm"],
        key,
        pf / "log" / "maillog",
        dc / "dovecot.log",
    )
    try:
        for port in ("imap", "lmtp", "doveadm"):
            _wait_port(ports[port], dovecot, dc / "dovecot.log")
        _wait_port(ports["smtp"], postfix, pf / "log" / "stderr.log")
        yield engines
    finally:
        subprocess.run([postfix_bin, "-c", str(pf), "stop"], capture_output=True, timeout=30)
        for process in (postfix, dovecot):
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        dovecot_out.close()
        postfix_out.close()
        if not os.environ.get("TOWNHALL_KEEP_ENGINES"):
            shutil.rmtree(folder, ignore_errors=True)
