"""`/events`: booking, resource and calendar changes pushed over WebSocket.

Each server process keeps its own sockets. Services publish on the event bus after a
commit; with Redis configured the bus also hands each process the other processes'
events, so a client hears of a booking whichever process took it. A client hears only
what it could read through REST at that moment (the subscriptions service decides), and
only while its token holds: logout, lockout and expiry close the socket with a code
(CLOSE_CODES; docs/rmp-mapping.md), as does a client that sends no token in time.

Services publish domain data (the domain's names, times as ISO 8601 text); each message
renames its keys to RMP's (KEYS), so the bodies are what RMP clients know.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from townhall.domain.errors import Unauthenticated
from townhall.domain.events import RESTORED, DomainEvent
from townhall.domain.principal import Principal
from townhall.services.subscriptions import Subscription, SubscriptionService

from .. import kit
from .http import CHANGE_FIRST, iso

PUSHED = ("booking.", "resource.", "event.", "presence.changed")
QUEUE_LIMIT = 1000
UNAUTHORIZED_CLOSE = 4401
ENDED_CLOSE = 4001
CLOSE_ANSWER_SECONDS = 2.0
"""How long a socket the server closes waits for the client's close frame."""
EXPIRED_CLOSE = 4002
NO_TOKEN_CLOSE = 4008
CHANGE_PASSWORD_CLOSE = 4403
CLOSE_CODES = {
    UNAUTHORIZED_CLOSE: "the token was refused when the socket opened",
    ENDED_CLOSE: "the session ended: logged out, revoked, or the account locked or deleted",
    EXPIRED_CLOSE: "the access token expired",
    NO_TOKEN_CLOSE: "no token within the time allowed",
    CHANGE_PASSWORD_CLOSE: "the holder must change their password first (requireChange)",
}
"""Why the server closed a socket (the close frame's reason says it in words)."""
KEYS: dict[str, dict[str, str | None]] = {
    "booking.": {
        "resource": "resourceId",
        "starts_at": "startTime",
        "ends_at": "endTime",
        "organizer_id": None,
        "invited_ids": None,
    },
    "resource.": {"address": "id"},
    "event.": {
        "starts_at": "startTime",
        "ends_at": "endTime",
        "rrule": "recurrence",
        "recurrence_id": "recurrenceId",
        "calendar_id": None,
    },
    "presence.": {"address": "user", "user_id": None},
}
"""Per topic family, the domain's data keys that RMP spells otherwise (None: RMP does not
show it); other keys (and the data of other topics) keep their names."""


TIMES = frozenset({"starts_at", "ends_at", "recurrence_id"})
"""Domain data keys holding ISO times, shown as REST shows times (UTC with `Z`)."""


def render(event: DomainEvent) -> dict[str, Any]:
    """The event's data as an RMP message's `data`."""
    keys = next((k for prefix, k in KEYS.items() if event.topic.startswith(prefix)), {})
    renamed = (
        (keys.get(key, key), _time(value) if key in TIMES else value)
        for key, value in event.data.items()
    )
    return {key: value for key, value in renamed if key is not None}


def _time(value: Any) -> Any:
    return iso(datetime.fromisoformat(value)) if isinstance(value, str) else value


@dataclass(eq=False)
class Listener:
    """One socket as the hub sees it: who listens, what awaits sending, and whether an
    event asked for its credential to be checked again (and why)."""

    principal: Principal
    queue: asyncio.Queue[tuple[DomainEvent, str]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )
    recheck: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = "session ended"


class Hub:
    """This process's sockets by tenant; a slow client loses events rather than memory
    (but never the news that its session may have ended)."""

    def __init__(self, subscriptions: SubscriptionService) -> None:
        self._subscriptions = subscriptions
        self._listeners: dict[int, set[Listener]] = defaultdict(set)

    def join(self, principal: Principal) -> Listener:
        listener = Listener(principal)
        self._listeners[principal.tenant_id].add(listener)
        return listener

    def leave(self, listener: Listener) -> None:
        self._listeners[listener.principal.tenant_id].discard(listener)

    def deliver(self, event: DomainEvent) -> None:
        at = iso(datetime.now(UTC))
        if event.topic == RESTORED:  # a restore replaced every tenant: all sockets recheck
            listeners: Iterable[Listener] = [
                one for tenant in self._listeners.values() for one in tenant
            ]
        else:
            listeners = self._listeners.get(event.tenant_id, ())
        for listener in listeners:
            reason = self._subscriptions.may_end(listener.principal, event)
            if reason is not None:
                listener.reason = reason
                listener.recheck.set()
            elif event.topic.startswith(PUSHED):
                with contextlib.suppress(asyncio.QueueFull):
                    listener.queue.put_nowait((event, at))


def _hub(socket: WebSocket[Any, Any, Any], subscriptions: SubscriptionService) -> Hub:
    """One hub per process (in the app's state), subscribed to the bus on first use."""
    state = socket.app.state
    if "rmp_hub" not in state:
        state.rmp_hub = Hub(subscriptions)
        kit.services_of(socket).deps.events.subscribe(state.rmp_hub.deliver)
    return state.rmp_hub  # type: ignore[no-any-return]


