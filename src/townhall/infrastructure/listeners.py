"""The TCP listeners a server opens beside HTTP (the SMTP receiver, Postfix's policy
service): one setting each, `host:port` or `off`, and one listener per server.

The first worker to bind the address serves it for all; the others leave it to that one
(a worker that dies is replaced and binds again). No SO_REUSEPORT: with it, a second
server on the same machine could bind the same port and silently answer half of the
first one's connections from another database.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def address(name: str, setting: str) -> tuple[str, int] | None:
    """`host:port`, or None for `off`; anything else is a ValueError naming `name`."""
    if setting.strip().lower() in ("", "off"):
        return None
    host, _, port = setting.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{name} must be host:port or off")
    return host, int(port)


async def open_once(
    name: str, setting: str, opening: Callable[[str, int], Awaitable[asyncio.Server]]
) -> asyncio.Server | None:
    """The listener `opening` makes on the setting's address, or None if it is off or,
    with several workers, another worker holds it already."""
    where = address(name, setting)
    if where is None:
        return None
    try:
        return await opening(*where)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or int(os.environ.get("TOWNHALL_WORKERS", "1")) < 2:
            raise
        log.debug("%s %s is served by another worker", name, setting)
        return None


def cannot_listen(name: str, setting: str) -> str | None:
    """Why the listener could not open (None if it can), checked before start so a held
    port or a malformed setting is one clear line instead of a worker's traceback."""
    try:
        where = address(name, setting)
    except ValueError as exc:
        return str(exc)
    if where is None:
        return None
    family = socket.AF_INET6 if ":" in where[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio does
        try:
            probe.bind(where)
        except OSError as exc:
            return f"{name} {setting}: {exc.strerror or exc}"
    return None
