"""`/logs/security`, the security audit log (contract §4.5), read from Townhall's audit
trail. Times are epoch seconds both ways; `endTime=0` means now."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency

from townhall.domain.principal import Principal
from townhall.services.audit import AuditService

from .. import kit
from ..documents import Param, wire
from .entities import SECURITY_LOGS
from .http import bare, respond

AnyRequest = Request[Any, Any, Any]
# name -> (default, largest value): offset and limit are Java ints, the times longs.
_NUMBERS = {
    "offset": (0, 2**31 - 1),
    "limit": (100, 2**31 - 1),
    "startTime": (0, 2**63 - 1),
    "endTime": (0, 2**63 - 1),
}
_JAVA_INTEGER = re.compile(r"[+-]?[0-9]+")
_LATEST = datetime.max.replace(tzinfo=UTC)


def _numbers(request: AnyRequest) -> dict[str, int] | None:
    """The numeric parameters as Java parses them; None when one does not parse."""
    numbers: dict[str, int] = {}
    for name, (default, largest) in _NUMBERS.items():
        raw = request.query_params.get(name)
        if raw is None:
            numbers[name] = default
        elif _JAVA_INTEGER.fullmatch(raw) and -largest - 1 <= int(raw) <= largest:
            numbers[name] = int(raw)
        else:
            return None
    return numbers


def _moment(epoch_seconds: int) -> datetime | None:
    """0 (or less) means no bound; a time past year 9999 is as good as the end of time."""
    if epoch_seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(epoch_seconds, UTC)
    except (OverflowError, ValueError, OSError):
        return _LATEST


PARAMS = (
    Param("username", description="entries of this user"),
    Param("offset", int, description="from 0"),
    Param("limit", int, description="at most this many (default 100)"),
    Param("startTime", int, description="epoch seconds; 0: no bound"),
    Param("endTime", int, description="epoch seconds; 0: now"),
)


@get(
    "/logs/security",
    # 404: bare, JAX-RS's answer to a number that does not parse.
    opt=wire(params=PARAMS, answers={200: SECURITY_LOGS, 404: None}),
)
async def security_log(
    request: AnyRequest, audit: NamedDependency[AuditService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    numbers = _numbers(request)
    if numbers is None:
        return bare(404)  # JAX-RS answers an unparsable numeric parameter so
    for name in ("offset", "limit"):
        # The service refuses these too, but this dialect spells its `offset` as the
        # paging `start` of /users and /groups; here the parameter is `offset` itself.
        if numbers[name] < 0:
            raise kit.Malformed(name, "must not be negative")
    entries = await audit.entries(
        principal,
        username=request.query_params.get("username") or None,
        since=_moment(numbers["startTime"]),
        until=_moment(numbers["endTime"]),
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
