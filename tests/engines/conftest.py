"""One Townhall server with private Postfix and Dovecot instances per database kind,
shared by every engine test (starting them takes a few seconds)."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import RunningServer, _free_port, start_server, stop_server, wait_ready
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.engines import (
    Engines,
    drop_role,
    engine_ports,
    engine_role,
    engines_present,
    running_engines,
)

EVENTS_TOKEN = secrets.token_hex(12)
REDIS_URL = os.environ.get("TOWNHALL_TEST_REDIS", "redis://127.0.0.1:6379/0")


@dataclass
class MailStack:
    server: RunningServer
    engines: Engines
    policy_port: int
    role: str | None
    """The engines' PostgreSQL role (None on SQLite)."""
    deployment: str
    """The server's deployment name: its events go out on Redis as `<name>.events`."""
    embedded_smtp_port: int
    """Townhall's own receiver, storing into Dovecot (TOWNHALL_MAIL_STORE=dovecot)."""


@pytest.fixture(scope="session")
def stack(database_url: str) -> Iterator[MailStack]:
    """Townhall (with its policy service on) and the engines on a database of their own."""
    engines_present()
    backend = backend_of(database_url)
    deployment = f"th-engines-{secrets.token_hex(4)}"
    role: str | None = None
    with tempfile.TemporaryDirectory(prefix="th-engines-") as scratch:
        folder = Path(scratch)
        folder.chmod(0o755)
        with fresh_database(backend, folder) as url:
            policy_port, smtp_port = _free_port(), _free_port()
            ports, key = engine_ports(), secrets.token_hex(16)
            server = start_server(
                url,
                folder / "server.log",
                ready="/healthz",  # /readyz waits for Dovecot, which starts after it
                TOWNHALL_MTA_POLICY_LISTEN=f"127.0.0.1:{policy_port}",
                TOWNHALL_MAIL_EVENTS_TOKEN=EVENTS_TOKEN,
                TOWNHALL_REDIS_URL=REDIS_URL,
                TOWNHALL_DEPLOYMENT_NAME=deployment,
                # Mail Townhall delivers itself (here: what its embedded receiver takes)
                # goes to Dovecot, as notifications do in production.
                TOWNHALL_MAIL_STORE="dovecot",
                TOWNHALL_LMTP=f"127.0.0.1:{ports['lmtp']}",
                TOWNHALL_DOVEADM_URL=f"http://127.0.0.1:{ports['doveadm']}/doveadm/v1",
                TOWNHALL_DOVEADM_KEY=key,
                TOWNHALL_SMTP_LISTEN=f"127.0.0.1:{smtp_port}",
            )
            try:
                if backend == "postgresql":
                    role = engine_role(url)
                push = server.url.replace("://", f"://townhall:{EVENTS_TOKEN}@")
                policy = f"127.0.0.1:{policy_port}"
                events = f"{push}/internal/mail/events"
                with running_engines(url, role, policy, events, ports, key) as engines:
                    wait_ready(server)
                    yield MailStack(server, engines, policy_port, role, deployment, smtp_port)
            finally:
                stop_server(server)
        if role is not None:
            drop_role(role)
