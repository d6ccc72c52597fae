"""Personal contact lists (the XMPP roster)."""

from __future__ import annotations

from townhall.services.base import Service


class RosterService(Service):
    pass
