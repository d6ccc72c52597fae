"""Identifiers Townhall makes up, from one place so tests can pin them."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime


class Ids:
    def stream_id(self) -> str:
        """A room's stream id (see `_opaque`)."""
        return _opaque()

    def message_id(self) -> str:
        """A stored message's id (see `_opaque`)."""
        return _opaque()

    def object_id(self, now: datetime) -> str:
        """An id for an administered object (disclaimer, barrier group or policy): 24
        lower-case hex digits, the seconds since the epoch then 8 random bytes, so ids
        sort roughly by creation and need no sequence shared between processes."""
        return f"{int(now.timestamp()):08x}{secrets.token_hex(8)}"


def _opaque() -> str:
    """URL-safe base64 of 24 random bytes (32 characters, no padding): unguessable, and
    safe in a URL path as it is, so every API can address the thing without encoding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
