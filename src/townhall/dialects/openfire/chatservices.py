"""`/chatservices` (contract §4.3)."""

from __future__ import annotations

from litestar import Router

router = Router(path="/", route_handlers=[])
