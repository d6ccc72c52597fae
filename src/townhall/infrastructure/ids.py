"""Identifiers Townhall makes up, from one place so tests can pin them."""

from __future__ import annotations

import base64
import secrets


class Ids:
    def stream_id(self) -> str:
        """A room's stream id: URL-safe base64 of 24 random bytes (32 characters, no
        padding), the shape Symphony clients expect."""
        return base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
