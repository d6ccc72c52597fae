"""The views the engines read say what the routing core says, and on PostgreSQL the
engines' role reads them and writes last logins, nothing else."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import text

from tests.conftest import ADMIN_PASSWORD
from tests.engines.conftest import MailStack
from tests.helpers.engines import SEARCH_PATH
from tests.helpers.ox import context_admin, new_person
from townhall.store.database import open_database

pytestmark = pytest.mark.engines
ADMIN = ("admin", ADMIN_PASSWORD)


async def _rows(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    db = open_database(url, 1)
    try:
        async with db.read() as tx:
            return [tuple(r) for r in await tx.execute(text(sql), params)]
    finally:
        await db.dispose()


def rows(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    return asyncio.run(_rows(url, sql, **params))


def test_views_agree_with_routing_and_lockouts(stack: MailStack) -> None:
    url = stack.server.database_url
    _, name = new_person(stack.server)
    address = f"{name}@example.org"
    mailbox = "SELECT address, quota_rule FROM mta_mailboxes WHERE address = :a"
    assert rows(url, mailbox, a=address) == [(address, None)]
    assert rows(url, "SELECT domain FROM mta_domains WHERE domain = 'example.org'") == [
        ("example.org",)
    ]
    (hashed,) = rows(url, "SELECT password FROM mda_users WHERE username = :a", a=address)
    assert str(hashed[0]).startswith("{ARGON2ID}$argon2id$")
    doveadm = shutil.which("doveadm", path=SEARCH_PATH) or "doveadm"
    for password, ok in (("pw-1234567", True), ("wrong-password", False)):
        checked = subprocess.run(
            [doveadm, "pw", "-t", str(hashed[0]), "-p", password], capture_output=True, text=True
        )
        assert (checked.returncode == 0) is ok, checked
    # A lockout leaves delivery alone and takes the login away.
    assert requests.post(f"{stack.server.api}/lockouts/{name}", auth=ADMIN).status_code == 201
    assert rows(url, "SELECT username FROM mda_users WHERE username = :a", a=address) == []
    assert rows(url, mailbox, a=address) == [(address, None)]
    assert requests.delete(f"{stack.server.api}/lockouts/{name}", auth=ADMIN).status_code == 200
    alias = f"view-{name}@example.org"
    assert context_admin(stack.server).put(f"/admin/forwards/1/{alias}", json=[address]).ok
    assert rows(url, "SELECT recipient FROM mta_aliases WHERE alias = :a", a=alias) == [(address,)]


async def _as_role(url: str, role: str) -> None:
    import asyncpg

    parts = urlsplit(url)
    conn = await asyncpg.connect(
        host=parts.hostname, port=parts.port or 5432, user=role, database=parts.path[1:]
    )
    try:
        for view in ("mta_domains", "mta_mailboxes", "mta_aliases", "mda_users"):
            await conn.fetch(f"SELECT * FROM {view} LIMIT 1")
        await conn.fetch("SELECT * FROM mda_sieve_scripts LIMIT 1")
        for table in ("users", "credentials", "mail_aliases", "mail_sieve_scripts"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {table} LIMIT 1")
        upsert = (
            "INSERT INTO mail_last_login (username, last_login) VALUES ($1, $2) "
            "ON CONFLICT (username) DO UPDATE SET last_login = EXCLUDED.last_login"
        )
        await conn.execute(upsert, "role-test@example.org", 1)
        await conn.execute(upsert, "role-test@example.org", 2)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM mail_last_login")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE users SET locked = false")
    finally:
        await conn.close()


def test_the_engines_role_reads_the_views_and_writes_last_logins_only(stack: MailStack) -> None:
    if stack.role is None:  # roles are PostgreSQL's: on SQLite the command refuses
        refused = subprocess.run(
            [sys.executable, "-m", "townhall", "mail", "engine-role", "th_mail_x"],
            env={**os.environ, "TOWNHALL_DATABASE_URL": stack.server.database_url},
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 1 and "PostgreSQL" in refused.stderr, refused
        return
    asyncio.run(_as_role(stack.server.database_url, stack.role))
    assert rows(
        stack.server.database_url,
        "SELECT last_login FROM mail_last_login WHERE username = 'role-test@example.org'",
    ) == [(2,)]
