"""`/groups` and /users/{u}/groups (contract §4.1, §4.2)."""

from __future__ import annotations

from litestar import Router

router = Router(path="/", route_handlers=[])
