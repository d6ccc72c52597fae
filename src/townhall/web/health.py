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
    """Ready when the database answers and, with Redis configured, events cross
    processes; a 503 names what is down (`{"redis": "down", ...}`)."""
    found = await request.app.state.services.cluster.dependencies()
    down = [name for name, state in found.items() if state != "up"]
    if down:
        body = {"status": "unavailable", "reason": ", ".join(down), **found}
        return Response(body, status_code=503)
    return Response({"status": "ok", **found})


@get("/metrics", include_in_schema=False)
async def metrics() -> Response[bytes]:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