async def _token(socket: WebSocket[Any, Any, Any], seconds: float) -> str | None:
    """`?token=` or a first message `{"token": ...}` (browsers cannot set headers);
    None if no message came within `seconds`."""
    token = socket.query_params.get("token")
    if token:
        return str(token)
    try:
        async with asyncio.timeout(seconds):
            first = await socket.receive_json()
    except TimeoutError:
        return None
    return str(first.get("token", "")) if isinstance(first, dict) else ""


ERROR_CODES = {NO_TOKEN_CLOSE: "TIMEOUT", CHANGE_PASSWORD_CLOSE: "PASSWORD_CHANGE_REQUIRED"}
"""The `error` message's code before a close, where it is not UNAUTHORIZED."""


async def _refuse(socket: WebSocket[Any, Any, Any], code: int, message: str) -> None:
    error = ERROR_CODES.get(code, "UNAUTHORIZED")
    await socket.send_json({"type": "error", "data": {"code": error, "message": message}})
    await socket.close(code=code, reason=message)


@websocket("/events")
async def events(
    socket: WebSocket[Any, Any, Any], subscriptions: NamedDependency[SubscriptionService]
) -> None:
    await socket.accept()
    try:
        token = await _token(socket, subscriptions.handshake_seconds)
        if token is None:
            seconds = subscriptions.handshake_seconds
            return await _refuse(socket, NO_TOKEN_CLOSE, f"no token within {seconds} s")
        try:
            subscription = await subscriptions.open(token)
        except Unauthenticated:
            return await _refuse(socket, UNAUTHORIZED_CLOSE, "invalid token")
        holder = subscription.principal
        if holder.must_change_password:  # as REST's password_current guard
            message = CHANGE_FIRST.format(email=holder.address)
            return await _refuse(socket, CHANGE_PASSWORD_CLOSE, message)
        hub = _hub(socket, subscriptions)
        listener = hub.join(subscription.principal)
        # The reader stops only after the close is sent: cancelling a pending receive
        # first could leave the socket dropped without its close frame (1006 instead
        # of the code, now and then, on PostgreSQL).
        reader = asyncio.create_task(_drain(socket))
        try:
            await socket.send_json(
                {"type": "connected", "data": {"email": listener.principal.address}}
            )
            ending = await _stream(socket, subscriptions, listener, subscription, token, reader)
            if ending is not None:
                await _refuse(socket, *ending)
                await _close_answered(reader)
        finally:
            hub.leave(listener)
            reader.cancel()
    except WebSocketDisconnect:
        pass


async def _stream(
    socket: WebSocket[Any, Any, Any],
    subscriptions: SubscriptionService,
    listener: Listener,
    subscription: Subscription,
    token: str,
    reader: asyncio.Task[None],
) -> tuple[int, str] | None:
    """Send what the listener may see until the client leaves (`reader` ends: None) or
    the session ends (the close code and reason). The credential is checked again when
    an event asks for it and every `renew_seconds`; expiry is checked before every
    message."""
    loop = asyncio.get_running_loop()
    renew_at = loop.time() + subscriptions.renew_seconds
    while not reader.done():
        left = subscriptions.seconds_left(subscription)
        if left <= 0:
            return EXPIRED_CLOSE, "token expired"
        wake = min(left, max(renew_at - loop.time(), 0))
        got = await _next(listener, reader, wake)
        if listener.recheck.is_set() or loop.time() >= renew_at:
            listener.recheck.clear()
            renew_at = loop.time() + subscriptions.renew_seconds
            try:
                subscription = await subscriptions.renew(token)
            except Unauthenticated:
                return ENDED_CLOSE, listener.reason
            listener.principal = subscription.principal
        if got is not None and subscriptions.seconds_left(subscription) > 0:
            event, at = got
            if await subscriptions.visible_to(listener.principal, event):
                await socket.send_json({"type": event.topic, "data": render(event), "at": at})
    return None


async def _next(
    listener: Listener, reader: asyncio.Task[None], seconds: float
) -> tuple[DomainEvent, str] | None:
    """The next queued event, or None when the client left, a recheck was asked for or
    `seconds` passed (whichever comes first)."""
    getter = asyncio.ensure_future(listener.queue.get())
    waker = asyncio.ensure_future(listener.recheck.wait())
    try:
        await asyncio.wait(
            {getter, waker, reader}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (getter, waker):
            if not task.done():
                task.cancel()
    return getter.result() if getter.done() and not getter.cancelled() else None


async def _close_answered(reader: asyncio.Task[None]) -> None:
    """Wait (a bounded while) for the client's close frame, which ends `reader`, as
    RFC 6455 has an endpoint do before it drops the connection: a handler that
    returned at once let the connection go before its own close frame had left, now
    and then under load (the client saw 1006 instead of 4001)."""
    await asyncio.wait({reader}, timeout=CLOSE_ANSWER_SECONDS)


async def _drain(socket: WebSocket[Any, Any, Any]) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_data("text")
