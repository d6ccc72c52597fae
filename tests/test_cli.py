"""The `townhall` command, run as a user runs it, against the test databases."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.helpers.cli import townhall


def test_help_and_version(server: RunningServer) -> None:
    out = townhall(server.database_url, "--help")
    assert out.returncode == 0
    for command in ("serve", "db", "admin", "users", "version"):
        assert command in out.stdout
    assert townhall(server.database_url, "version").stdout.strip() == "0.1.0"
    assert townhall(server.database_url, "db", "upgrade").returncode == 0


def test_admin_create_logs_in_over_the_api(server: RunningServer) -> None:
    name = unique("cliadmin")
    out = townhall(server.database_url, "admin", "create", name, "--password", "pw-123456")
    assert out.returncode == 0, out.stderr
    try:
        r = requests.get(f"{server.api}/users/{name}", auth=(name, "pw-123456"))
        assert r.status_code == 200
        again = townhall(server.database_url, "admin", "create", name, "--password", "pw-123456")
        assert again.returncode == 1
        assert again.stderr.strip() == f"error: user {name} already exists"
    finally:  # other tests rely on `admin` being the only administrator
        requests.delete(f"{server.api}/users/{name}", auth=(name, "pw-123456"))


def test_set_key_registers_a_login_key(server: RunningServer, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = tmp_path / "key.pem"
    pem.write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert townhall(server.database_url, "users", "set-key", "admin", str(pem)).returncode == 0
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    out = townhall(server.database_url, "users", "set-key", "admin", str(junk))
    assert out.returncode == 1 and "current_key" in out.stderr


def test_admin_reset_password_is_the_way_back_in(server: RunningServer) -> None:
    name = unique("locked")
    assert (
        townhall(
            server.database_url, "admin", "create", name, "--password", "first-pw-1"
        ).returncode
        == 0
    )
    admin = ("admin", ADMIN_PASSWORD)
    try:
        assert requests.post(f"{server.api}/lockouts/{name}", auth=admin).status_code == 201
        assert (
            requests.get(f"{server.api}/users/{name}", auth=(name, "first-pw-1")).status_code == 401
        )
        out = townhall(server.database_url, "admin", "reset-password", name)
        assert out.returncode == 0, out.stderr
        printed = out.stdout.rsplit("(shown once): ", 1)[1].strip()
        assert len(printed) >= 16
        r = requests.get(f"{server.api}/users/{name}", auth=(name, printed))
        assert r.status_code == 200  # unlocked, with the printed password
        chosen = townhall(
            server.database_url,
            "admin",
            "reset-password",
            name,
            "--password",
            "chosen-pw-1",
            "--tenant",
            "example.org",
        )
        assert chosen.returncode == 0 and "shown once" not in chosen.stdout
        assert (
            requests.get(f"{server.api}/users/{name}", auth=(name, "chosen-pw-1")).status_code
            == 200
        )
        short = townhall(
            server.database_url, "admin", "reset-password", name, "--password", "short"
        )
        assert short.returncode == 1 and "password" in short.stderr
        missing = unique("nobody")
        nobody = townhall(server.database_url, "admin", "reset-password", missing)
        assert nobody.returncode == 1 and nobody.stderr.strip() == f"error: no user {missing}"
        elsewhere = townhall(
            server.database_url, "admin", "reset-password", name, "--tenant", "no.such"
        )
        assert elsewhere.returncode == 1 and "no.such" in elsewhere.stderr
    finally:  # other tests rely on `admin` being the only administrator
        requests.delete(f"{server.api}/users/{name}", auth=admin)


def test_a_short_admin_password_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'fresh.db'}"
    out = subprocess.run(
        [sys.executable, "-m", "townhall", "serve", "--port", "1"],
        env={**os.environ, "TOWNHALL_DATABASE_URL": database, "TOWNHALL_ADMIN_PASSWORD": "short"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert "TOWNHALL_ADMIN_PASSWORD must be at least 8 characters" in out.stderr
    assert "listening" not in out.stdout
    with sqlite3.connect(tmp_path / "fresh.db") as db:  # no tenant, no admin was made
        assert db.execute("SELECT count(*) FROM tenants").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
