"""The legacy /userservice query API with its XML replies (contract §6)."""

from __future__ import annotations

from litestar import Router

router = Router(path="/", route_handlers=[])
