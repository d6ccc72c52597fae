"""`/mail/{uid}...`: mail counters read with a brand's mail-read credential (tennantAuth),
on a server whose embedded receiver takes mail from `smtplib`.

The brands: the default brand (credential from TOWNHALL_OX_MAIL_CREDENTIAL) owns context
1; a top brand (with its own credential) has a sub-brand owning a second context; an
unrelated brand has a credential too."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import (
    ADMIN_PASSWORD,
    RunningServer,
    unique,
)
from tests.helpers import rmp
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.mail import mailing_server, send
from tests.helpers.ox import new_person
from townhall.config import load_settings
from townhall.domain.principal import Principal
from townhall.infrastructure.mailstore.maildir import MaildirStore
from townhall.services.container import Services
from townhall.services.people import NewPerson
from townhall.services.tenants import NewTenant

PREFIXES = ("/oxaas/v1", "/api/oxaas/v1")
ROUTES = ("", "/newmessages", "/quota", "/recentmails", "/unread", "/unread/inbox")
READER = ("mail-reader", "reader-pw-1")
KEYS = {
    "": {
        "uid",
        "newmessages",
        "lastLogin",
        "unread",
        "unreadInbox",
        "recentmails",
        "mailQuota",
    },
    "/newmessages": {"newmessages", "lastLogin"},
    "/quota": {"mailQuota"},
    "/recentmails": {"recentmails"},
    "/unread": {"unread"},
    "/unread/inbox": {"unreadInbox"},
}


@dataclass
class World:
    server: RunningServer
    port: int
    store: MaildirStore
    top_reader: tuple[str, str]
    other_reader: tuple[str, str]
    sub_address: str
    """A mailbox in the sub-brand's context."""
    sub_admin: tuple[str, str]
    top_brand_admin: tuple[str, str]
    """A reseller admin of the top brand (who administers the sub-brand's context)."""


async def _brands(
    database_url: str,
) -> tuple[tuple[str, str], tuple[str, str], str, tuple[str, str], tuple[str, str]]:
    settings = load_settings(
        {
            "TOWNHALL_DATABASE_URL": database_url,
            "TOWNHALL_ARGON2_TIME_COST": "1",
            "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
        }
    )
    services = Services.build(settings)
    try:
        first = await services.tenants.first()
        assert first is not None
        operator = Principal.system(first)
        top, sub, other = unique("top"), unique("sub"), unique("other")
        await services.brands.create(operator, top)
        await services.brands.create(operator, sub, parent=top)
        await services.brands.create(operator, other)
        top_reader, other_reader = (
            (unique("top-reader"), "top-pw-1"),
            (unique("o-reader"), "o-pw-1"),
        )
        await services.brands.set_mail_credential(operator, top, *top_reader)
        await services.brands.set_mail_credential(operator, other, *other_reader)
        reseller = await services.brands.add_admin(operator, top, unique("reseller"), "res-pw-1")
        domain = f"{unique('ctx')}.test"
        made = await services.tenants.create(operator, NewTenant(domain, brand=sub))
        name = unique("subuser")
        await services.people.create(
            Principal.system(made.tenant),
            NewPerson(name, "pw-1234567", email=f"{name}@{domain}"),
        )
        return (
            top_reader,
            other_reader,
            f"{name}@{domain}",
            (made.admin, made.password),
            (reseller.admin.username, "res-pw-1"),
        )
    finally:
        await services.close()


