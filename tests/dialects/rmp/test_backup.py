"""RMP `POST /admin/backup` and `POST /admin/restore` over HTTP, on SQLite and PostgreSQL.

Each backend gets a server of its own: a restore replaces everything, which the shared
session server's other tests could not live with. Refused archives (damaged, newer
format, other schema revision, unsafe paths) must leave everything as it was: a person
made after the backup is still there after the refusal (a restore would remove them).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.dialects.rmp.test_events import bearer, closed_with, next_of, ws_url
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.rmp import Rmp, admin, person, refused
from townhall.store.backup import tables
from townhall.store.migrate import head_revision

BASIC = ("admin", ADMIN_PASSWORD)
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def own(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("backup")
    with fresh_database(backend_of(database_url), folder) as url:
        running = start_server(
            url,
            folder / "server.log",
            TOWNHALL_DB_MAX_CONNECTIONS="4",
            TOWNHALL_MAIL_DIR=str(folder / "mail"),
        )
        try:
            yield running
        finally:
            stop_server(running)


def _backup(server: RunningServer) -> bytes:
    answer = admin(server).post("/admin/backup")
    assert answer.status_code == 200, answer.text
    return answer.content


def _restore(rmp: Rmp, archive: bytes) -> requests.Response:
    return rmp.post("/admin/restore", files={"file": ("all.tar.gz", archive, "application/gzip")})


def _openfire_user(server: RunningServer) -> str:
    name = unique("mark")
    r = requests.post(
        f"{server.api}/users", json={"username": name, "password": "pw-1234567"}, auth=BASIC
    )
    assert r.status_code == 201, r.text
    return name


def _exists(server: RunningServer, name: str) -> bool:
    r = requests.get(f"{server.api}/users/{name}", headers=JSON, auth=BASIC)
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


def _ox_id(server: RunningServer, name: str) -> int:
    r = requests.get(
        f"{server.url}/oxaas/v1/admin/contexts/1/users", params={"uids": name}, auth=BASIC
    )
    assert r.status_code == 200, r.text
    return int(r.json()[name]["user-id"])


def _members(archive: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        found = []
        for info in tar.getmembers():
            handle = tar.extractfile(info)
            found.append((info, handle.read() if handle else b""))
        return found


def _repack(archive: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """The archive with each member's content passed through `change` (None: dropped)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, content in _members(archive):
            if info.isdir():
                tar.addfile(info)
                continue
            changed = change(info.name, content)
            if changed is None:
                continue
            info.size = len(changed)
            tar.addfile(info, io.BytesIO(changed))
    return out.getvalue()


def _manifest(archive: bytes) -> dict[str, object]:
    info, content = _members(archive)[0]
    assert info.name == "manifest.json"
    found: dict[str, object] = json.loads(content)
    return found


def _with_manifest(archive: bytes, **changes: object) -> bytes:
    def change(name: str, content: bytes) -> bytes:
        if name != "manifest.json":
            return content
        return json.dumps({**json.loads(content), **changes}).encode()

    return _repack(archive, change)


def test_a_backup_is_one_archive_with_its_manifest_first(own: RunningServer) -> None:
    answer = admin(own).post("/admin/backup")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/gzip")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="townhall-backup-')
    assert disposition.endswith('.tar.gz"')
    members = _members(answer.content)
    manifest = _manifest(answer.content)
    assert manifest["format"] == 1
    assert manifest["schema"] == head_revision()
    assert manifest["database"] == backend_of(own.database_url)
    listed = manifest["tables"]
    assert isinstance(listed, dict)
    assert list(listed) == [t.name for t in tables()]
    assert "users" in listed and "live_sessions" not in listed
    contents = {info.name: content for info, content in members}
    users = contents["tables/users.jsonl"].splitlines()
    assert len(users) == listed["users"]["rows"] >= 1
    assert json.loads(users[0])["username"] == "admin"
    folders = {f["name"]: f for f in manifest["folders"]}
    assert list(folders) == ["mail", "files"]  # the Maildirs and the local file store
    for name, folder in folders.items():
        stored = [c for i, c in members if i.isfile() and i.name.startswith(f"folders/{name}/")]
        assert folder["files"] == len(stored) and folder["bytes"] == sum(map(len, stored))


