"""`/events`: booking, resource and calendar changes pushed over WebSocket.

Each server process keeps its own sockets. Services publish on the event bus after a
commit; with Redis configured the bus also hands each process the other processes'
events, so a client hears of a booking whichever process took it. A client hears only
its own tenant's events (its domains and their resource sub-domains).

Services publish domain data (the domain's names, times as ISO 8601 text); each message
renames its keys to RMP's (KEYS), so the bodies are what RMP clients know.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from townhall.domain.errors import Unauthenticated
from townhall.domain.events import DomainEvent
from townhall.services.auth import AuthService

from .. import kit
from .http import iso

PUSHED = ("booking.", "resource.", "event.", "presence.changed")
QUEUE_LIMIT = 1000
UNAUTHORIZED_CLOSE = 4401
KEYS: dict[str, dict[str, str | None]] = {
    "booking.": {
        "resource": "resourceId",
        "starts_at": "startTime",
        "ends_at": "endTime",
    },
    "resource.": {"address": "id"},
    "event.": {
        "starts_at": "startTime",
        "ends_at": "endTime",
        "rrule": "recurrence",
        "recurrence_id": "recurrenceId",
    },
    "presence.": {"address": "user", "user_id": None},
}
"""Per topic family, the domain's data keys that RMP spells otherwise (None: RMP does not
show it); other keys (and the data of other topics) keep their names."""


def render(event: DomainEvent) -> dict[str, Any]:
    """The event's data as an RMP message's `data`."""
    keys = next((k for prefix, k in KEYS.items() if event.topic.startswith(prefix)), {})
    renamed = ((keys.get(key, key), value) for key, value in event.data.items())
    return {key: value for key, value in renamed if key is not None}


class Hub:
    """This process's sockets by tenant; a slow client loses events rather than memory."""

    def __init__(self) -> None:
        self._queues: dict[int, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def join(self, tenant_id: int) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._queues[tenant_id].add(queue)
        return queue

    def leave(self, tenant_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues[tenant_id].discard(queue)

    def deliver(self, event: DomainEvent) -> None:
        if not event.topic.startswith(PUSHED):
            return
        message = {"type": event.topic, "data": render(event), "at": iso(datetime.now(UTC))}
        for queue in self._queues.get(event.tenant_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(message)


def _hub(socket: WebSocket[Any, Any, Any]) -> Hub:
    """One hub per process (in the app's state), subscribed to the bus on first use."""
    state = socket.app.state
    if "rmp_hub" not in state:
        state.rmp_hub = Hub()
        kit.services_of(socket).deps.events.subscribe(state.rmp_hub.deliver)
    return state.rmp_hub  # type: ignore[no-any-return]


async def _token(socket: WebSocket[Any, Any, Any]) -> str:
    """`?token=` or a first message `{"token": ...}` (browsers cannot set headers)."""
    token = socket.query_params.get("token")
    if token:
        return str(token)
    first = await socket.receive_json()
    return str(first.get("token", "")) if isinstance(first, dict) else ""


@websocket("/events")
async def events(socket: WebSocket[Any, Any, Any], auth: AuthService) -> None:
    await socket.accept()
    try:
        found = await auth.bearer(await _token(socket))
    except Unauthenticated:
        await socket.send_json(
            {"type": "error", "data": {"code": "UNAUTHORIZED", "message": "invalid token"}}
        )
        await socket.close(code=UNAUTHORIZED_CLOSE)
        return
    hub = _hub(socket)
    queue = hub.join(found.tenant_id)
    await socket.send_json({"type": "connected", "data": {"email": found.address}})
    reader = asyncio.create_task(_drain(socket))
    try:
        while not reader.done():
            sender = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
            if sender in done:
                await socket.send_json(sender.result())
            else:
                sender.cancel()
    except WebSocketDisconnect:
        pass
    finally:
        hub.leave(found.tenant_id, queue)
        reader.cancel()


async def _drain(socket: WebSocket[Any, Any, Any]) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_data("text")
