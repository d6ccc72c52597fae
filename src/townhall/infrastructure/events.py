"""The event bus services publish to after a commit.

In one process, subscribers are called directly. With `TOWNHALL_REDIS_URL` set, every
event also goes out on the deployment's Redis channel (`townhall.<deployment>.events`,
so two deployments sharing one Redis never hear each other) and other server processes
(WebSocket fan-out, cache invalidation) hear it; each process relays what it receives
to its local subscribers, skipping its own events.
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

log = logging.getLogger(__name__)
Subscriber = Callable[[DomainEvent], Awaitable[None] | None]


def channel(deployment: str) -> str:
    return f"townhall.{deployment}.events"


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, event: DomainEvent) -> None:
        await self._deliver(event)

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


class RedisEventBus(EventBus):
    """Fans events out to every server process of the deployment through Redis pub/sub."""

    def __init__(self, url: str, deployment: str) -> None:
        super().__init__()
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(url)
        self._channel = channel(deployment)
        self._origin = uuid.uuid4().hex
        self._listener: asyncio.Task[None] | None = None

    async def publish(self, event: DomainEvent) -> None:
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
        except Exception:
            log.exception("could not publish %s to Redis", event.topic)

    async def start(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel)
        self._listener = asyncio.create_task(self._listen(pubsub))

    async def _listen(self, pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            raw = msgspec.json.decode(message["data"])
            if raw.get("origin") == self._origin:
                continue
            await self._deliver(
                DomainEvent(raw["topic"], raw["tenant_id"], raw["subject"], raw.get("data", {}))
            )

    async def stop(self) -> None:
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()


def make_event_bus(redis_url: str | None, deployment: str) -> EventBus:
    return RedisEventBus(redis_url, deployment) if redis_url else EventBus()
