"""`/openapi.yaml` and /openapi.json (contract §4.6)."""

from __future__ import annotations

from litestar import Router

router = Router(path="/", route_handlers=[])
