"""People's files: each person's own storage of folders and files.

The rules: a person reaches their own storage; a server administrator any other
person's of the tenant, a domain administrator those of the people of its domains
(never a server admin's). Paths follow domain/files.py. A person's files may together
hold at most their file-storage quota (unset: no limit); an upload that would pass it
is refused and nothing is stored. The largest single file is `max_bytes`.

Metadata (path, size, mime type, when modified) is the `files` table; the bytes are in
a `FileStore` (a local folder, or the database), under a key this service makes
(`<tenant>/<person>/<when, hex epoch>.<random>`). An upload streams into a new blob first, then ONE
transaction checks the quota again (under the person's row lock, so two uploads at once
cannot both take the last room) and writes the row; if anything fails the blob is
removed, so a refused or broken upload leaves nothing. A replaced or deleted file's
blob is removed after the transaction commits. Folders exist as rows: made by an upload
into them, removed with everything in them. When a person is deleted (any API: the row
cascade removes the metadata) the service hears `user.deleted` and removes their blobs;
`tenant.deleted` removes a whole tenant's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from townhall.domain import files as paths
from townhall.domain import roles
from townhall.domain.errors import Conflict, Forbidden, Invalid, NotFound, OverQuota, TooLarge
from townhall.domain.events import DomainEvent
from townhall.domain.principal import Principal
from townhall.infrastructure.filestore import FileStore
from townhall.services.base import Deps, Service
from townhall.store import files as store
from townhall.store import people as people_store
from townhall.store.database import Tx
from townhall.store.files import DIRECTORY, FILE, Entry

log = logging.getLogger(__name__)
SWEEP_AFTER = timedelta(days=1)
"""How long after its upload started an unnamed blob is taken for an unfinished one (an
upload still streaming after a day would lose its blob to a sweep)."""

QUOTA_PROPERTY = "rmp.quota.fileStorage"
"""The person's property that holds their file-storage quota (the one RMP's user detail
shows as `quotas.fileStorage`, and OX's over-file-store-quota notice speaks of): bytes,
or a number with a unit (`5GB`, `500 MB`, `1.5GiB`; units count in 1024s); `unlimited`
or unset: no limit."""
_QUOTA = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
OCTET_STREAM = "application/octet-stream"


def quota_bytes(raw: str | None) -> int | None:
    """A quota property's value in bytes (None: no limit)."""
    if raw is None or raw.strip().lower() in ("", "unlimited", "none"):
        return None
    found = _QUOTA.match(raw)
    if found is None:
        raise Conflict("file_storage", raw, f"the file-storage quota {raw!r} cannot be read")
    return int(float(found.group(1)) * _UNITS[found.group(2).lower()])


def media_type(name: str, given: str | None) -> str:
    """What the bytes are: known from the name's suffix, else what the client said (if
    it is a media type at all), else bytes."""
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed:
        return guessed
    said = (given or "").split(";")[0].strip().lower()
    return said if _MEDIA_TYPE.match(said) and len(said) <= 255 else OCTET_STREAM


class IncomingFile(Protocol):
    """An upload as it arrives: the client's name and media type for the file, its
    bytes a chunk at a time, and the folder it goes into, which a form may name after
    the file (so it is asked for once the bytes are read)."""

    filename: str | None
    content_type: str | None
    known_folder: str | None
    """The folder, if the request named it before the file's bytes (None: not yet)."""

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def folder(self) -> str | None:
        """The folder the request names (None: the top), read to its end."""


@dataclass(frozen=True, slots=True)
class Listing:
    folder: str
    entries: list[Entry]
    total: int


