"""`/internal/mail/events`: Dovecot's push notifications (the `ox` driver of its
push_notification plugin) turned into `mail.received` domain events.

Dovecot sends one JSON document per new message (PUT, or POST from other senders):
`{"user": "alice@example.org", "event": "messageNew", "folder": "INBOX", "imap-uid": 5,
"from": ..., "subject": ..., "unseen": 5}`. The route is off unless
`TOWNHALL_MAIL_EVENTS_TOKEN` is set; the token comes as the password of HTTP Basic
(Dovecot's `ox:url=http://townhall:<token>@host/internal/mail/events`) or as a Bearer
token. Counters stay read-through (the event is a nudge, not a cache that can drift).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

from litestar import Request, Response, route

TOKEN = "mail_events_token"
"""The application state key holding the token ('' = the route is off)."""
FIELDS = {
    "folder": str,
    "imap-uid": int,
    "imap-uidvalidity": int,
    "from": str,
    "subject": str,
    "unseen": int,
    "event": str,
}


def _offered(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def _error(status: int, message: str, **headers: str) -> Response[dict[str, str]]:
    return Response({"error": message}, status_code=status, headers=headers)


@route("/internal/mail/events", http_method=["POST", "PUT"], include_in_schema=False)
async def mail_events(request: Request[Any, Any, Any]) -> Response[Any]:
    token: str = request.app.state.get(TOKEN, "")
    if not token:
        return _error(404, "mail events are not enabled (TOWNHALL_MAIL_EVENTS_TOKEN)")
    offered = _offered(request.headers.get("authorization", ""))
    if offered is None or not hmac.compare_digest(offered.encode(), token.encode()):
        return _error(
            401,
            "a valid mail events token is required",
            **{"WWW-Authenticate": 'Basic realm="townhall-mail-events"'},
        )
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body must be a JSON object")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    user = body.get("user")
    if not isinstance(user, str) or "@" not in user:
        return _error(400, "user must be a mailbox address")
    details: dict[str, object] = {}
    for name, kind in FIELDS.items():
        value = body.get(name)
        if value is None:
            continue
        if kind is int and isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            return _error(400, f"{name} must be a {'number' if kind is int else 'string'}")
        details[name.replace("-", "_")] = value
    if details.get("event", "messageNew") != "messageNew":
        return Response(None, status_code=204)
    found = await request.app.state.services.mailboxes.received(user, details)
    if not found:
        return _error(404, f"no mailbox {user}")
    return Response(None, status_code=204)
