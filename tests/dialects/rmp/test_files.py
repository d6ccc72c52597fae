"""RMP files: a person's storage through HTTP, on both databases, with both file stores
(a local folder, and chunks in the database)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.helpers.rmp import DOMAIN, Rmp, person, refused


@dataclass
class FilesServer:
    server: RunningServer
    store: str
    folder: Path

    def blobs(self) -> int:
        """How many blobs the file store holds (whoever's)."""
        if self.store == "local":
            return sum(1 for p in self.folder.rglob("*") if p.is_file())
        url = self.server.database_url
        if url.startswith("sqlite:///"):
            with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
                return int(db.execute("SELECT COUNT(DISTINCT blob) FROM file_chunks").fetchone()[0])
        return asyncio.run(_pg_count(url))


async def _pg_count(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT COUNT(DISTINCT blob) FROM file_chunks"))
    finally:
        await conn.close()


@pytest.fixture(scope="module", params=["local", "database"])
def files(
    request: pytest.FixtureRequest, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FilesServer]:
    folder = tmp_path_factory.mktemp("files")
    running = start_server(
        database_url,
        tmp_path_factory.mktemp("log") / "server.log",
        TOWNHALL_FILE_STORE=request.param,
        TOWNHALL_FILES_DIR=str(folder),
    )
    yield FilesServer(running, request.param, folder)
    stop_server(running)


def _login(files: FilesServer, email: str, password: str) -> Rmp:
    return Rmp(files.server).login(email, password)


def _admin(files: FilesServer) -> Rmp:
    return _login(files, f"admin@{DOMAIN}", ADMIN_PASSWORD)


def _person(files: FilesServer, is_admin: bool = False) -> tuple[Rmp, str]:
    return person(files.server, is_admin)


def _upload(
    rmp: Rmp,
    name: str,
    content: bytes,
    path: str | None = None,
    content_type: str = "application/octet-stream",
    **params: str,
) -> requests.Response:
    data = {"path": path} if path is not None else {}
    return rmp.post(
        "/files", files={"file": (name, content, content_type)}, data=data, params=params
    )


def _names(rmp: Rmp, path: str = "/", **params: str) -> list[tuple[str, str]]:
    answer = rmp.get("/files", params={"path": path, **params})
    assert answer.status_code == 200, answer.text
    return [(f["name"], f["type"]) for f in answer.json()["files"]]


def _set_quota(files: FilesServer, email: str, quota: str) -> None:
    username = email.split("@")[0]
    changed = requests.put(
        f"{files.server.api}/users/{username}",
        json={
            "username": username,
            "properties": [{"key": "rmp.quota.fileStorage", "value": quota}],
        },
        auth=("admin", ADMIN_PASSWORD),
        headers={"Accept": "application/json"},
    )
    assert changed.status_code == 200, changed.text


def test_upload_list_download_delete_in_nested_folders(files: FilesServer) -> None:
    rmp, _ = _person(files)
    assert rmp.get("/files").json() == {
        "success": True,
        "path": "/",
        "files": [],
        "total": 0,
        "page": 1,
        "pages": 0,
    }
    made = _upload(rmp, "report.pdf", b"%PDF-1.4 hello", "/docs/2025")
    assert made.status_code == 201, made.text
    shown = made.json()["file"]
    assert shown["name"] == "report.pdf" and shown["path"] == "/docs/2025/report.pdf"
    assert shown["type"] == "file" and shown["size"] == 14
    assert shown["mimeType"] == "application/pdf" and shown["modified"].endswith("Z")
    assert _upload(rmp, "notes.txt", b"plain", "docs").status_code == 201
    assert _upload(rmp, "picture", b"\x00\x01", content_type="image/png").status_code == 201

    assert _names(rmp) == [("docs", "directory"), ("picture", "file")]
    listed = rmp.get("/files", params={"path": "/docs"}).json()
    assert [(f["name"], f["type"]) for f in listed["files"]] == [
        ("2025", "directory"),
        ("notes.txt", "file"),
    ]
    folder, text = listed["files"]
    assert set(folder) == {"name", "type", "modified"}
    assert set(text) == {"name", "type", "size", "modified", "mimeType"}
    assert text["mimeType"] == "text/plain" and text["size"] == 5
    top = rmp.get("/files").json()["files"][1]
    assert top["mimeType"] == "image/png"  # no suffix to go by: what the client said

    got = rmp.get("/files/content", params={"path": "/docs/2025/report.pdf"})
    assert got.status_code == 200 and got.content == b"%PDF-1.4 hello"
    assert got.headers["content-type"].startswith("application/pdf")
    assert "report.pdf" in got.headers["content-disposition"]

    replaced = _upload(rmp, "notes.txt", b"second version", "/docs/")
    assert replaced.status_code == 201 and replaced.json()["file"]["size"] == 14
    assert rmp.get("/files/content", params={"path": "docs/notes.txt"}).content == b"second version"
    assert _names(rmp, "/docs") == [("2025", "directory"), ("notes.txt", "file")]

    gone = rmp.delete("/files", params={"path": "/docs/notes.txt"})
    assert gone.status_code == 200 and gone.json()["file"]["path"] == "/docs/notes.txt"
    refused(rmp.get("/files/content", params={"path": "/docs/notes.txt"}), 404)
    refused(rmp.delete("/files", params={"path": "/docs/notes.txt"}), 404)
    assert rmp.delete("/files", params={"path": "/docs"}).status_code == 200
    assert _names(rmp) == [("picture", "file")]
    refused(rmp.get("/files/content", params={"path": "/docs/2025/report.pdf"}), 404)
    refused(rmp.get("/files", params={"path": "/docs"}), 404)
    refused(rmp.get("/files", params={"path": "/picture"}), 400, "path")
    refused(rmp.get("/files/content", params={"path": "/"}), 400, "path")
    refused(rmp.delete("/files", params={"path": "/"}), 400, "path")


def test_a_file_and_a_folder_never_share_a_name(files: FilesServer) -> None:
    rmp, _ = _person(files)
    assert _upload(rmp, "a", b"x").status_code == 201
    refused(_upload(rmp, "b.txt", b"y", "/a"), 409)
    assert _upload(rmp, "c.txt", b"z", "/d").status_code == 201
    refused(_upload(rmp, "d", b"w"), 409)
    assert _names(rmp) == [("d", "directory"), ("a", "file")]


@pytest.mark.parametrize(
    "path",
    ["../etc", "/docs/../../etc", "a/./b", "a//b", "C:/windows", "a\\b", "a\x00b", "//server"],
)
def test_paths_outside_the_storage_are_refused(files: FilesServer, path: str) -> None:
    rmp, _ = _person(files)
    before = files.blobs()
    refused(_upload(rmp, "x.txt", b"evil", path), 400, "path")
    refused(rmp.get("/files", params={"path": path}), 400, "path")
    refused(rmp.get("/files/content", params={"path": path}), 400, "path")
    refused(rmp.delete("/files", params={"path": path}), 400, "path")
    assert files.blobs() == before
    assert _names(rmp) == []


@pytest.mark.parametrize("name", ["..", "a/b.txt", "a\\b.txt", "."])
def test_file_names_that_are_paths_are_refused(files: FilesServer, name: str) -> None:
    rmp, _ = _person(files)
    before = files.blobs()
    refused(_upload(rmp, name, b"evil"), 400, "file")
    assert files.blobs() == before
    assert _names(rmp) == []


def test_the_quota_refuses_an_upload_and_nothing_is_stored(files: FilesServer) -> None:
    rmp, email = _person(files)
    _set_quota(files, email, "1KB")
    assert _upload(rmp, "small.txt", b"a" * 600).status_code == 201
    before = files.blobs()
    over = refused(_upload(rmp, "more.txt", b"b" * 600, "/sub"), 413, "file")
    assert over["code"] == "QUOTA_EXCEEDED" and over["details"]["quota"] == 1024
    assert over["details"]["used"] == 600 and "quota" in over["message"]
    # far past the quota: refused while it streams, the client still reads the answer
    huge = refused(_upload(rmp, "huge.bin", os.urandom(3 * 1024 * 1024)), 413, "file")
    assert huge["code"] == "QUOTA_EXCEEDED"
    assert files.blobs() == before
    assert _names(rmp) == [("small.txt", "file")]
    # replacing a file counts its new size only
    assert _upload(rmp, "small.txt", b"c" * 1000).status_code == 201
    assert files.blobs() == before
    _set_quota(files, email, "lots")  # unreadable: refused, not unmetered
    assert "lots" in refused(_upload(rmp, "more.txt", b"b" * 600), 409)["message"]
    assert files.blobs() == before
    _set_quota(files, email, "unlimited")
    assert _upload(rmp, "more.txt", b"b" * 600, "/sub").status_code == 201
    _set_quota(files, email, "2 KiB")
    assert _upload(rmp, "last.txt", b"d" * 448).status_code == 201  # exactly full
    refused(_upload(rmp, "one-too-many.txt", b"e"), 413, "file")


def test_admins_reach_other_accounts_and_others_are_refused(files: FilesServer) -> None:
    owner, email = _person(files)
    other, other_email = _person(files)
    boss = _admin(files)
    assert _upload(owner, "mine.txt", b"private", "/p").status_code == 201
    assert _names(other) == []  # another person's files are invisible
    refused(other.get("/files/content", params={"path": "/p/mine.txt"}), 404)
    refused(other.get("/files", params={"account": email}), 403)
    refused(other.get("/files/content", params={"path": "/p/mine.txt", "account": email}), 403)
    refused(other.delete("/files", params={"path": "/p", "account": email}), 403)
    refused(_upload(other, "x.txt", b"x", account=email), 403)
    assert _names(owner, "/", account=email) == [("p", "directory")]  # one's own: fine

    assert _names(boss, "/p", account=email) == [("mine.txt", "file")]
    read = boss.get("/files/content", params={"path": "/p/mine.txt", "account": email})
    assert read.content == b"private"
    put = _upload(boss, "from-admin.txt", b"hi", "/p", account=email)
    assert put.status_code == 201, put.text
    assert _names(owner, "/p") == [("from-admin.txt", "file"), ("mine.txt", "file")]
    assert ("p", "directory") not in _names(boss)  # the admin's own storage is untouched
    as_field = boss.post(
        "/files",
        files={"file": ("field.txt", b"f", "text/plain")},
        data={"account": email, "path": "/p"},
    )
    assert as_field.status_code == 201, as_field.text
    gone = boss.delete("/files", params={"path": "/p/mine.txt", "account": email})
    assert gone.status_code == 200
    assert _names(owner, "/p") == [("field.txt", "file"), ("from-admin.txt", "file")]
    refused(boss.get("/files", params={"account": f"nobody-{unique('x')}@{DOMAIN}"}), 404)
    assert _names(other) == []

    # a domain admin reaches the people of its domain, never the server admin
    domain_admin, _ = _person(files, is_admin=True)
    assert _names(domain_admin, "/p", account=email) == [
        ("field.txt", "file"),
        ("from-admin.txt", "file"),
    ]
    assert _names(domain_admin, "/", account=other_email) == []
    refused(domain_admin.get("/files", params={"account": f"admin@{DOMAIN}"}), 403)
    refused(_upload(domain_admin, "x.txt", b"x", account=f"admin@{DOMAIN}"), 403)


def test_a_deleted_person_takes_their_files_along(files: FilesServer) -> None:
    rmp, email = _person(files)
    before = files.blobs()
    assert _upload(rmp, "a.bin", b"a" * 1000, "/x").status_code == 201
    assert _upload(rmp, "b.bin", b"b" * 1000).status_code == 201
    assert files.blobs() == before + 2
    assert _admin(files).delete(f"/users/{email}").status_code == 200
    assert files.blobs() == before


def _peak_kib(root: int) -> int:
    """The largest peak resident size (VmHWM) among the server's processes."""
    pending, peaks = [root], []
    while pending:
        pid = pending.pop()
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        peaks += [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
        pending += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return max(peaks)


def test_a_large_file_streams_both_ways(files: FilesServer) -> None:
    """20 MB up and down: the bytes arrive whole, and the server's peak memory grows by
    far less than the file (it is never read whole). Not on SQLite with the database
    store: SQLite's own page cache (64 MiB, store/database.py) keeps the pages written."""
    rmp, _ = _person(files)
    measured = Path("/proc/self/status").exists() and not (
        files.store == "database" and files.server.database_url.startswith("sqlite")
    )
    assert _upload(rmp, "warm.bin", os.urandom(1024 * 1024), "/large").status_code == 201
    assert rmp.get("/files/content", params={"path": "/large/warm.bin"}).status_code == 200
    peak_before = _peak_kib(files.server.process.pid) if measured else 0
    content = os.urandom(20 * 1024 * 1024)
    made = _upload(rmp, "big.bin", content, "/large")
    assert made.status_code == 201, made.text
    assert made.json()["file"]["size"] == len(content)
    with rmp.get("/files/content", params={"path": "/large/big.bin"}, stream=True) as got:
        assert got.status_code == 200
        digest = hashlib.sha256()
        read = 0
        for chunk in got.iter_content(1024 * 1024):
            digest.update(chunk)
            read += len(chunk)
    assert read == len(content)
    assert digest.hexdigest() == hashlib.sha256(content).hexdigest()
    if measured:
        grown = _peak_kib(files.server.process.pid) - peak_before
        assert grown < 12 * 1024, f"the server's peak memory grew by {grown} KiB"


def test_uploads_that_are_no_form_are_refused(files: FilesServer) -> None:
    rmp, _ = _person(files)
    before = files.blobs()
    refused(rmp.post("/files", data=b"raw", headers={"Content-Type": "text/plain"}), 400, "file")
    refused(rmp.post("/files", data={"path": "/a"}, files={"other": ("x", b"y")}), 400, "file")
    broken = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc'
    answer = rmp.post(
        "/files", data=broken, headers={"Content-Type": "multipart/form-data; boundary=xyz"}
    )
    refused(answer, 400, "file")
    assert files.blobs() == before
    assert _names(rmp) == []


def test_empty_files_and_names_beyond_ascii(files: FilesServer) -> None:
    rmp, _ = _person(files)
    empty = _upload(rmp, "empty.txt", b"", "/Ünïcode dir")
    assert empty.status_code == 201, empty.text
    assert empty.json()["file"]["path"] == "/Ünïcode dir/empty.txt"
    assert empty.json()["file"]["size"] == 0
    got = rmp.get("/files/content", params={"path": "/Ünïcode dir/empty.txt"})
    assert got.status_code == 200 and got.content == b""
    named = _upload(rmp, "résumé €.pdf", b"cv", "/Ünïcode dir")
    assert named.status_code == 201, named.text
    assert named.json()["file"]["name"] == "résumé €.pdf"
    got = rmp.get("/files/content", params={"path": "/Ünïcode dir/résumé €.pdf"})
    assert got.content == b"cv"
    assert "UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.pdf" in got.headers["content-disposition"]
    assert _names(rmp, "/Ünïcode dir") == [("empty.txt", "file"), ("résumé €.pdf", "file")]


def test_listings_come_in_one_order_on_both_databases(files: FilesServer) -> None:
    """Folders first, then by the names' bytes (UTF-8), whatever the database's locale."""
    rmp, _ = _person(files)
    for name in ("b.txt", "Ä.txt", "a.txt", "B.txt"):
        assert _upload(rmp, name, b"x").status_code == 201
    assert _upload(rmp, "z.txt", b"x", "/Zeta").status_code == 201
    assert _upload(rmp, "z.txt", b"x", "/alpha").status_code == 201
    assert [n for n, _ in _names(rmp)] == [
        "Zeta",
        "alpha",
        "B.txt",
        "a.txt",
        "b.txt",
        "Ä.txt",
    ]
    second = rmp.get("/files", params={"limit": 2, "page": 2}).json()
    assert [f["name"] for f in second["files"]] == ["B.txt", "a.txt"]
    assert (second["total"], second["page"], second["pages"]) == (6, 2, 3)
    refused(rmp.get("/files", params={"limit": 2, "page": 4}), 400, "page")


def test_uploads_at_once_never_share_the_last_room(files: FilesServer) -> None:
    """Four uploads at once, room for one: one is stored, the others refused, nothing
    of theirs kept."""
    rmp, email = _person(files)
    _set_quota(files, email, "1000")
    before = files.blobs()
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda n: _upload(rmp, f"f{n}.bin", b"x" * 600).status_code, range(4))
        )
    assert sorted(answers) == [201, 413, 413, 413]
    assert files.blobs() == before + 1
    assert len(_names(rmp)) == 1


def _plant(files: FilesServer, key: str) -> None:
    """A blob no upload finished, as a server stopped mid-upload leaves it."""
    if files.store == "local":
        path = files.folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left over")
        return
    url = files.server.database_url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute("INSERT INTO file_chunks VALUES (?, 0, ?)", (key, b"left over"))
        return

    async def insert() -> None:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            await conn.execute("INSERT INTO file_chunks VALUES ($1, 0, $2)", key, b"left over")
        finally:
            await conn.close()

    asyncio.run(insert())


def test_a_starting_server_sweeps_blobs_of_unfinished_uploads(
    files: FilesServer, tmp_path: Path
) -> None:
    rmp, _ = _person(files)
    assert _upload(rmp, "kept.txt", b"kept").status_code == 201
    now = int(time.time())
    stale = [f"1/999999/{now - 3 * 86400:x}.{unique('s')}", f"1/999999/{now - 86500:x}.x.part"]
    fresh = f"1/999999/{now:x}.{unique('f')}"  # maybe still streaming elsewhere: kept
    for key in [*stale, fresh]:
        _plant(files, key)
    before = files.blobs()
    again = start_server(
        files.server.database_url,
        tmp_path / "again.log",
        TOWNHALL_FILE_STORE=files.store,
        TOWNHALL_FILES_DIR=str(files.folder),
    )
    try:
        deadline = time.monotonic() + 30
        while files.blobs() != before - 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert files.blobs() == before - 2
        assert rmp.get("/files/content", params={"path": "/kept.txt"}).content == b"kept"
    finally:
        stop_server(again)
