"""`/files`: a person's file storage (list a folder, download, upload, delete).

Uploads are read as they arrive: the multipart body is parsed a chunk at a time
(`multipart.PushMultipartParser`) and the file's bytes go straight on to the file
service, which streams them into the file store; downloads are streamed back the same
way. Neither is ever whole in memory, so the app-wide body limit does not apply to the
upload route (the service's own `TOWNHALL_FILE_MAX_BYTES` and the person's quota do).

`account` (an address, as `/users/{email}` takes) names another person's storage, for
administrators of that address's domain; for anyone else it is a 403. An upload names
it in the query or in a form field before the file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NotRequired, TypedDict
from urllib.parse import quote

from litestar import Response, Router, delete, get, post
from litestar.di import NamedDependency
from litestar.response import Stream
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from townhall.domain import files as paths
from townhall.domain.errors import DomainError
from townhall.domain.principal import Principal
from townhall.services.domains import DomainService
from townhall.services.files import FileService
from townhall.store.files import FILE, Entry

from .. import kit
from ..documents import Param, wire
from .http import PAGE_PARAMS, AnyRequest, RmpError, iso, ok, page, require_admin_of

FIELD_MAX = 8 * 1024
"""The most bytes a form field other than the file may hold."""
DRAIN_MAX = 64 * 1024 * 1024
"""After refusing an upload part-way, how much more of the body is read (and dropped)
so that the client, still sending, reads the refusal; past it the connection closes."""


class FileWire(TypedDict):
    name: str
    type: str
    size: NotRequired[int]
    modified: str
    mimeType: NotRequired[str]


class StoredFileWire(FileWire):
    path: str


class Files(TypedDict):
    success: bool
    path: str
    files: list[FileWire]
    total: int
    page: int
    pages: int


class OneFile(TypedDict):
    success: bool
    file: StoredFileWire


UPLOAD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "path": {"type": "string", "description": "the folder (default: /)"},
        "account": {"type": "string", "description": "another person's address (admins)"},
    },
    "required": ["file"],
}
ACCOUNT = Param("account", description="another person's address (administrators only)")
PATH = Param("path", description="a path inside the storage, from / (its top folder)")


def _entry(found: Entry) -> FileWire:
    shown: FileWire = {"name": found.name, "type": found.kind, "modified": iso(found.modified_at)}
    if found.kind == FILE:
        shown["size"] = found.size or 0
        shown["mimeType"] = found.mime_type or "application/octet-stream"
    return shown


def _stored(found: Entry) -> StoredFileWire:
    return {**_entry(found), "path": paths.shown(found.path)}  # type: ignore[typeddict-item]


async def _account(request: AnyRequest, domains: DomainService, raw: str | None) -> str | None:
    """The username `account` names (None: the caller's own storage)."""
    if raw is None or raw == "":
        return None
    caller = kit.principal_of(request)
    wanted = raw.strip().lower()
    if caller.username is not None and wanted == caller.address.lower():
        return None
    if not caller.is_admin:
        raise RmpError(403, "FORBIDDEN", "Only an administrator may reach another account")
    local, at, domain = wanted.rpartition("@")
    if at and local:
        known = await domains.list(caller, (domain,))
        if known and known[0].kind != "resource-subdomain":
            require_admin_of(request, domain)
            return local
    raise RmpError(404, "NOT_FOUND", f"user {raw} not found", {"user": raw})


@get(
    "/files",
    opt=wire(params=(PATH, ACCOUNT, *PAGE_PARAMS), answers={200: Files}),
)
async def list_files(
    request: AnyRequest,
    files: NamedDependency[FileService],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    account = await _account(request, domains, query.get("account"))
    asked = page(request)
    found = await files.list(principal, account, query.get("path"), asked.offset, asked.limit)
    return ok(
        path=paths.shown(found.folder),
        files=[_entry(e) for e in found.entries],
        **asked.answer(found.total),
    )


def _disposition(name: str) -> str:
    """`attachment` with the name for every client: a plain ASCII one and RFC 6266's."""
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


@get(
    "/files/content",
    opt=wire(
        params=(Param("path", required=True), ACCOUNT),
        answers={200: {"type": "string", "format": "binary"}},
        media=("application/octet-stream",),
    ),
)
async def download(
    request: AnyRequest,
    files: NamedDependency[FileService],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Stream:
    query = request.query_params
    account = await _account(request, domains, query.get("account"))
    found, content = await files.download(principal, account, query.get("path"))
    return Stream(
        content,
        media_type=found.mime_type or "application/octet-stream",
        headers={
            "Content-Length": str(found.size or 0),
            "Content-Disposition": _disposition(found.name),
            # Served as a download of what it is, never sniffed into a page of this site.
            "X-Content-Type-Options": "nosniff",
        },
    )


class _Form:
    """A multipart/form-data body read as it arrives: the fields before the file, then
    the file's bytes (for the service to stream), then the fields after it. It is the
    file service's `IncomingFile`."""

    def __init__(self, request: AnyRequest, boundary: str) -> None:
        self._events = self._parse(request, boundary)
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type: str | None = None
        self.known_folder: str | None = request.query_params.get("path")

    @staticmethod
    async def _parse(request: AnyRequest, boundary: str) -> AsyncIterator[object]:
        try:
            parser = PushMultipartParser(boundary, max_segment_count=64)
            async for chunk in request.stream():
                for event in parser.parse(chunk):
                    yield event
                if parser.closed:
                    return
            parser.close()
        except MultipartError as exc:
            reason = f"is not a readable multipart/form-data body ({exc})"
            raise kit.Malformed("file", reason) from None

    async def _field(self, segment: MultipartSegment) -> None:
        value = bytearray()
        async for event in self._events:
            if event is None:
                break
            if isinstance(event, bytes | bytearray):
                value += event
                if len(value) > FIELD_MAX:
                    too_long = f"must be at most {FIELD_MAX} bytes"
                    raise kit.Malformed(segment.name or "form", too_long)
        try:
            self.fields[segment.name or ""] = value.decode()
        except UnicodeDecodeError:
            raise kit.Malformed(segment.name or "form", "must be UTF-8 text") from None

    async def start(self) -> None:
        """Read up to the file's bytes (the fields before it)."""
        async for event in self._events:
            if not isinstance(event, MultipartSegment):
                continue
            if event.name == "file" and event.filename is not None:
                self.filename = event.filename
                self.content_type = event.content_type
                if "path" in self.fields:
                    self.known_folder = self.fields["path"]
                return
            await self._field(event)
        raise kit.Malformed("file", "is required (a file part named file)")

    async def chunks(self) -> AsyncIterator[bytes]:
        async for event in self._events:
            if event is None:
                return
            if isinstance(event, bytes | bytearray):
                yield bytes(event)

    async def folder(self) -> str | None:
        before = self.fields.get("account")
        async for event in self._events:
            if isinstance(event, MultipartSegment):
                await self._field(event)
        if self.fields.get("account") != before:
            raise kit.Malformed("account", "must come before file in the form")
        return self.fields.get("path", self.known_folder)

    async def drain(self) -> None:
        """Read what the client still sends, dropping it, up to DRAIN_MAX bytes."""
        read = 0
        try:
            async for event in self._events:
                if isinstance(event, bytes | bytearray):
                    read += len(event)
                    if read > DRAIN_MAX:
                        return
        except (DomainError, OSError):
            return


@post(
    "/files",
    status_code=201,
    request_max_body_size=None,
    opt=wire(
        UPLOAD,
        params=(PATH, ACCOUNT),
        answers={201: OneFile},
        media=("multipart/form-data",),
        answer_media=("application/json",),
    ),
)
async def upload(
    request: AnyRequest,
    files: NamedDependency[FileService],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise kit.Malformed("file", "must be sent as multipart/form-data")
    form = _Form(request, options["boundary"])
    await form.start()
    try:
        account = await _account(
            request, domains, form.fields.get("account") or request.query_params.get("account")
        )
        stored = await files.upload(principal, account, form)
    except (DomainError, RmpError):
        await form.drain()
        raise
    return ok(201, file=_stored(stored))


@delete(
    "/files",
    status_code=200,
    opt=wire(params=(Param("path", required=True), ACCOUNT), answers={200: OneFile}),
)
async def delete_file(
    request: AnyRequest,
    files: NamedDependency[FileService],
    domains: NamedDependency[DomainService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    account = await _account(request, domains, query.get("account"))
    gone = await files.delete(principal, account, query.get("path"))
    return ok(file=_stored(gone))


router = Router(path="/", route_handlers=[list_files, download, upload, delete_file])