class FileService(Service):
    def __init__(self, deps: Deps, blobs: FileStore, max_bytes: int) -> None:
        super().__init__(deps)
        self.blobs = blobs
        self.max_bytes = max_bytes
        deps.events.subscribe(self._on_event)
        self._sweeping: asyncio.Task[int] | None = None

    def start(self) -> None:
        """Sweep, in the background, the blobs of uploads a stopped server never
        finished (`sweep`)."""
        self._sweeping = asyncio.create_task(self._sweep_logged())

    async def _sweep_logged(self) -> int:
        try:
            return await self.sweep()
        except Exception:
            log.exception("the sweep of unfinished uploads failed")
            return 0

    async def close(self) -> None:
        if self._sweeping is not None:
            self._sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeping

    async def _owner(self, tx: Tx, actor: Principal, account: str | None) -> int:
        """The person whose storage is meant: the actor's own, or (administrators only)
        the one `account` names, a username of the actor's tenant."""
        if account is None or account == actor.username:
            if actor.user_id is None:
                raise Forbidden("file", "", "Only a person has file storage")
            return actor.user_id
        if not actor.is_admin:
            raise Forbidden("file", account, "Only an administrator may reach another account")
        found = await people_store.find_id(tx, actor.tenant_id, account)
        if found is None:
            raise NotFound("user", account)
        if not actor.is_server_admin:
            # As for changing the person (PeopleService): a domain admin reaches the
            # people of the domains it administers, never a server admin.
            person = await people_store.by_ids(tx, actor.tenant_id, [int(found)])
            home = await people_store.home_domain(tx, int(found)) or actor.tenant.domain
            if not actor.administers(home) or any(roles.SERVER_ADMIN in p.roles for p in person):
                raise Forbidden("file", account, f"Only an administrator of {home} may do this")
        return int(found)

    async def list(
        self, actor: Principal, account: str | None, folder: str | None, offset: int, limit: int
    ) -> Listing:
        """A folder's files and folders, folders first, then by name."""
        wanted = paths.path(folder)
        async with self.db.read() as tx:
            owner = await self._owner(tx, actor, account)
            if wanted:
                found = await store.get(tx, owner, wanted)
                if found is None:
                    raise NotFound("folder", paths.shown(wanted))
                if found.kind != DIRECTORY:
                    raise Invalid("path", "names a file, not a folder")
            entries, total = await store.children(tx, owner, wanted, offset, limit)
        return Listing(wanted, entries, total)

    async def download(
        self, actor: Principal, account: str | None, path: str | None
    ) -> tuple[Entry, AsyncIterator[bytes]]:
        """The file's metadata and its bytes, to be read a chunk at a time."""
        wanted = paths.path(path)
        if not wanted:
            raise Invalid("path", "is required (a file)")
        async with self.db.read() as tx:
            owner = await self._owner(tx, actor, account)
            found = await store.get(tx, owner, wanted)
        if found is None:
            raise NotFound("file", paths.shown(wanted))
        if found.kind != FILE or found.blob is None:
            raise Invalid("path", "names a folder, not a file")
        return found, self.blobs.read(found.blob)

    async def upload(self, actor: Principal, account: str | None, incoming: IncomingFile) -> Entry:
        """Store the file in its folder (making the folders on the way), replacing a
        file of that name; all of it or nothing."""
        name = paths.name(incoming.filename or "", "file")
        early = None if incoming.known_folder is None else paths.path(incoming.known_folder)
        async with self.db.read() as tx:
            owner = await self._owner(tx, actor, account)
            people = await people_store.by_ids(tx, actor.tenant_id, [owner])
            used = await store.used_bytes(tx, owner)
            replaced = None
            if early is not None:
                replaced = await store.get(tx, owner, paths.join(early, name))
        if not people:
            raise NotFound("user", account or "")
        quota = quota_bytes(people[0].properties.get(QUOTA_PROPERTY))
        # Refused while it streams, once it is sure to be too big: past the quota's room
        # (counting the file it replaces, when the folder is known already), or past the
        # whole quota when it is not.
        room = None
        if quota is not None:
            freed = (replaced.size or 0) if replaced is not None else 0
            room = quota - used + freed if early is not None else quota
        made = int(self.clock.now().timestamp())
        key = f"{actor.tenant_id}/{owner}/{made:x}.{secrets.token_hex(16)}"
        size = await self.blobs.put(key, self._counted(incoming, name, quota, used, room))
        try:
            return await self._save(actor, owner, name, incoming, key, size, quota)
        except BaseException:
            await self.blobs.remove([key])
            raise

    async def _counted(
        self, incoming: IncomingFile, name: str, quota: int | None, used: int, room: int | None
    ) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in incoming.chunks():
            size += len(chunk)
            if size > self.max_bytes:
                raise TooLarge(
                    "file", name, f"a file may hold at most {self.max_bytes} bytes", self.max_bytes
                )
            if room is not None and quota is not None and size > room:
                raise _over(quota, used)
            yield chunk

    async def _save(
        self,
        actor: Principal,
        owner: int,
        name: str,
        incoming: IncomingFile,
        key: str,
        size: int,
        quota: int | None,
    ) -> Entry:
        folder = paths.path(await incoming.folder())
        path = paths.join(folder, name)
        if len(path) > paths.MAX_PATH:
            raise Invalid("file", f"makes the path longer than {paths.MAX_PATH} characters")
        now = self.clock.now()
        async with self.unit(actor) as work:
            person = await people_store.lock_row(work, actor.tenant_id, owner)
            if person is None:
                raise NotFound("user", str(owner))
            quota = quota_bytes(person.properties.get(QUOTA_PROPERTY))
            existing = await store.get(work, owner, path)
            if existing is not None and existing.kind != FILE:
                raise Conflict("file", paths.shown(path), f"{paths.shown(path)} is a folder")
            used = await store.used_bytes(work, owner) - ((existing.size or 0) if existing else 0)
            if quota is not None and used + size > quota:
                raise _over(quota, used)
            await self._folders(work, owner, folder, now)
            entry = Entry(path, name, FILE, now, size, media_type(name, incoming.content_type), key)
            await store.put_file(work, owner, folder, entry, exists=existing is not None)
            await store.touch(work, owner, folder, now)
            work.record(
                "file.uploaded",
                f"{person.username}:{paths.shown(path)}",
                {"owner": person.username, "path": paths.shown(path), "size": size},
            )
        if existing is not None and existing.blob:
            await self._forget([existing.blob])
        return entry

    async def _folders(self, tx: Tx, owner: int, folder: str, now: datetime) -> None:
        """Make every folder on the way to `folder` that is not there; a file in the way
        is a conflict."""
        if not folder:
            return
        parts = folder.split("/")
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            found = await store.get(tx, owner, path)
            if found is None:
                await store.add_folder(tx, owner, path, paths.parent(path), parts[depth - 1], now)
            elif found.kind != DIRECTORY:
                raise Conflict("file", paths.shown(path), f"{paths.shown(path)} is a file")

    async def delete(self, actor: Principal, account: str | None, path: str | None) -> Entry:
        """Delete the file, or the folder with everything in it."""
        wanted = paths.path(path)
        if not wanted:
            raise Invalid("path", "is required (the top folder cannot be deleted)")
        async with self.db.read() as tx:
            owner = await self._owner(tx, actor, account)
        async with self.unit(actor) as work:
            person = await people_store.lock_row(work, actor.tenant_id, owner)
            found = await store.get(work, owner, wanted)
            if person is None or found is None:
                raise NotFound("file", paths.shown(wanted))
            blobs = await store.remove(work, owner, wanted)
            await store.touch(work, owner, paths.parent(wanted), self.clock.now())
            work.record(
                "file.deleted",
                f"{person.username}:{paths.shown(wanted)}",
                {"owner": person.username, "path": paths.shown(wanted)},
            )
        await self._forget(blobs)
        return found

    async def sweep(self, older_than: timedelta = SWEEP_AFTER) -> int:
        """Remove the blobs of uploads that never finished (the server stopped while
        one streamed): those no row names, made more than `older_than` ago (their key
        says when), so an upload still streaming elsewhere keeps its blob. Answers how
        many went."""
        cutoff = (self.clock.now() - older_than).timestamp()
        stale: list[str] = []
        async for key in self.blobs.keys():
            made = key.rpartition("/")[2].split(".")[0]
            try:
                if int(made, 16) < cutoff:
                    stale.append(key)
            except ValueError:
                continue
        gone = 0
        for start in range(0, len(stale), 500):
            batch = stale[start : start + 500]
            async with self.db.read() as tx:
                kept = await store.named(tx, [k.removesuffix(".part") for k in batch])
            unnamed = [k for k in batch if k.removesuffix(".part") not in kept]
            await self._forget(unnamed)
            gone += len(unnamed)
        if gone:
            log.info("removed %d blobs of unfinished uploads", gone)
        return gone

    async def _forget(self, blobs: Sequence[str]) -> None:
        """Remove blobs no row names any more (after the commit that let them go); a
        failure leaves an unreachable blob, logged, never a row without bytes."""
        try:
            await self.blobs.remove(blobs)
        except (OSError, ValueError) as exc:
            log.warning("file blobs %s not removed: %s", list(blobs), exc)

    async def _on_event(self, event: DomainEvent) -> None:
        """A deleted person's files go with them, a deleted tenant's people's with it
        (heard in every process with Redis; removing twice is harmless)."""
        if event.topic == "user.deleted":
            user_id = event.data.get("user_id")
            if not isinstance(user_id, int):
                return
            prefix = f"{event.tenant_id}/{user_id}/"
        elif event.topic == "tenant.deleted":
            tenant_id = event.data.get("tenant_id")
            if not isinstance(tenant_id, int):
                return
            prefix = f"{tenant_id}/"
        else:
            return
        try:
            await self.blobs.remove_prefix(prefix)
        except (OSError, ValueError) as exc:
            log.warning("files under %s not removed: %s", prefix, exc)


def _over(quota: int, used: int) -> OverQuota:
    return OverQuota(
        "file_storage",
        "",
        f"the upload would exceed the file-storage quota of {quota} bytes "
        f"({used} bytes are used); nothing was stored",
        quota,
        used,
    )
