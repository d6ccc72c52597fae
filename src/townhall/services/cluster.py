"""This node and its peers: clustering status and the node list.

Townhall's cluster is the set of server processes sharing one database and one Redis
(without Redis, processes cannot hear each other's events, so clustering is off). Each
process of a clustered deployment writes a heartbeat into `server_settings` every few
seconds; the nodes whose heartbeat is fresh are the members, the one that joined first
is the senior member.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from townhall.domain.errors import NotFound
from townhall.infrastructure.probes import Probe
from townhall.services.base import Deps, Service
from townhall.store import tenants as settings_store

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5.0
NODE_PREFIX = "cluster.node."
ClusterStatus = Literal["disabled", "joining", "sole", "senior", "junior"]


@dataclass(frozen=True, slots=True)
class ClusterNode:
    node_id: str
    host_name: str
    joined_at: datetime
    senior: bool


class ClusterService(Service):
    def __init__(
        self, deps: Deps, enabled: bool = False, probes: Mapping[str, Probe] | None = None
    ) -> None:
        super().__init__(deps)
        self.enabled = enabled
        self._probes = dict(probes or {})
        """The servers beside the database and Redis that readiness asks, by name."""
        # A node id is a UUID derived from the node name, so a restarted process takes
        # its old heartbeat slot over instead of adding one.
        self.node_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"townhall:node:{deps.node}"))
        self._joined = deps.clock.now()
        self._host = socket.gethostname()
        self._beat: asyncio.Task[None] | None = None

    @property
    def host_name(self) -> str:
        """The machine this process runs on."""
        return self._host

    async def start(self) -> None:
        if self.enabled:
            await self._heartbeat()
            self._beat = asyncio.create_task(self._keep_beating())

    async def stop(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        if self.enabled:
            async with self.db.write() as tx:
                await settings_store.delete_setting(tx, NODE_PREFIX + self.node_id)

    async def database_answers(self) -> bool:
        """Readiness: the database serves a trivial query."""
        try:
            async with self.db.read() as tx:
                await settings_store.get_setting(tx, "secret_key")
        except Exception:
            log.exception("readiness check: the database does not answer")
            return False
        return True

    async def dependencies(self) -> dict[str, str]:
        """Readiness: "up" or "down" for the database, where events must cross
        processes (Redis configured) for the link that carries them, and for each
        probed server (the mail listener, the policy service, Dovecot), asked at once."""
        names = list(self._probes)
        answers = await asyncio.gather(
            self.database_answers(), *(self._probes[name]() for name in names)
        )
        found = {"database": "up" if answers[0] else "down"}
        crossing = self.deps.events.crosses_processes
        if crossing is not None:
            found["redis"] = "up" if crossing else "down"
        for name, answered in zip(names, answers[1:], strict=True):
            found[name] = "up" if answered else "down"
        return found

    async def ready(self) -> bool:
        return all(state == "up" for state in (await self.dependencies()).values())

    async def status(self) -> ClusterStatus:
        """This node's place: clustering off, not yet seen by its peers (its first
        heartbeat pending), the only member, or the senior or a junior one."""
        if not self.enabled:
            return "disabled"
        nodes = await self.nodes()
        me = next((n for n in nodes if n.node_id == self.node_id), None)
        if me is None:
            return "joining"
        if len(nodes) == 1:
            return "sole"
        return "senior" if me.senior else "junior"

    async def nodes(self) -> list[ClusterNode]:
        if not self.enabled:
            return []
        async with self.db.read() as tx:
            found = await settings_store.settings_with_prefix(tx, NODE_PREFIX)
        fresh_after = self.clock.now() - timedelta(seconds=3 * HEARTBEAT_SECONDS)
        alive = []
        for key, raw in found.items():
            beat = msgspec.json.decode(raw)
            if datetime.fromisoformat(beat["seen"]) >= fresh_after:
                alive.append((datetime.fromisoformat(beat["joined"]), key, beat["host"]))
        alive.sort()
        return [
            ClusterNode(key.removeprefix(NODE_PREFIX), host, joined, i == 0)
            for i, (joined, key, host) in enumerate(alive)
        ]

    async def node(self, node_id: str) -> ClusterNode:
        for node in await self.nodes():
            if node.node_id == node_id:
                return node
        raise NotFound("cluster_node", node_id)

    async def _heartbeat(self) -> None:
        beat = {
            "host": self._host,
            "joined": self._joined.isoformat(),
            "seen": self.clock.now().isoformat(),
        }
        async with self.db.write() as tx:
            await settings_store.upsert_setting(
                tx, NODE_PREFIX + self.node_id, msgspec.json.encode(beat).decode()
            )

    async def _keep_beating(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._heartbeat()
            except Exception:  # the database may be briefly away; try again next beat
                log.exception("cluster heartbeat failed")
