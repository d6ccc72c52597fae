"""The `townhall` command, run as a user runs it, against the test databases."""

from __future__ import annotations

from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import RunningServer, unique
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
    out = townhall(server.database_url, "admin", "create", name, "--password", "pw-123")
    assert out.returncode == 0, out.stderr
    try:
        r = requests.get(f"{server.api}/users/{name}", auth=(name, "pw-123"))
        assert r.status_code == 200
        again = townhall(server.database_url, "admin", "create", name, "--password", "pw-123")
        assert again.returncode == 1 and "error" in again.stderr
    finally:  # other tests rely on `admin` being the only administrator
        requests.delete(f"{server.api}/users/{name}", auth=(name, "pw-123"))


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
