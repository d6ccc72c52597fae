"""`/healthz`, `/readyz` and `/metrics`: no auth, for load balancers and Prometheus."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from townhall.infrastructure import metrics as collected


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    """Ready when every dependency answers: the database; with Redis configured, the
    link that carries events across processes; the SMTP listener and the Postfix policy
    service when they are on; Dovecot's doveadm with `mail_store=dovecot`. Each is
    named with "up" or "down"; a 503 names what is down (`{"smtp": "down", ...}`)."""
    found = await request.app.state.services.cluster.dependencies()
    down = [name for name, state in found.items() if state != "up"]
    if down:
        body = {"status": "unavailable", "reason": ", ".join(down), **found}
        return Response(body, status_code=503)
    return Response({"status": "ok", **found})


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    """Every worker's metrics summed (infrastructure/metrics.py); reading a few small
    files, so it runs on the loop rather than paying a thread hand-off."""
    return Response(collected.scrape(), media_type=collected.CONTENT_TYPE)
