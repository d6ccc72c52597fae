"""Symphony test helpers: bots with RSA keys, logins, and the official BDK client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import RunningServer, unique
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson


@dataclass
class Bot:
    username: str
    uid: int
    private_pem: str
    public_pem: str

    def jwt(self, lifetime: int = 240, sub: str | None = None) -> str:
        claims = {"sub": sub or self.username, "exp": int(time.time()) + lifetime}
        return jwt.encode(claims, self.private_pem, algorithm="RS512")


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def make_bot(services: Services, roles: frozenset[str]) -> Bot:
    private, public = key_pair()
    actor = Principal.system(await services.tenants.first(), "test")
    name = unique("bot")
    person = await services.people.create(
        actor,
        NewPerson(
            username=name,
            email=f"{name}@example.org",
            name="Test Bot",
            roles=roles,
            account_type="SYSTEM",
            keys={"current": (public, None)},
        ),
    )
    return Bot(name, person.id, private, public)


@pytest.fixture
async def admin_bot(services: Services) -> Bot:
    return await make_bot(services, frozenset({"ADMINISTRATOR"}))


def login(
    server: RunningServer, signed: str, path: str = "/login/pubkey/authenticate"
) -> requests.Response:
    return requests.post(f"{server.url}{path}", json={"token": signed})


def session_token(server: RunningServer, bot: Bot) -> str:
    r = login(server, bot.jwt())
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


@pytest.fixture
async def bdk(server: RunningServer, admin_bot: Bot, tmp_path: Any) -> AsyncIterator[Any]:
    from symphony.bdk.core.config.loader import BdkConfigLoader
    from symphony.bdk.core.symphony_bdk import SymphonyBdk

    key = tmp_path / "bot.pem"
    key.write_text(admin_bot.private_pem)
    port = server.url.rsplit(":", 1)[1]
    config = BdkConfigLoader.load_from_content(
        f"scheme: http\nhost: 127.0.0.1\nport: {port}\n"
        f"bot:\n  username: {admin_bot.username}\n  privateKey:\n    path: {key}\n"
        "retry:\n  maxAttempts: 2\n  initialIntervalMillis: 50\n"
    )
    async with SymphonyBdk(config) as client:
        yield client
