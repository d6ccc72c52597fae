"""Chat services and rooms: settings, affiliations, occupants and history."""

from __future__ import annotations

from townhall.services.base import Service


class RoomService(Service):
    pass
