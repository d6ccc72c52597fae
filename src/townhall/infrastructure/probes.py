"""Readiness probes of the servers Townhall runs beside HTTP or depends on, each
spoken to in its own protocol, as a client would: a listener that is bound but hangs
is down. Any worker can answer `/readyz`: the SMTP listener and the policy service are
held by one worker of the server (infrastructure/listeners.py), so they are probed on
their address, not in process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from townhall.infrastructure import listeners

Probe = Callable[[], Awaitable[bool]]
TIMEOUT_SECONDS = 2.0


async def _exchange(host: str, port: int, say: bytes, expect: bytes, first: bool) -> bool:
    """Whether the server's first line (`first`) or its answer to `say` starts with
    `expect`."""
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                if not first:
                    writer.write(say)
                    await writer.drain()
                line = await reader.readline()
                if first:
                    writer.write(say)
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                return line.startswith(expect)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
    except (OSError, TimeoutError):
        return False


def smtp(setting: str) -> Probe | None:
    """The embedded SMTP listener greets with 220 (None: it is off)."""
    where = listeners.address("TOWNHALL_SMTP_LISTEN", setting)
    if where is None:
        return None
    host, port = where
    return lambda: _exchange(host, port, b"QUIT\r\n", b"220", first=True)


def mta_policy(setting: str) -> Probe | None:
    """Postfix's policy service answers a request with `action=` (None: it is off)."""
    where = listeners.address("TOWNHALL_MTA_POLICY_LISTEN", setting)
    if where is None:
        return None
    host, port = where
    request = b"request=smtpd_access_policy\nprotocol_state=CONNECT\n\n"
    return lambda: _exchange(host, port, request, b"action=", first=False)