def test_only_the_operator_backs_up_and_restores(own: RunningServer) -> None:
    somebody, _ = person(own)
    refused(somebody.post("/admin/backup"), 403)
    archive = _backup(own)
    refused(_restore(somebody, archive), 403)


def test_a_restore_puts_the_state_back_and_new_ids_stay_new(own: RunningServer) -> None:
    kept = _openfire_user(own)
    archive = _backup(own)
    later = _openfire_user(own)
    later_id = _ox_id(own, later)
    rmp = admin(own)
    done = _restore(rmp, archive)
    assert done.status_code == 200, done.text
    restored = done.json()["restored"]
    assert restored["schema"] == head_revision()
    assert restored["tables"]["users"] >= 2 and restored["rows"] >= restored["tables"]["users"]
    assert _exists(own, kept) and not _exists(own, later)
    # An id handed out before the restore is not handed out again.
    again = _openfire_user(own)
    assert _ox_id(own, again) > later_id
    # The admin logs in again (their sessions are the archive's) and reads as before.
    assert admin(own).get("/users").status_code == 200


def _flip(archive: bytes) -> bytes:
    raw = bytearray(archive)
    raw[len(raw) // 2] ^= 0x55
    return bytes(raw)


def _edit_users(archive: bytes) -> bytes:
    def change(name: str, content: bytes) -> bytes:
        return content.replace(b'"admin"', b'"admjn"') if name == "tables/users.jsonl" else content

    return _repack(archive, change)


def _one_more_row(archive: bytes) -> bytes:
    tables_listed = _manifest(archive)["tables"]
    assert isinstance(tables_listed, dict)
    users = {**tables_listed["users"], "rows": tables_listed["users"]["rows"] + 1}
    return _with_manifest(archive, tables={**tables_listed, "users": users})


def _escaping(archive: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, content in _members(archive):
            tar.addfile(info, io.BytesIO(content) if info.isfile() else None)
        evil = tarfile.TarInfo("folders/mail/../../escaped.txt")
        evil.size = 3
        tar.addfile(evil, io.BytesIO(b"bad"))
    return out.getvalue()


def _forged(table: str, edit: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """An archive whose table is edited and whose manifest is made to agree: it passes
    the digests, and the database itself must refuse it."""

    def make(archive: bytes) -> bytes:
        contents = {info.name: content for info, content in _members(archive)}
        edited = edit(contents[f"tables/{table}.jsonl"])
        listed = _manifest(archive)["tables"]
        assert isinstance(listed, dict)
        entry = {
            **listed[table],
            "rows": edited.count(b"\n"),
            "sha256": hashlib.sha256(edited).hexdigest(),
        }
        manifest = {**_manifest(archive), "tables": {**listed, table: entry}}

        def change(name: str, content: bytes) -> bytes:
            if name == "manifest.json":
                return json.dumps(manifest).encode()
            return edited if name == f"tables/{table}.jsonl" else content

        return _repack(archive, change)

    return make


def _no_table(archive: bytes) -> bytes:
    return _repack(archive, lambda name, c: None if name == "tables/groups.jsonl" else c)


DAMAGES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "a flipped byte": (_flip, "damaged archive"),
    "a newer format": (
        lambda a: _with_manifest(a, format=2),
        "archive format 2 is newer than this server's 1",
    ),
    "another schema revision": (lambda a: _with_manifest(a, schema="0001"), "schema revision 0001"),
    "an edited table": (_edit_users, "damaged archive: table users"),
    "a wrong row count": (_one_more_row, "damaged archive: table users"),
    "a missing table": (_no_table, "damaged archive: table groups"),
    "a path out of its folder": (_escaping, "damaged archive: unexpected member"),
    "no tar at all": (lambda a: b"not an archive", "damaged archive"),
    "a row without a required value": (
        _forged("users", lambda t: t.replace(b'"username":"admin"', b'"username":null')),
        "this database refuses",
    ),
    "a row naming nobody": (
        _forged("user_roles", lambda t: t + b'{"user_id":987654,"role":"x"}\n'),
        "this database refuses",
    ),
    "a value of the wrong kind": (
        _forged("users", lambda t: t.replace(b'"created_at":"', b'"created_at":"no time', 1)),
        "damaged archive: table users: row 1",
    ),
    "no manifest": (
        lambda a: _repack(a, lambda name, c: None if name == "manifest.json" else c),
        "manifest.json must come first",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_refused_archive_changes_nothing(own: RunningServer, damage: str) -> None:
    make, words = DAMAGES[damage]
    archive = make(_backup(own))
    marker = _openfire_user(own)  # made after the backup: a restore would remove it
    rmp = admin(own)
    users_before = rmp.get("/users").json()
    error = refused(_restore(rmp, archive), 400, "file")
    assert words in error["message"], error
    assert _exists(own, marker)
    assert rmp.get("/users").json() == users_before


def test_a_restore_needs_a_file(own: RunningServer) -> None:
    rmp = admin(own)
    refused(rmp.post("/admin/restore", json={"file": "x"}), 400, "file")
    refused(rmp.post("/admin/restore", files={"other": ("a", b"x")}), 400, "file")


def test_after_a_restore_no_cache_answers_from_before_it(own: RunningServer) -> None:
    """The Openfire API remembers accepted credentials for two seconds; a restore drops
    that memory at once (the `backup.restored` event), so a password the archive does not
    know stops working at once and the archive's works again."""
    users = f"{own.api}/users"
    archive = _backup(own)
    changed = ("admin", "changed-pw-123")
    r = requests.put(f"{users}/admin", json={"password": changed[1]}, auth=BASIC)
    assert r.status_code == 200, r.text
    try:
        assert requests.get(users, headers=JSON, auth=changed).status_code == 200  # remembered
        rmp = Rmp(own).login("admin@example.org", changed[1])
        done = _restore(rmp, archive)
        assert done.status_code == 200, done.text
        assert requests.get(users, headers=JSON, auth=changed).status_code == 401
        assert requests.get(users, headers=JSON, auth=BASIC).status_code == 200
    finally:
        for auth in (BASIC, changed):
            requests.put(f"{users}/admin", json={"password": ADMIN_PASSWORD}, auth=auth)


async def test_a_restore_ends_event_sockets_whose_credential_is_gone(own: RunningServer) -> None:
    """Someone made after the backup is not in the restored state: their open event
    socket is closed at once (4001), not when their token would have been checked."""
    archive = await asyncio.to_thread(_backup, own)
    alice, _ = await asyncio.to_thread(person, own)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(ws_url(own, bearer(alice))) as ws,
    ):
        await next_of(ws, "connected")
        done = await asyncio.to_thread(_restore, admin(own), archive)
        assert done.status_code == 200, done.text
        code, reason = await closed_with(ws)
        assert code == 4001 and reason


def test_a_restore_through_one_process_reaches_the_others(
    database_url: str, tmp_path: Path
) -> None:
    """Two server processes on one PostgreSQL database with Redis: a restore through one
    drops what the other remembers (its accepted Openfire credentials) at once."""
    if database_url.startswith("sqlite"):
        pytest.skip("several processes with Redis fan-out is the PostgreSQL deployment")
    with fresh_database("postgresql", tmp_path) as url:
        env = {
            "TOWNHALL_REDIS_URL": "redis://127.0.0.1:6379/0",
            "TOWNHALL_DB_MAX_CONNECTIONS": "4",
            "TOWNHALL_MAIL_DIR": str(tmp_path / "mail"),
        }
        one = start_server(url, tmp_path / "one.log", **env)
        try:
            other = start_server(url, tmp_path / "other.log", **env)
            try:
                archive = _backup(one)
                changed = ("admin", "changed-pw-123")
                users = f"{other.api}/users"
                r = requests.put(f"{users}/admin", json={"password": changed[1]}, auth=BASIC)
                assert r.status_code == 200, r.text
                assert requests.get(users, headers=JSON, auth=changed).status_code == 200
                done = _restore(Rmp(one).login("admin@example.org", changed[1]), archive)
                assert done.status_code == 200, done.text
                # Well within the two seconds the other process would remember it for.
                deadline = time.monotonic() + 1.0
                while requests.get(users, headers=JSON, auth=changed).status_code != 401:
                    assert time.monotonic() < deadline, "the other process still accepts it"
                    time.sleep(0.05)
                assert requests.get(users, headers=JSON, auth=BASIC).status_code == 200
            finally:
                stop_server(other)
        finally:
            stop_server(one)
