"""Chat rooms: Openfire's MUC rooms and Symphony's rooms and IMs, one concept.

`RoomService` is the one service object; it is written in parts by sub-concept, each
part building on the ones it uses:
* `base`: finding services, rooms and parties; who may change a room;
* `invitations`: inviting people to a room;
* `members`: affiliations and membership, with the one last-owner rule;
* `rooms`: rooms themselves (by name or stream id), IMs, occupants and history;
* `chat_services`: the services rooms live in.
"""

from __future__ import annotations

from townhall.services.rooms.base import DEFAULT_SERVICE
from townhall.services.rooms.chat_services import ChatServices
from townhall.services.rooms.rooms import BulkOutcome, RoomChanges, Rooms, RoomSpec

__all__ = ["DEFAULT_SERVICE", "BulkOutcome", "RoomChanges", "RoomService", "RoomSpec"]


class RoomService(Rooms, ChatServices):
    """Every use case of chat rooms, whichever API asks (see the parts' modules)."""
