"""Backup and restore of the whole state: every table and every data folder.

The archive (format 1) is a gzip-compressed tar:

- `manifest.json` first: `format`, `schema` (the Alembic revision of the tables),
  `created`, `database` (`sqlite` or `postgresql`, where it came from), `tables`
  (each table's `rows`, `sha256` of its file and id `sequence`) and `folders` (each data
  folder's `name`, `files` and `bytes`);
- `tables/<name>.jsonl` for every table, in foreign-key order (store/backup.py says how
  rows and values are written);
- `folders/<name>/...` the data folders' directories and files (`Settings.data_folders`).

A backup reads every table in ONE snapshot transaction, so it is consistent however long
it takes while the server goes on serving. The folders are read after it, file by file;
mail delivered meanwhile may or may not be in the archive (Maildir files are written
once and renamed into place, so a file is either whole or absent).

A restore is all or nothing: the whole archive is read and checked first (manifest,
format, schema revision, each table's row count and digest, the folders' file counts,
the gzip CRC); any refusal leaves the server as it was. Then, in ONE write transaction,
every table is emptied and filled from the archive, id sequences are moved on, and the
folders are unpacked beside the live ones; after the commit each is swapped in. A
`backup.restored` event then tells every process (through Redis, where configured) to
drop what it keeps in memory (tenants by host, settings, mailbox holders, Maildir
indexes). The restore itself is not audited: the audit log is part of what it replaces,
and a server restored from an archive answers exactly as the one backed up.

The `jobs` table is in no archive and a restore leaves it as it is (store/backup.py), so
a large restore can run as a job (services/jobs.py) whose own row outlives it. The
restore gives the event loop back between batches of rows and between files, so one
worker goes on answering (`/healthz`) while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import tarfile
import tempfile
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError

from townhall.domain.errors import Forbidden, Invalid
from townhall.domain.events import RESTORED, DomainEvent
from townhall.domain.principal import Principal
from townhall.infrastructure.archive import TarGzStream, read_chunks
from townhall.services import cached
from townhall.services.base import Deps, Service
from townhall.services.tenants import TenantService
from townhall.store import backup as store

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
MANIFEST_MAX_BYTES = 16 * 1024 * 1024
RESTORE_LOCK = 0x70776E68616C6C
"""The PostgreSQL advisory lock a restore holds (SQLite's one writer needs none)."""
FIELD = "file"
"""The input a refusal names (the archive: RMP's multipart `file`, the CLI's FILE)."""


class Progress(Protocol):
    """What a caller shows of a long backup or restore (the CLI's progress bar)."""

    def start(self, total: int) -> None: ...

    def advance(self, label: str) -> None: ...


class _Silent:
    def start(self, total: int) -> None:
        return None

    def advance(self, label: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _Entry:
    path: str
    size: int
    mtime: float
    directory: bool


@dataclass
class Backup:
    """A backup whose tables are dumped (in a temporary folder) and whose archive is
    made as `chunks()` is read; the folder goes when that ends (or the object does)."""

    manifest: dict[str, Any]
    _work: tempfile.TemporaryDirectory[str]
    _folders: dict[str, tuple[Path, list[_Entry]]]
    _progress: Progress

    @property
    def filename(self) -> str:
        stamp = str(self.manifest["created"]).replace(":", "").replace("-", "")[:15]
        return f"townhall-backup-{stamp}.tar.gz"

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            for piece in self._archive():
                if piece:
                    yield piece
        finally:
            self._work.cleanup()

    def _archive(self) -> Iterator[bytes]:
        tar = TarGzStream()
        manifest = json.dumps(self.manifest, indent=1).encode()
        created = _epoch(self.manifest["created"])
        yield from tar.file(MANIFEST, len(manifest), created, [manifest])
        tables = Path(self._work.name)
        for name in self.manifest["tables"]:
            path = tables / f"{name}.jsonl"
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                yield from tar.file(f"tables/{name}.jsonl", size, created, read_chunks(handle))
            self._progress.advance(f"wrote {name}")
        for name, (root, entries) in self._folders.items():
            for entry in entries:
                member = f"folders/{name}/{entry.path}"
                if entry.directory:
                    yield tar.directory(member, entry.mtime)
                    continue
                try:
                    with (root / entry.path).open("rb") as handle:
                        yield from tar.file(member, entry.size, entry.mtime, read_chunks(handle))
                except FileNotFoundError:  # moved since it was listed (Maildir new/ -> cur/)
                    yield from tar.file(member, 0, entry.mtime, [])
            self._progress.advance(f"wrote folder {name}")
        yield tar.end()


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def _walk(root: Path) -> list[_Entry]:
    """Every directory and regular file under `root` (symbolic links are not followed,
    nor kept), parents first, in a stable order."""
    found: list[_Entry] = []
    if not root.is_dir():
        return found
    for current, dirs, files in os.walk(root):
        dirs.sort()
        here = Path(current)
        for name in dirs:
            path = here / name
            if not path.is_symlink():
                stat = path.stat()
                found.append(_Entry(path.relative_to(root).as_posix(), 0, stat.st_mtime, True))
        for name in sorted(files):
            path = here / name
            with contextlib.suppress(FileNotFoundError):
                stat = path.lstat()
                if path.is_file() and not path.is_symlink():
                    rel = path.relative_to(root).as_posix()
                    found.append(_Entry(rel, stat.st_size, stat.st_mtime, False))
    return found


@dataclass
class Restored:
    """What a restore put in place."""

    tables: dict[str, int]
    folders: dict[str, int]
    schema: str
    source: str
    created: str

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass
class _Checked:
    manifest: dict[str, Any]
    folders: dict[str, int] = field(default_factory=dict)


def _refuse(reason: str) -> Invalid:
    return Invalid(FIELD, reason, kind="archive")


def _damaged(what: str) -> Invalid:
    return _refuse(f"damaged archive: {what}")


def _safe_member(name: str, known: Mapping[str, Any]) -> tuple[str, str] | None:
    """(folder, relative path) of a `folders/` member, None if it may not be unpacked
    (outside its folder, absolute, `..`, or a folder the manifest does not name)."""
    parts = PurePosixPath(name).parts
    if len(parts) < 3 or parts[0] != "folders" or parts[1] not in known:
        return None
    rest = parts[2:]
    if any(p in ("..", ".", "") or "\x00" in p for p in rest) or name.startswith("/"):
        return None
    return parts[1], "/".join(rest)


class BackupService(Service):
    def __init__(self, deps: Deps, tenants: TenantService, folders: Mapping[str, Path]) -> None:
        super().__init__(deps)
        self.tenants = tenants
        self.folders = dict(folders)
        """The data folders a backup holds, by name (`Settings.data_folders`)."""

    async def require_operator(self, actor: Principal) -> None:
        """Everything of every tenant is in an archive: only the operator may make or
        restore one (a tenant's own admin is refused). Public so a restore run as a job
        is refused at once, before it is started (services/jobs.py)."""
        if not await self.tenants.is_operator(actor):
            raise Forbidden("backup", actor.tenant.domain, "Only the operator may do this")

    # -- backup --------------------------------------------------------------------------

    async def backup(self, actor: Principal, progress: Progress | None = None) -> Backup:
        """Dump every table from one snapshot; the archive is made as it is read."""
        await self.require_operator(actor)
        shown = progress or _Silent()
        listed = {
            name: (root, await asyncio.to_thread(_walk, root))
            for name, root in self.folders.items()
        }
        order = store.tables()
        shown.start(2 * len(order) + len(listed))
        work = tempfile.TemporaryDirectory(prefix="townhall-backup-")
        try:
            tables: dict[str, Any] = {}
            async with self.db.snapshot() as snap:
                schema = await store.schema_revision(snap)
                kind = snap.kind
                async for dumped in store.dump(snap, Path(work.name)):
                    tables[dumped.name] = {
                        "rows": dumped.rows,
                        "sha256": dumped.sha256,
                        "sequence": dumped.sequence,
                    }
                    shown.advance(f"read {dumped.name}")
        except BaseException:
            work.cleanup()
            raise
        manifest = {
            "format": FORMAT,
            "schema": schema,
            "created": self.clock.now().isoformat(),
            "database": kind,
            "tables": tables,
            "folders": [
                {
                    "name": name,
                    "files": sum(1 for e in entries if not e.directory),
                    "bytes": sum(e.size for e in entries),
                }
                for name, (_, entries) in listed.items()
            ],
        }
        log.info("backup by %s: %d tables", actor.username, len(tables))
        return Backup(manifest, work, listed, shown)

    # -- restore -------------------------------------------------------------------------

    @staticmethod
    def restore_steps() -> int:
        """How many steps a restore tells its Progress: each table checked, each table
        restored, and the folders."""
        return 2 * len(store.tables()) + 1

    async def restore(
        self, actor: Principal, archive: IO[bytes], progress: Progress | None = None
    ) -> Restored:
        """Replace the whole state by the archive's, or refuse and change nothing."""
        await self.require_operator(actor)
        shown = progress or _Silent()
        order = store.tables()
        shown.start(self.restore_steps())
        # Reading and hashing the whole archive takes a while: off the event loop.
        checked = await asyncio.to_thread(self._check, archive, shown)
        manifest = checked.manifest
        archive.seek(0)
        staged: dict[str, Path] = {}
        counts: dict[str, int] = {}
        kind = "sqlite" if self.db.url.startswith("sqlite") else "postgresql"
        try:
            async with self.db.write() as tx:
                if kind == "sqlite":
                    await tx.execute(text("PRAGMA defer_foreign_keys = ON"))
                else:  # two restores at once: the second waits for the first to end
                    await tx.execute(text(f"SELECT pg_advisory_xact_lock({RESTORE_LOCK})"))
                before = {t.name: await store.sequence_of(tx, kind, t) for t in order}
                await store.clear(tx)
                by_name = {t.name: t for t in order}
                with tarfile.open(fileobj=archive, mode="r|gz") as tar:
                    for member in tar:
                        name = member.name
                        if name.startswith("tables/"):
                            table = by_name[name.removeprefix("tables/").removesuffix(".jsonl")]
                            handle = tar.extractfile(member)
                            assert handle is not None
                            rows = store.decode_lines(table, iter(handle.readline, b""))
                            counts[table.name] = await store.load(tx, table, rows)
                            entry = manifest["tables"][table.name]
                            recorded = entry.get("sequence")
                            await store.set_sequence(tx, kind, table, recorded, before[table.name])
                            shown.advance(f"restored {table.name}")
                        elif name.startswith("folders/"):
                            self._unpack(tar, member, manifest, staged)
                        await asyncio.sleep(0)  # let the event loop serve others between files
        except store.Damaged as exc:
            self._discard(staged)
            raise _damaged(f"table {exc.table}: {exc.reason}") from None
        except (DBAPIError, StatementError) as exc:  # e.g. a foreign key checked at commit
            self._discard(staged)
            reason = (str(getattr(exc, "orig", exc)).splitlines() or [""])[0]
            raise _damaged(f"rows this database refuses: {reason}") from None
        except BaseException:
            self._discard(staged)
            raise
        for name in [f["name"] for f in manifest["folders"] if f["name"] in self.folders]:
            self._swap(name, staged.get(name))
        shown.advance("folders")
        await self._announce(actor)
        log.info("restore by %s: %d tables", actor.username, len(counts))
        return Restored(
            counts, checked.folders, manifest["schema"], manifest["database"], manifest["created"]
        )

    def _check(self, archive: IO[bytes], shown: Progress) -> _Checked:
        """Read the whole archive once and refuse it unless every part is as its
        manifest says (nothing is changed by this)."""
        try:
            return self._read_check(archive, shown)
        except (tarfile.TarError, zlib.error, EOFError, OSError, UnicodeError) as exc:
            raise _damaged(f"not a readable tar.gz ({exc})") from None

    def _read_check(self, archive: IO[bytes], shown: Progress) -> _Checked:
        archive.seek(0)
        with tarfile.open(fileobj=archive, mode="r|gz") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise _refuse("not a Townhall backup: manifest.json must come first")
            if first.size > MANIFEST_MAX_BYTES:
                raise _damaged("manifest.json is too large")
            handle = tar.extractfile(first)
            assert handle is not None
            manifest = self._manifest(handle.read())
            checked = _Checked(manifest)
            expected = [t.name for t in store.tables()]
            seen: list[str] = []
            folders = {f["name"]: f for f in manifest["folders"]}
            files = dict.fromkeys(folders, 0)
            sizes = dict.fromkeys(folders, 0)
            in_folders = False  # tables come before folders, so a restore loads as it reads
            while (member := tar.next()) is not None:
                name = member.name
                if name.startswith("tables/") and name.endswith(".jsonl"):
                    table = name.removeprefix("tables/").removesuffix(".jsonl")
                    if table not in manifest["tables"] or table in seen or in_folders:
                        raise _damaged(f"unexpected member {name}")
                    if not member.isfile():
                        raise _damaged(f"table {table} is not a file")
                    seen.append(table)
                    self._check_table(tar, member, table, manifest["tables"][table])
                    shown.advance(f"checked {table}")
                    continue
                in_folders = True
                safe = _safe_member(name, folders)
                if safe is None or not (member.isfile() or member.isdir()):
                    raise _damaged(f"unexpected member {name}")
                if member.isfile():
                    files[safe[0]] += 1
                    sizes[safe[0]] += member.size
            if seen != expected:
                missing = [t for t in expected if t not in seen]
                what = f"table {missing[0]} is missing" if missing else "tables out of order"
                raise _damaged(what)
            for name, entry in folders.items():
                if files[name] != entry.get("files") or sizes[name] != entry.get("bytes"):
                    raise _damaged(f"folder {name} does not hold what the manifest lists")
            checked.folders = files
            return checked

    def _manifest(self, raw: bytes) -> dict[str, Any]:
        try:
            manifest = json.loads(raw)
        except ValueError:
            raise _damaged("manifest.json is no JSON") from None
        if not isinstance(manifest, dict):
            raise _damaged("manifest.json is no object")
        given = manifest.get("format")
        if not isinstance(given, int) or isinstance(given, bool):
            raise _damaged("manifest.json names no format")
        if given > FORMAT:
            raise _refuse(f"archive format {given} is newer than this server's {FORMAT}")
        if given != FORMAT:
            raise _refuse(f"archive format {given} is unknown to this server (it reads {FORMAT})")
        from townhall.store.migrate import head_revision  # on first use: Alembic is large

        head = head_revision()
        schema = manifest.get("schema")
        if schema != head:
            raise _refuse(
                f"archive is of schema revision {schema}, this server's is {head}: restore it "
                "into a server of the version that made it (then upgrade that one)"
            )
        tables = manifest.get("tables")
        folders = manifest.get("folders")
        if not isinstance(tables, dict) or not isinstance(folders, list):
            raise _damaged("manifest.json lists no tables or folders")
        for name, entry in tables.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("rows"), int):
                raise _damaged(f"table {name}: no row count in the manifest")
            sequence = entry.get("sequence")
            if sequence is not None and (not isinstance(sequence, int) or sequence < 0):
                raise _damaged(f"table {name}: its sequence in the manifest is no count")
        expected = {t.name for t in store.tables()}
        if set(tables) != expected:
            odd = sorted(set(tables) ^ expected)
            raise _damaged(f"table {odd[0]}: not in both the manifest and this schema")
        for entry in folders:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise _damaged("manifest.json: a folder without a name")
            if "/" in entry["name"] or entry["name"] in ("", ".", ".."):
                raise _damaged(f"manifest.json: folder name {entry['name']!r}")
        for key in ("created", "database"):
            if not isinstance(manifest.get(key), str):
                raise _damaged(f"manifest.json names no {key}")
        return manifest

    @staticmethod
    def _check_table(
        tar: tarfile.TarFile, member: tarfile.TarInfo, table: str, entry: Mapping[str, Any]
    ) -> None:
        handle = tar.extractfile(member)
        assert handle is not None
        digest = hashlib.sha256()
        lines = 0
        for piece in read_chunks(handle):
            digest.update(piece)
            lines += piece.count(b"\n")
        if digest.hexdigest() != entry.get("sha256") or lines != entry.get("rows"):
            raise _damaged(f"table {table}")

    # -- folders -------------------------------------------------------------------------

    def _unpack(
        self,
        tar: tarfile.TarFile,
        member: tarfile.TarInfo,
        manifest: Mapping[str, Any],
        staged: dict[str, Path],
    ) -> None:
        """Write one folder member under the folder's staging copy (beside the live
        folder, so the swap is a rename on one file system)."""
        folders = {f["name"]: f for f in manifest["folders"]}
        safe = _safe_member(member.name, folders)
        if safe is None or safe[0] not in self.folders:
            return  # a folder this server does not keep (checked safe before)
        name, rel = safe
        if name not in staged:
            live = self.folders[name]
            live.parent.mkdir(parents=True, exist_ok=True)
            staged[name] = live.parent / f".{live.name}.restore-{uuid.uuid4().hex[:8]}"
            staged[name].mkdir()
        target = staged[name] / rel
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            with target.open("wb") as out:
                shutil.copyfileobj(source, out)
        os.utime(target, (member.mtime, member.mtime))

    def _swap(self, name: str, staged: Path | None) -> None:
        """Put the staged copy where the live folder is (an empty one if the archive
        held no file of it), and remove the old."""
        live = self.folders[name]
        if staged is None:
            live.parent.mkdir(parents=True, exist_ok=True)
            staged = live.parent / f".{live.name}.restore-{uuid.uuid4().hex[:8]}"
            staged.mkdir()
        old = live.parent / f".{live.name}.old-{uuid.uuid4().hex[:8]}"
        if live.exists():
            live.rename(old)
        staged.rename(live)
        shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def _discard(staged: Mapping[str, Path]) -> None:
        for path in staged.values():
            shutil.rmtree(path, ignore_errors=True)

    async def _announce(self, actor: Principal) -> None:
        # Every tenant's cached reads are of the replaced state (in Redis: for every
        # process at once), before the event reaches the in-process caches.
        await self.deps.cache.forget(cached.scope_of(actor), cached.EVERYTHING, everywhere=True)
        event = DomainEvent(RESTORED, actor.tenant_id, "backup")
        await self.deps.events.publish(event)
