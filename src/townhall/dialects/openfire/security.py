"""`/logs/security`, the security audit log (contract §4.5), read from Townhall's audit
trail. Times are epoch seconds both ways; `endTime=0` means now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, Router, get

from .entities import SECURITY_LOGS
from .http import actor, bare, respond, services

AnyRequest = Request[Any, Any, Any]
_DEFAULTS = {"offset": 0, "limit": 100, "startTime": 0, "endTime": 0}


@get("/logs/security")
async def security_log(request: AnyRequest) -> Response[bytes]:
    numbers: dict[str, int] = {}
    for name, default in _DEFAULTS.items():
        raw = request.query_params.get(name)
        try:
            numbers[name] = default if raw is None else int(raw)
        except ValueError:
            return bare(404)  # JAX-RS answers an unparsable numeric parameter so
    start, end = numbers["startTime"], numbers["endTime"]
    entries = await services(request).audit.entries(
        actor(request),
        username=request.query_params.get("username") or None,
        since=datetime.fromtimestamp(start, UTC) if start else None,
        until=datetime.fromtimestamp(end, UTC) if end else None,
        offset=numbers["offset"],
        limit=numbers["limit"],
    )
    data = [
        {
            "logId": e.id,
            "username": e.username,
            "timestamp": int(e.occurred_at.timestamp()),
            "summary": e.summary,
            "node": e.node,
            "details": e.details,
        }
        for e in entries
    ]
    return respond(request, SECURITY_LOGS, data)


router = Router(path="/", route_handlers=[security_log])
