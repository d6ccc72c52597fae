"""`POST /admin/backup` and `POST /admin/restore`: the whole state as one archive.

The operator only (a server admin of the first tenant): an archive holds every tenant.
A backup is answered as it is made (`application/gzip`, a `Content-Disposition`
file name); a restore reads the multipart `file` (spooled to disk by the server, never
held whole in memory) and answers what it put in place. A refused archive (damaged, of
a newer format or another schema revision) is a 400 naming `file`, with nothing changed.
The archive's format is in services/backup.py.

A restore of an archive larger than `restore_job_bytes` is a job (services/jobs.py), as a
large import is: `202 Accepted`, `Location: /api/v2/admin/jobs/{id}` and `{"success":
true, "data": <job>}`; the job ends `done` (`data.result` is the `restored` a small
restore answers) or `failed` (`data.error` is the refusal a small restore answers, with
nothing changed). The contract fixes only the route and its multipart `file`; a client
restoring a small archive sees the answer it always did. A backup stays an answer, not a
job: the contract makes it "a single downloadable archive", the answer itself (it is made
as it is sent, from one snapshot, so it needs no job to stay consistent).
"""

from __future__ import annotations

from typing import Any, TypedDict

from litestar import Response, Router, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Stream

from townhall.domain.jobs import Job
from townhall.domain.principal import Principal
from townhall.services.backup import BackupService
from townhall.services.jobs import JobService, restored_result

from .. import kit
from ..documents import wire
from .admin import JobAnswer, RestoredWire, job_wire, restored_wire
from .http import AnyRequest, ok, server_admins

RESTORE_MAX_BYTES = 1 << 40
"""An archive holds every mailbox and table, so the usual body limit cannot apply."""


class RestoreAnswer(TypedDict):
    success: bool
    restored: RestoredWire


UPLOAD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "an archive made by POST /admin/backup (or `townhall backup`)",
        },
    },
    "required": ["file"],
}


ARCHIVE: dict[str, Any] = {"type": "string", "format": "binary"}


@post(
    "/admin/backup",
    status_code=200,
    guards=[server_admins],
    opt=wire(answers={200: ARCHIVE}, answer_media=("application/gzip",)),
)
async def create_backup(
    backup: NamedDependency[BackupService], principal: NamedDependency[Principal]
) -> Stream:
    made = await backup.backup(principal)
    return Stream(
        made.chunks(),
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


@post(
    "/admin/restore",
    status_code=200,
    guards=[server_admins],
    request_max_body_size=RESTORE_MAX_BYTES,
    opt=wire(
        UPLOAD,
        answers={200: RestoreAnswer, 202: JobAnswer},
        media=("multipart/form-data",),
        answer_media=("application/json",),
    ),
)
async def restore_backup(
    request: AnyRequest, jobs: NamedDependency[JobService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise kit.Malformed("file", "must be sent as multipart/form-data")
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise kit.Malformed("file", "is required")
    try:
        done = await jobs.restore(principal, upload.file, _size(upload))
    finally:
        await upload.close()
    if isinstance(done, Job):
        shown = job_wire(request, done)
        response = ok(202, data=shown)
        response.headers["Location"] = shown["url"]
        return response
    return ok(200, restored=restored_wire(restored_result(done)))


def _size(upload: UploadFile) -> int:
    """The uploaded archive's size in bytes (its spooled file's end)."""
    handle = upload.file
    end = handle.seek(0, 2)
    handle.seek(0)
    return end


router = Router(path="/", route_handlers=[create_backup, restore_backup])
