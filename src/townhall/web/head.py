"""HEAD on every GET resource: answered by the GET handler, body dropped.

HTTP says HEAD is GET without the body; the Openfire plugin relies on it for existence
checks (`HEAD /users/jane`). Litestar routes only the methods a handler declares, so the
rewrite happens before routing.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send


def answer_head(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}  # type: ignore[typeddict-item]
            await send(message)

        # In place, not a copy: the layers outside read what was routed (the route).
        scope["method"] = "GET"  # type: ignore[typeddict-unknown-key]
        await app(scope, receive, without_body)

    return wrapped
