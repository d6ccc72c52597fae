"""`/sessions` (contract §4.5)."""

from __future__ import annotations

from litestar import Router

router = Router(path="/", route_handlers=[])
