"""Backup and restore of everything, across databases: data put in through all four
APIs on one server, backed up (`POST /api/v2/admin/backup`), restored into a fresh
server on the other database (`POST /api/v2/admin/restore`), and every read route in
the list below answers the same JSON on both. Then the same through the CLI.

What may differ: links in answers (avatar URLs) name the server asked, so the server's
own base URL is replaced by `<server>` before comparing; and RMP's `/admin/export`
says when it was made (`exportedAt`), which is left out. Nothing else is ignored.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.dialects.symphony.test_avatars import _png
from tests.dialects.symphony.test_certificates import _body, make_cert
from tests.helpers.cli import townhall
from tests.helpers.databases import fresh_database
from tests.helpers.rmp import Rmp, admin, book, create_resource, resource_type
from tests.helpers.symphony import make_bot, session_token

if TYPE_CHECKING:
    from townhall.services.container import Services

JSON = {"Accept": "application/json"}
READER = ("mail-reader", "reader-pw-123")
BASIC = ("admin", ADMIN_PASSWORD)


def _env(mail: Path) -> dict[str, str]:
    """Few PostgreSQL connections per server (two servers run at once)."""
    return {
        "TOWNHALL_DB_MAX_CONNECTIONS": "4",
        "TOWNHALL_MAIL_DIR": str(mail),
        "TOWNHALL_FILES_DIR": str(mail.with_name(mail.name + "-files")),
        "TOWNHALL_OX_MAIL_CREDENTIAL": ":".join(READER),
    }


@dataclass
class World:
    """What was put in, to name it in the read routes."""

    person: str
    uid: int
    symphony_uid: int
    token: str
    group: str
    room: str
    stream: str
    email: str
    mail_file: str
    resource: str
    booking: str


async def _bot(database_url: str) -> Any:
    from townhall.config import load_settings
    from townhall.services.container import Services

    settings = load_settings({"TOWNHALL_DATABASE_URL": database_url})
    built = Services.build(settings, db=None)
    try:
        return await make_bot(built, frozenset({"ADMINISTRATOR"}))
    finally:
        await built.close()


def populate(server: RunningServer, mail: Path) -> World:
    api = server.api
    # Openfire: a person with a property and a roster item, a group, a chat room.
    person = unique("bk")
    r = requests.post(
        f"{api}/users",
        json={
            "username": person,
            "password": "pw-1234567",
            "name": "Backed Up",
            "email": f"{person}@example.org",
            "properties": [{"key": "colour", "value": "blue"}],
        },
        auth=BASIC,
    )
    assert r.status_code == 201, r.text
    r = requests.post(
        f"{api}/users/{person}/roster",
        json={"jid": "friend@elsewhere.test", "nickname": "Friend", "subscriptionType": 3},
        auth=BASIC,
    )
    assert r.status_code == 201, r.text
    group = unique("team")
    r = requests.post(
        f"{api}/groups",
        json={"name": group, "description": "A team", "admins": [], "members": [person]},
        headers=JSON,
        auth=BASIC,
    )
    assert r.status_code == 201, r.text
    room = unique("lobby")
    r = requests.post(
        f"{api}/chatrooms",
        json={"roomName": room, "naturalName": "Lobby", "description": "Talk"},
        headers=JSON,
        auth=BASIC,
    )
    assert r.status_code == 201, r.text
    # Symphony: a bot (keys, session token), a person, features, an avatar (bytes), a
    # company certificate, a room (stream).
    bot = asyncio.run(_bot(server.database_url))
    token = session_token(server, bot)
    pod = f"{server.url}/pod"
    headers = {"sessionToken": token}
    name = unique("sym")
    r = requests.post(
        f"{pod}/v2/admin/user/create",
        json={
            "userAttributes": {
                "userName": name,
                "emailAddress": f"{name}@example.org",
                "displayName": "Sym Person",
                "department": "Ops",
                "assetClasses": ["Equities"],
            }
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    uid = int(r.json()["userSystemInfo"]["id"])
    r = requests.post(
        f"{pod}/v1/admin/user/{uid}/features/update",
        json=[{"entitlment": "canCreatePublicRoom", "enabled": True}],
        headers=headers,
    )
    assert r.status_code == 200, r.text
    import base64

    image = base64.b64encode(_png()).decode()
    r = requests.post(
        f"{pod}/v1/admin/user/{uid}/avatar/update", json={"image": image}, headers=headers
    )
    assert r.status_code == 200, r.text
    r = requests.post(
        f"{pod}/v2/companycert/create", json=_body(make_cert(unique("cert"))), headers=headers
    )
    assert r.status_code == 200, r.text
    r = requests.post(
        f"{pod}/v3/room/create",
        json={"name": unique("Stream "), "description": "d", "discoverable": True},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    stream = str(r.json()["roomSystemInfo"]["id"])
    # RMP: a type, a resource, a booking (with its calendar events), a calendar event.
    rmp = admin(server)
    kind = resource_type(rmp)
    resource = create_resource(rmp, kind, unique("Room "), floor="2nd")
    booked = book(rmp, str(resource["id"]), "2032-05-03T09:00:00.250Z", "2032-05-03T10:00:00Z")
    assert booked.status_code == 201, booked.text
    r = rmp.post(
        "/calendars/Calendar/events",
        json={
            "title": "Planning",
            "startTime": "2032-05-04T09:00:00Z",
            "endTime": "2032-05-04T10:00:00Z",
            "recurrence": "FREQ=WEEKLY;COUNT=3",
        },
    )
    assert r.status_code == 201, r.text
    # RMP: contacts (one linked to the person), a file, a calendar shared with the person.
    for contact in (
        {"name": "Carol Outside", "email": "carol@outside.test", "phone": "+49 30 1234"},
        {"name": "typed name", "email": f"{person}@example.org"},
    ):
        r = rmp.post("/contacts", json=contact)
        assert r.status_code == 201, r.text
    plan = {"file": ("plan.txt", b"the plan", "text/plain")}
    r = rmp.post("/files", files=plan, data={"path": "/docs"})
    assert r.status_code == 201, r.text
    assert rmp.post("/calendars", json={"name": "Team"}).status_code == 201
    share = {"email": f"{person}@example.org", "access": "read-write"}
    r = rmp.post("/calendars/Team/shares", json=share)
    assert r.status_code == 201, r.text
    # OX: a forward, a black list, a white list.
    ox = f"{server.url}/oxaas/v1"
    alias = f"{unique('sales')}@example.org"
    r = requests.put(
        f"{ox}/admin/forwards/1/{alias}", json={"recipient": ["a@example.org"]}, auth=BASIC
    )
    assert r.status_code == 200, r.text
    listed = requests.get(f"{ox}/admin/contexts/1/users", params={"uids": person}, auth=BASIC)
    ox_uid = int(listed.json()[person]["user-id"])
    user = f"{ox}/admin/contexts/1/users/{ox_uid}"
    assert requests.put(f"{user}/blacklist/spam@bad.test", auth=BASIC).status_code == 200
    assert requests.put(f"{user}/whitelist/boss@good.test", auth=BASIC).status_code == 200
    # Mail: one message in the person's Maildir (as the embedded receiver files it).
    box = mail / "example.org" / person / "Maildir"
    for sub in ("tmp", "new", "cur"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    message = b"From: x@outside.test\r\nSubject: kept\r\n\r\nbody\r\n"
    key = f"1700000000.M1P1Q1.test,S={len(message)}"
    (box / "new" / key).write_bytes(message)
    return World(
        person,
        ox_uid,
        uid,
        token,
        group,
        room,
        stream,
        f"{person}@example.org",
        key,
        str(resource["id"]),
        str(booked.json()["booking"]["id"]),
    )


def reads(server: RunningServer, world: World) -> dict[str, Any]:
    """The answers of read routes of every API, by route."""
    got: dict[str, Any] = {}

    def keep(label: str, answer: requests.Response) -> None:
        assert answer.status_code == 200, (label, answer.status_code, answer.text)
        # Links name the server they were asked of, which is another one after the move.
        got[label] = json.loads(answer.text.replace(server.url, "<server>"))

    api = server.api
    for path in (
        "/users",
        f"/users/{world.person}",
        f"/users/{world.person}/roster",
        f"/users/{world.person}/groups",
        "/groups",
        f"/groups/{world.group}",
        "/chatrooms",
        f"/chatrooms/{world.room}",
        "/chatservices",
        "/system/properties",
    ):
        keep(f"openfire {path}", requests.get(f"{api}{path}", headers=JSON, auth=BASIC))
    pod = f"{server.url}/pod"
    headers = {"sessionToken": world.token}
    uid = world.symphony_uid
    for path in (
        "/v2/admin/user/list",
        f"/v2/admin/user/{uid}",
        f"/v1/admin/user/{uid}/features",
        f"/v1/admin/user/{uid}/avatar",
        "/v1/companycert/list",
        f"/v3/room/{world.stream}/info",
    ):
        keep(f"symphony {path}", requests.get(f"{pod}{path}", headers=headers))
    avatar = got[f"symphony /v1/admin/user/{uid}/avatar"][0]["url"]
    picture = requests.get(avatar.replace("<server>", server.url))
    assert picture.status_code == 200
    got["the avatar's bytes"] = hashlib.sha256(picture.content).hexdigest()
    keep(
        "symphony /v3/room/search",
        requests.post(f"{pod}/v3/room/search", json={"query": ""}, headers=headers),
    )
    rmp: Rmp = admin(server)
    for path, params in (
        ("/users", {}),
        ("/domains", {}),
        ("/resources", {}),
        ("/resource-types", {}),
        (f"/resources/{world.resource}", {}),
        (f"/bookings/{world.booking}", {}),
        (f"/users/{world.email}", {}),
        ("/domains/example.org/settings", {}),
        ("/bookings", {"startDate": "2032-01-01T00:00:00Z", "endDate": "2033-01-01T00:00:00Z"}),
        ("/calendars", {}),
        (
            "/calendars/Calendar/events",
            {
                "startDate": "2032-05-01T00:00:00Z",
                "endDate": "2032-06-01T00:00:00Z",
                "includeRecurring": "true",
            },
        ),
        (
            "/freebusy",
            {
                "email": "admin@example.org",
                "startTime": "2032-05-01T00:00:00Z",
                "endTime": "2032-06-01T00:00:00Z",
            },
        ),
        ("/admin/statistics", {}),
        ("/contacts", {}),
        ("/contacts/all", {}),
        ("/groups", {}),
        ("/files", {"path": "/docs"}),
    ):
        keep(f"rmp {path}", rmp.get(path, params=params))
    content = rmp.get("/files/content", params={"path": "/docs/plan.txt"})
    assert content.status_code == 200 and content.content == b"the plan", content.text
    exported = rmp.get("/admin/export", params={"includeBookings": "true"})
    assert exported.status_code == 200, exported.text
    got["rmp /admin/export"] = {k: v for k, v in exported.json().items() if k != "exportedAt"}
    ox = f"{server.url}/oxaas/v1"
    user = f"/admin/contexts/1/users/{world.uid}"
    for path in (
        "/admin/forwards/1",
        "/admin/contexts/1/users",
        f"{user}/blacklist",
        f"{user}/whitelist",
    ):
        keep(f"ox {path}", requests.get(f"{ox}{path}", auth=BASIC))
    keep(f"ox /mail/{world.email}", requests.get(f"{ox}/mail/{world.email}", auth=READER))
    return got


@dataclass
class Pair:
    source: RunningServer
    target: RunningServer
    source_mail: Path
    target_mail: Path


@pytest.fixture
def servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pair]:
    source_kind, target_kind = request.param
    with (
        fresh_database(source_kind, tmp_path) as source_url,
        fresh_database(target_kind, tmp_path) as target_url,
    ):
        source_mail, target_mail = tmp_path / "mail-a", tmp_path / "mail-b"
        source = start_server(source_url, tmp_path / "a.log", **_env(source_mail))
        try:
            target = start_server(target_url, tmp_path / "b.log", **_env(target_mail))
            try:
                yield Pair(source, target, source_mail, target_mail)
            finally:
                stop_server(target)
        finally:
            stop_server(source)


def _backup(server: RunningServer) -> bytes:
    answer = admin(server).post("/admin/backup")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/gzip")
    assert 'filename="townhall-backup-' in answer.headers["content-disposition"]
    return answer.content


def _restore(server: RunningServer, archive: bytes) -> requests.Response:
    files = {"file": ("backup.tar.gz", archive, "application/gzip")}
    return admin(server).post("/admin/restore", files=files)


@pytest.mark.parametrize(
    "servers",
    [("sqlite", "postgresql"), ("postgresql", "sqlite")],
    indirect=True,
    ids=["sqlite-to-postgresql", "postgresql-to-sqlite"],
)
def test_a_backup_restored_on_the_other_database_answers_the_same(servers: Pair) -> None:
    world = populate(servers.source, servers.source_mail)
    before = reads(servers.source, world)
    archive = _backup(servers.source)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert tar.getnames()[0] == "manifest.json"
    done = _restore(servers.target, archive)
    assert done.status_code == 200, done.text
    summary = done.json()
    assert summary["success"] is True
    assert summary["restored"]["tables"]["users"] >= 4
    assert summary["restored"]["folders"]["mail"] >= 1  # the message, and its index
    after = reads(servers.target, world)
    assert set(after) == set(before)
    for route, answer in before.items():
        assert after[route] == answer, route
    mailed = servers.target_mail / "example.org" / world.person / "Maildir" / "new"
    assert (mailed / world.mail_file).read_bytes().startswith(b"From: x@outside.test")
    # New rows get ids of their own: a person made now is not one that was.
    made = requests.post(
        f"{servers.target.api}/users",
        json={"username": unique("after"), "password": "pw-1234567"},
        auth=BASIC,
    )
    assert made.status_code == 201, made.text


def test_the_cli_backs_up_and_restores(tmp_path: Path) -> None:
    """`townhall backup FILE` from a running server's database, `townhall restore FILE`
    into a new database, and a server on it answers as the first one did."""
    with (
        fresh_database("sqlite", tmp_path) as source_url,
        fresh_database("sqlite", tmp_path) as target_url,
    ):
        source = start_server(source_url, tmp_path / "a.log", **_env(tmp_path / "mail-a"))
        try:
            name = unique("cli")
            r = requests.post(
                f"{source.api}/users",
                json={"username": name, "password": "pw-1234567", "name": "Cli Person"},
                auth=BASIC,
            )
            assert r.status_code == 201, r.text
            before = requests.get(f"{source.api}/users", headers=JSON, auth=BASIC).json()
            archive = tmp_path / "all.tar.gz"
            made = townhall(source_url, "backup", str(archive))
        finally:
            stop_server(source)
        assert made.returncode == 0, made.stderr
        assert "backup written to" in made.stdout and archive.is_file()
        damaged = tmp_path / "damaged.tar.gz"
        raw = bytearray(archive.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        damaged.write_bytes(bytes(raw))
        # The target has no database yet: `--create` says that is meant.
        refused = townhall(target_url, "--create", "restore", str(damaged))
        assert refused.returncode == 1 and "damaged archive" in refused.stderr
        done = townhall(target_url, "--create", "restore", str(archive))
        assert done.returncode == 0, done.stderr
        assert "restored" in done.stdout
        target = start_server(target_url, tmp_path / "b.log", **_env(tmp_path / "mail-b"))
        try:
            after = requests.get(f"{target.api}/users", headers=JSON, auth=BASIC).json()
        finally:
            stop_server(target)
        assert after == before


async def test_a_snapshot_sees_one_state_while_writes_go_on(services: Services) -> None:
    """What makes a backup consistent while the server serves: its one read transaction
    does not see what commits after it began (on SQLite WAL and PostgreSQL alike)."""
    from sqlalchemy import func, select

    from townhall.domain.principal import Principal
    from townhall.services.people import NewPerson
    from townhall.store.schema import users

    actor = Principal.system(await services.tenants.first(), "test")
    count = select(func.count()).select_from(users)
    async with services.deps.db.snapshot() as snap:
        before = (await snap.execute(count)).scalar()
        await services.people.create(actor, NewPerson(unique("during"), "pw-1234567"))
        assert (await snap.execute(count)).scalar() == before
        if snap.kind == "postgresql":
            shown = await snap.execute(select(func.current_setting("transaction_isolation")))
            assert shown.scalar() == "repeatable read"
    async with services.deps.db.read() as tx:
        assert (await tx.execute(count)).scalar() == (before or 0) + 1