@pytest.fixture(scope="module")
def world(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("counters")
    with (
        fresh_database(backend_of(database_url), folder) as url,
        mailing_server(
            url,
            folder,
            relaying=False,
            TOWNHALL_OX_MAIL_CREDENTIAL=":".join(READER),
            # The refusal tests fail the same credentials many times on purpose.
            TOWNHALL_LOGIN_FAILURES_PER_ACCOUNT="100000",
        ) as mailing,
    ):
        top, other, address, admin, reseller = asyncio.run(_brands(url))
        yield World(
            mailing.server,
            mailing.smtp_port,
            mailing.store,
            top,
            other,
            address,
            admin,
            reseller,
        )


def _send(port: int, recipient: str, subject: str, sender: str = "someone@outside.test") -> None:
    assert send(port, sender, [recipient], subject) == {}


def _get(
    world: World,
    address: str,
    route: str = "",
    auth: tuple[str, str] | None = READER,
    prefix: str = PREFIXES[0],
) -> requests.Response:
    return requests.get(f"{world.server.url}{prefix}/mail/{address}{route}", auth=auth, timeout=10)


def _counters(world: World, address: str) -> dict[str, object]:
    answer = _get(world, address)
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


def _mailbox(world: World) -> str:
    _, name = new_person(world.server)
    return f"{name}@example.org"


def _refused_401(answer: requests.Response) -> None:
    assert answer.status_code == 401, (answer.status_code, answer.text)
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="oxaas"'
    assert answer.json()["error"]


def test_every_route_answers_the_brand_credential_at_both_prefixes(world: World) -> None:
    address = _mailbox(world)
    _send(world.port, address, "first")
    for prefix in PREFIXES:
        for route in ROUTES:
            answer = _get(world, address.upper(), route, prefix=prefix)
            assert answer.status_code == 200, (prefix, route, answer.text)
            body = answer.json()
            assert set(body) == KEYS[route], (route, body)
    whole = _counters(world, address)
    assert whole["uid"] == address
    assert whole["newmessages"] == 1 and whole["lastLogin"] is None
    assert whole["unread"] == 1 and whole["unreadInbox"] == 1
    quota = whole["mailQuota"]
    assert isinstance(quota, dict)
    assert quota["messages"] == 1 and quota["limit"] == 0 and quota["used"] > 0
    [recent] = whole["recentmails"]  # type: ignore[misc]
    assert recent["subject"] == "first" and recent["from"] == "someone@outside.test"
    assert recent["seen"] is False and recent["size"] > 0 and isinstance(recent["uid"], int)
    assert abs(recent["date"] / 1000 - time.time()) < 120


def test_only_the_brands_own_credential_reads(world: World) -> None:
    address = _mailbox(world)  # context 1, default brand
    for prefix in PREFIXES:
        for route in ROUTES:
            for auth in (
                ("admin", ADMIN_PASSWORD),  # context admin
                world.other_reader,  # another brand's credential
                world.top_reader,  # a brand that does not own context 1
                (READER[0], "wrong-password"),
                world.sub_admin,
                None,
            ):
                _refused_401(_get(world, address, route, auth, prefix))
            # The top brand reads its sub-brand's context; the default brand does not.
            assert _get(world, world.sub_address, route, world.top_reader, prefix).ok
            _refused_401(_get(world, world.sub_address, route, READER, prefix))
            _refused_401(_get(world, world.sub_address, route, world.sub_admin, prefix))
            _refused_401(_get(world, world.sub_address, route, world.top_brand_admin, prefix))
            missing = _get(world, "nobody@example.org", route, prefix=prefix)
            assert missing.status_code == 404 and "nobody@example.org" in missing.json()["error"]
            _refused_401(_get(world, "nobody@example.org", route, None, prefix))


def test_counters_follow_mail_and_dovecot_style_flag_changes(world: World) -> None:
    address = _mailbox(world)
    before = _counters(world, address)
    assert before["unread"] == 0 and before["recentmails"] == []
    for n in range(3):
        _send(world.port, address, f"number {n}")
    after = _counters(world, address)
    assert after["unread"] == 3 and after["unreadInbox"] == 3 and after["newmessages"] == 3
    subjects = [r["subject"] for r in after["recentmails"]]  # type: ignore[attr-defined]
    assert subjects == ["number 2", "number 1", "number 0"]
    used = after["mailQuota"]["used"]  # type: ignore[index]
    # Dovecot marks a message \Seen by moving it to cur/ with the S flag in its name.
    box = world.store.folder(address)
    oldest = sorted(os.listdir(box / "new"))[0]
    os.rename(box / "new" / oldest, box / "cur" / f"{oldest}:2,S")
    seen = _counters(world, address)
    assert seen["unread"] == 2 and seen["unreadInbox"] == 2
    flags = {r["subject"]: r["seen"] for r in seen["recentmails"]}  # type: ignore[attr-defined]
    assert flags == {"number 0": True, "number 1": False, "number 2": False}
    # A second folder (Maildir++ `.Archive`) with an unread message counts in `unread` only.
    for sub in ("new", "cur", "tmp"):
        (box / ".Archive" / sub).mkdir(parents=True, exist_ok=True)
    (box / ".Archive" / "cur" / "1700000000.M1P1.host:2,").write_bytes(b"Subject: old\n\nx\n")
    archived = _counters(world, address)
    assert archived["unread"] == 3 and archived["unreadInbox"] == 2
    assert archived["mailQuota"]["messages"] == 3  # type: ignore[index]
    assert archived["mailQuota"]["used"] > used  # type: ignore[index]
    # Marking it seen there, then expunging one INBOX message.
    (box / ".Archive" / "cur" / "1700000000.M1P1.host:2,").rename(
        box / ".Archive" / "cur" / "1700000000.M1P1.host:2,S"
    )
    os.remove(box / "cur" / f"{oldest}:2,S")
    last = _counters(world, address)
    assert last["unread"] == 2 and last["unreadInbox"] == 2
    assert last["mailQuota"]["messages"] == 2  # type: ignore[index]


def test_newmessages_counts_inbox_mail_after_the_last_rmp_login(world: World) -> None:
    address = _mailbox(world)
    _send(world.port, address, "before")
    assert _counters(world, address)["newmessages"] == 1
    time.sleep(1.1)  # the last login is kept in whole seconds, as Dovecot keeps it
    login = requests.post(
        f"{world.server.url}/api/v2/auth/login",
        json={"email": address, "password": "pw-1234567"},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    time.sleep(1.1)
    after_login = _counters(world, address)
    assert after_login["newmessages"] == 0
    assert isinstance(after_login["lastLogin"], int)
    assert abs(after_login["lastLogin"] / 1000 - time.time()) < 60
    _send(world.port, address, "after")
    counted = _counters(world, address)
    assert counted["newmessages"] == 1 and counted["mailQuota"]["messages"] == 2  # type: ignore[index]
    # A failed login changes nothing.
    refused = requests.post(
        f"{world.server.url}/api/v2/auth/login",
        json={"email": address, "password": "wrong-password"},
        timeout=10,
    )
    assert refused.status_code == 401
    assert _counters(world, address)["lastLogin"] == counted["lastLogin"]


def test_a_deleted_person_loses_the_mailbox(world: World) -> None:
    _, name = new_person(world.server)
    address = f"{name}@example.org"
    _send(world.port, address, "doomed")
    box = world.store.folder(address)
    assert box.is_dir() and _counters(world, address)["unreadInbox"] == 1
    gone = requests.delete(
        f"{world.server.api}/users/{name}", auth=("admin", ADMIN_PASSWORD), timeout=10
    )
    assert gone.status_code == 200, gone.text
    assert not box.exists() and not box.parent.exists()
    assert _get(world, address).status_code == 404


def test_a_person_made_and_deleted_through_rmp_loses_the_mailbox(world: World) -> None:
    rmp_admin = rmp.admin(world.server)
    address = f"{unique('rmpmail')}@example.org"
    made = rmp_admin.post(
        "/users", json={"email": address, "password": "pw-123456", "realName": "R M"}
    )
    assert made.status_code == 201, made.text
    _send(world.port, address, "to an RMP person")
    assert _counters(world, address)["unreadInbox"] == 1
    assert rmp_admin.delete(f"/users/{address}").status_code == 200
    assert not world.store.folder(address).exists()
    missing = _get(world, address)
    assert missing.status_code == 404 and address in missing.json()["error"]


async def test_a_deleted_context_takes_its_peoples_mailboxes(world: World) -> None:
    settings = load_settings(
        {
            "TOWNHALL_DATABASE_URL": world.server.database_url,
            "TOWNHALL_MAIL_DIR": str(world.store.root),
            "TOWNHALL_ARGON2_TIME_COST": "1",
            "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
        }
    )
    services = Services.build(settings)
    try:
        first = await services.tenants.first()
        assert first is not None
        operator = Principal.system(first)
        domain = f"{unique('gone')}.test"
        made = await services.tenants.create(operator, NewTenant(domain))
        name = unique("goner")
        address = f"{name}@{domain}"
        await services.people.create(
            Principal.system(made.tenant), NewPerson(name, "pw-1234567", email=address)
        )
        _send(world.port, address, "to a context about to go")
        assert world.store.folder(address).is_dir()
        await services.tenants.delete(operator, domain)  # as `townhall tenants delete` does
        assert not world.store.folder(address).exists()
    finally:
        await services.close()
