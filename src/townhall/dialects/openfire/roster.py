"""`/users/{u}/roster` (contract §4.1)."""

from __future__ import annotations

from litestar import Router

router = Router(path="/", route_handlers=[])
