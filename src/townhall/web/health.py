"""`/healthz`, `/readyz` and `/metrics`: no auth, for load balancers and Prometheus."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, generate_latest

REQUESTS = Counter(
    "townhall_http_responses_total", "HTTP responses by status class", ["status_class"]
)


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """Ready when the database answers."""
    if not await request.app.state.services.cluster.database_answers():
        return Response({"status": "unavailable", "reason": "database"}, status_code=503)
    return Response({"status": "ok"})


@get("/metrics", include_in_schema=False)
async def metrics() -> Response[bytes]:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
