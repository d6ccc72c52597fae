"""The live-session registry: who is connected, kicking, broadcast."""

from __future__ import annotations

from townhall.services.base import Service


class SessionService(Service):
    pass
