"""Counts responses by status class for `/metrics` (a pure ASGI wrapper, no per-route cost)."""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from townhall.web.health import REQUESTS


def count_responses(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                REQUESTS.labels(f"{message['status'] // 100}xx").inc()
            await send(message)

        await app(scope, receive, counting_send)

    return wrapped
