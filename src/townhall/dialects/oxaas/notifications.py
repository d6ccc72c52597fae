"""`/admin/notifications/{usercontext}/...`: send a person a notification (welcome, over
mail quota, over file-store quota, sending disabled for spam), contextAdminOnlyAuth.

`usercontext` is `userid@contextid`; the guard resolves the context from it. The answer
is `{"mail": "<the rendered message>"}`; a person without a mail address gets OX's plain
text 400 `<userid>@<contextid> has no primary mail address`.
"""

from __future__ import annotations

from typing import Any, TypedDict

from litestar import Response, Router, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.errors import NotFound
from townhall.domain.principal import Principal
from townhall.services.notifications import NoMailAddress, NotificationService

from .. import kit
from ..documents import wire
from .http import AnyRequest, OxError, context_admin_only, ok, user_context

BASE = "/admin/notifications/{usercontext:str}"


class Mail(TypedDict):
    mail: str


class Threshold(TypedDict):
    quota_threshold: float


async def _threshold(request: AnyRequest) -> float:
    raw = await request.body()
    if not raw.strip():
        raise OxError(400, "quota_threshold is required")
    body = kit.decode(raw, Any)  # type: ignore[arg-type]
    value = body.get("quota_threshold") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise OxError(400, "quota_threshold must be a number, at least 0")
    return float(value)


async def _send(
    usercontext: str,
    kind: str,
    notifications: NotificationService,
    principal: Principal,
    threshold: float | None = None,
) -> Response[bytes]:
    user_id, context_id = user_context(usercontext)
    try:
        sent = await notifications.send(principal, user_id, kind, threshold)
    except NoMailAddress:
        return Response(
            f"{user_id}@{context_id} has no primary mail address".encode(),
            status_code=400,
            media_type="text/plain",
        )
    except NotFound as exc:
        if exc.kind != "user":
            raise
        raise OxError(404, f"user {user_id} not found in context {context_id}") from None
    return ok({"mail": sent.text})


ANSWERS = {200: Mail}


@post(BASE + "/welcome", status_code=200, opt=wire(answers=ANSWERS))
async def welcome(
    usercontext: FromPath[str],
    notifications: NamedDependency[NotificationService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Send the person the welcome mail."""
    return await _send(usercontext, "welcome", notifications, principal)


@post(BASE + "/overquota", status_code=200, opt=wire(Threshold, answers=ANSWERS))
async def overquota(
    request: AnyRequest,
    usercontext: FromPath[str],
    notifications: NamedDependency[NotificationService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Tell the person their mailbox passed the quota threshold."""
    threshold = await _threshold(request)
    return await _send(usercontext, "overquota", notifications, principal, threshold)


@post(BASE + "/overquota/filestore", status_code=200, opt=wire(answers=ANSWERS))
async def overquota_filestore(
    usercontext: FromPath[str],
    notifications: NamedDependency[NotificationService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Tell the person their file storage is full."""
    return await _send(usercontext, "overquota_filestore", notifications, principal)


@post(BASE + "/spamdisabled", status_code=200, opt=wire(answers=ANSWERS))
async def spamdisabled(
    usercontext: FromPath[str],
    notifications: NamedDependency[NotificationService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Tell the person sending was disabled because they sent spam."""
    return await _send(usercontext, "spamdisabled", notifications, principal)


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[welcome, overquota, overquota_filestore, spamdisabled],
        guards=[context_admin_only],
    )
