"""The event bus services publish to after a commit.

In one process, subscribers are called directly. With `TOWNHALL_REDIS_URL` set, every
event also goes out on the deployment's Redis channel (`<deployment_name>.events`,
so two deployments sharing one Redis never hear each other) and other server processes
(WebSocket fan-out, cache invalidation) hear it; each process relays what it receives
to its local subscribers, skipping its own events.

Redis may go away while the server runs. The listener then reconnects with a bounded
back-off, logging the outage once when it begins and once when it ends (not at every
try); while it is not subscribed, `crosses_processes` is False, which readiness reports,
because events published meanwhile reach only the process that published them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from townhall.domain.events import DomainEvent
from townhall.infrastructure.metrics import EVENTS_PUBLISHED, EVENTS_RECEIVED, REDIS_CONNECTED

log = logging.getLogger(__name__)
Subscriber = Callable[[DomainEvent], Awaitable[None] | None]
CONNECT_TIMEOUT_SECONDS = 2.0
"""How long one attempt to reach Redis may take (a publish never waits longer)."""
HEARTBEAT_SECONDS = 5.0
"""The listener pings Redis when it has heard nothing for this long; no answer within
another beat means the connection is dead even if no error said so."""
BACKOFF_SECONDS = (0.1, 5.0)
"""The first and the longest wait between reconnection attempts (doubling between)."""


def channel(deployment: str) -> str:
    return f"{deployment}.events"


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, event: DomainEvent) -> None:
        EVENTS_PUBLISHED.inc()
        await self._deliver(event)

    @property
    def crosses_processes(self) -> bool | None:
        """Whether other processes hear this one's events now (None: there are none to
        hear them, events stay in this process by design)."""
        return None

    async def _deliver(self, event: DomainEvent) -> None:
        for subscriber in self._subscribers:
            try:
                outcome = subscriber(event)
                if outcome is not None:
                    await outcome
            except Exception:  # one broken subscriber must not fail the request
                log.exception("event subscriber failed for %s", event.topic)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class _Outage:
    """Logs an outage of one use of Redis once when it begins and once when it ends."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.down = False

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            log.warning("Redis unreachable (%s): %s: %s", self.what, type(exc).__name__, exc)

    def succeeded(self) -> None:
        if self.down:
            self.down = False
            log.warning("Redis reachable again (%s)", self.what)


class RedisEventBus(EventBus):
    """Fans events out to every server process of the deployment through Redis pub/sub."""

    def __init__(self, url: str, deployment: str) -> None:
        super().__init__()
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # One retry (a pooled connection may be stale after an outage), then give up:
        # a request that publishes must not wait through the client's default back-off.
        self._redis: Any = redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=CONNECT_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 1),
        )
        self._channel = channel(deployment)
        self._origin = uuid.uuid4().hex
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = False
        self._listening = _Outage("listening")
        self._publishing = _Outage("publishing")

    @property
    def crosses_processes(self) -> bool:
        return self._subscribed

    async def publish(self, event: DomainEvent) -> None:
        EVENTS_PUBLISHED.inc()
        await self._deliver(event)
        payload = msgspec.json.encode(
            {
                "origin": self._origin,
                "topic": event.topic,
                "tenant_id": event.tenant_id,
                "subject": event.subject,
                "data": event.data,
            }
        )
        try:
            await self._redis.publish(self._channel, payload)
        except Exception as exc:  # the change is committed; other processes miss it
            self._publishing.failed(exc)
        else:
            self._publishing.succeeded()

    async def start(self) -> None:
        """Subscribe (waiting at most one connection attempt, so that a process that
        starts with Redis up hears every event from the start), then keep listening."""
        first = asyncio.Event()
        self._listener = asyncio.create_task(self._listen_forever(first))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2 * CONNECT_TIMEOUT_SECONDS):
                await first.wait()

    async def _listen_forever(self, first: asyncio.Event) -> None:
        shortest, longest = BACKOFF_SECONDS
        wait = shortest
        while True:
            try:
                await self._listen(first)
            except Exception as exc:  # `_listen` only ends by failing (or being cancelled)
                self._listening.failed(exc)
            finally:
                if self._subscribed:
                    wait = shortest  # it was up: the first retry comes soon
                self._subscribed = False
                REDIS_CONNECTED.set(0)
                first.set()
            await asyncio.sleep(wait)
            wait = min(2 * wait, longest)

    async def _listen(self, first: asyncio.Event) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            self._subscribed = True
            REDIS_CONNECTED.set(1)
            self._listening.succeeded()
            first.set()
            await self._relay(pubsub)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _relay(self, pubsub: Any) -> None:
        """Hand each other process's event to the local subscribers, until the
        connection fails (an error) or stops answering (no pong within a beat)."""
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=HEARTBEAT_SECONDS)
            if message is None:
                if pinged:
                    raise ConnectionError("Redis did not answer a ping")
                await pubsub.ping()
                pinged = True
                continue
            pinged = False
            if message.get("type") != "message":
                continue
            raw = msgspec.json.decode(message["data"])
            if raw.get("origin") == self._origin:
                continue
            EVENTS_RECEIVED.inc()
            await self._deliver(
                DomainEvent(raw["topic"], raw["tenant_id"], raw["subject"], raw.get("data", {}))
            )

    async def stop(self) -> None:
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()


async def redis_answers(url: str) -> str | None:
    """None if Redis at `url` answers a PING, else why not (for a check before start)."""
    import redis.asyncio as redis

    client: Any = redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=CONNECT_TIMEOUT_SECONDS
    )
    try:
        await client.ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()
    return None


def make_event_bus(redis_url: str | None, deployment: str) -> EventBus:
    return RedisEventBus(redis_url, deployment) if redis_url else EventBus()
