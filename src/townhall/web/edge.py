"""The one ASGI layer in front of the application: one pass over each request for
what must happen outside routing.

- **HEAD** on every GET resource: HTTP says HEAD is GET without the body, and the
  Openfire plugin relies on it for existence checks (`HEAD /users/jane`); Litestar
  routes only the methods a handler declares, so the method is rewritten before routing
  and the body dropped on the way out.
- **Unread bodies close the connection.** Litestar refuses a body over `max_body_bytes`
  (413) from its Content-Length, and the Openfire auth filter refuses bad credentials
  (401), without reading what the client is still sending. Kept open, the connection
  would hold the rest of that body where the client's next request should start, and
  the server would drop it. `Connection: close` tells both sides not to reuse it.
- **The request id:** a sane incoming `X-Request-Id` (a load balancer's) is kept, any
  other is replaced by this process's prefix and a counter; it is answered as
  `X-Request-Id` and left in the scope's state (`REQUEST_ID`) for whatever logs it.
- **The access log and the HTTP metrics.** The route is Litestar's matched path
  template (`/users/{username}`), never the raw path, so the metrics' series stay few; a
  request answered before routing is looked up in the router once it is answered, and
  one no route matches is `unmatched`. The principal is what the dialect's
  authentication left in the scope's state (`kit.PRINCIPAL`), read after the answer. The
  API is the first of `apis` (path prefixes) the path starts with, else `server`.

One layer rather than one per duty: each wrapper costs a coroutine and a closure per
request, and on a small read the layers in front of Litestar were a third of the time.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from litestar.utils import normalize_path

from townhall.dialects.kit import PRINCIPAL
from townhall.domain.principal import Principal
from townhall.infrastructure.logs import ACCESS_LINE, ACCESS_LOGGER
from townhall.infrastructure.metrics import HTTP_DURATION, HTTP_REQUESTS

ACCESS = logging.getLogger(ACCESS_LOGGER)
REQUEST_ID = "townhall.request_id"
"""The scope state key of the request's id."""
UNMATCHED = "unmatched"
"""The route of a request no route serves (its raw path would add a series per path)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods named as they are in the metrics; any other is `OTHER` (a client can send
any token as a method)."""
_ID_CHARACTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
MAX_ID = 128
_CLOSE = (b"connection", b"close")


def sane_id(raw: bytes) -> bool:
    """An incoming request id short and plain enough to copy into logs and headers."""
    return 0 < len(raw) <= MAX_ID and _ID_CHARACTERS.issuperset(raw)


def principal_name(found: Principal | None) -> str:
    """`name@tenant-domain`, or `-` when nobody authenticated."""
    if found is None:
        return "-"
    return f"{found.username or 'server'}@{found.tenant.domain}"


def edge(app: ASGIApp, litestar: Litestar, apis: Sequence[tuple[str, str]]) -> ASGIApp:
    """`app` behind the edge layer; `litestar` is the application whose router names the
    routes, `apis` pairs of (path prefix, API name)."""
    prefix = secrets.token_hex(4)
    numbers = itertools.count(1)
    counted: dict[tuple[str, str, str, int], Any] = {}
    timed: dict[tuple[str, str, str], Any] = {}
    api_of_route: dict[str, str] = {}

    def api_of(path: str) -> str:
        for start, name in apis:
            if path.startswith(start) or path == start.rstrip("/"):
                return name
        return "server"

    def route_of(scope: Scope) -> str:
        template = scope.get("path_template")
        if template is not None:
            return template  # type: ignore[no-any-return]
        try:  # answered before routing (e.g. the Openfire plugin's 401)
            found = litestar.asgi_router.handle_routing(
                normalize_path(scope["path"]), scope.get("method")
            )
        except Exception:
            return UNMATCHED
        return found[4]

    def record(
        scope: Scope, method: str, path: str, status: int, seconds: float, request_id: str
    ) -> None:
        label = method if method in METHODS else "OTHER"
        route = route_of(scope)
        if route == UNMATCHED:
            api = api_of(path)
        else:
            known = api_of_route.get(route)
            api = known if known is not None else api_of_route.setdefault(route, api_of(route))
        key = (api, label, route)
        child = timed.get(key)
        if child is None:
            child = timed[key] = HTTP_DURATION.labels(api, label, route)
        child.observe(seconds)
        full = (api, label, route, status)
        counter = counted.get(full)
        if counter is None:
            counter = counted[full] = HTTP_REQUESTS.labels(api, label, route, str(status))
        counter.inc()
        if ACCESS.isEnabledFor(logging.INFO):
            found = scope["state"].get(PRINCIPAL)
            ACCESS.info(
                ACCESS_LINE,
                method,
                route,
                status,
                seconds * 1000,
                api,
                principal_name(found),
                request_id,
                path,
            )

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]  # type: ignore[typeddict-item]  # as asked
        path = scope["path"]  # as asked: inner layers rewrite them
        given, has_body = _read_headers(scope["headers"])
        if given is not None and sane_id(given):
            header, request_id = given, given.decode()
        else:
            request_id = f"{prefix}-{next(numbers):x}"
            header = request_id.encode()
        scope.setdefault("state", {})[REQUEST_ID] = request_id
        head = method == "HEAD"
        if head:  # in place, not a copy: `record` reads what was routed (the route)
            scope["method"] = "GET"  # type: ignore[typeddict-unknown-key]
        status = 500  # what the client gets if the application fails before answering
        unread = has_body

        async def reading() -> ReceiveMessage:
            nonlocal unread
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                unread = False
            return message

        async def answering(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", header)]
                if has_body and (unread or status == 413):
                    headers.append(_CLOSE)
                message["headers"] = headers
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}  # type: ignore[typeddict-item]
            await send(message)

        try:
            await app(scope, reading if has_body else receive, answering)
        finally:
            record(scope, method, path, status, time.perf_counter() - started, request_id)

    return wrapped


def _read_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[bytes | None, bool]:
    """The incoming request id, and whether the request sends a body."""
    given: bytes | None = None
    has_body = False
    for name, value in headers:
        if name == b"x-request-id":
            given = value
        elif name == b"content-length":
            has_body = value.strip() not in (b"", b"0")
        elif name == b"transfer-encoding":
            has_body = True
    return given, has_body
