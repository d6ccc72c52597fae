"""A response sent before its request's body was read closes the connection.

Litestar refuses a body over `max_body_bytes` (413) from its Content-Length, and the
Openfire auth layer refuses bad credentials (401), without reading what the client is
still sending. Kept open, the connection then holds the rest of that body where the
client's next request should start, and the server drops it (`RemoteDisconnected` on the
client's next request). `Connection: close` tells the client not to reuse it, and the
server to close it after the answer.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

_CLOSE = (b"connection", b"close")


def _sends_a_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


def closes_unread_bodies(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _sends_a_body(scope):  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return
        unread = True

        async def reading() -> ReceiveMessage:
            nonlocal unread
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                unread = False
            return message

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and (unread or message["status"] == 413):
                headers = [*message.get("headers", []), _CLOSE]
                message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        await app(scope, reading, closing)

    return wrapped
