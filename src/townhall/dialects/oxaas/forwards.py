"""`/admin/forwards/{contextId}[/{alias}[/{recipient}]]`: mail forwards (aliases) of a
context, on the forward service, which owns the rules (the alias in one of the tenant's
domains, at most 100 recipients, audited). `contextId` is the context's id or its name.
HEAD ("does it exist?") is answered by the GET routes without their body (web/edge.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.principal import Principal
from townhall.services.forwards import ForwardService

from .. import kit
from ..documents import wire
from .http import AnyRequest, OxError, context_admin_only, ok

CONTEXT = "/admin/forwards/{contextId:str}"
ALIAS = CONTEXT + "/{alias:str}"
RECIPIENT = ALIAS + "/{recipient:str}"
RECIPIENTS_BODY: dict[str, Any] = {
    "oneOf": [
        {"type": "object", "properties": {"recipient": {"type": ["string", "array"]}}},
        {"type": "array", "items": {"type": "string"}},
    ]
}


async def _recipients(request: AnyRequest) -> list[str]:
    """`{"recipient": "a@x"}`, `{"recipient": ["a@x", ...]}` or a bare array."""
    raw = await request.body()
    if not raw.strip():
        raise OxError(400, "recipient is required")
    body = kit.decode(raw, Any)  # type: ignore[arg-type]
    value = body.get("recipient") if isinstance(body, dict) else body
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise OxError(400, "recipient must be an address or a non-empty array of addresses")
    return items


def _nothing(status: int = 200) -> Response[bytes]:
    return ok(None, status)


@get(ALIAS, opt=wire(answers={200: list[str]}))
async def recipients(
    alias: FromPath[str],
    forwards: NamedDependency[ForwardService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """The alias's recipients."""
    return ok(await forwards.recipients(principal, alias))


@put(ALIAS, opt=wire(RECIPIENTS_BODY, answers={200: None}))
async def replace(
    request: AnyRequest,
    alias: FromPath[str],
    forwards: NamedDependency[ForwardService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Create the alias, or make it forward to exactly these recipients."""
    await forwards.replace(principal, alias, await _recipients(request))
    return _nothing()


@post(ALIAS, status_code=201, opt=wire(RECIPIENTS_BODY, answers={201: None}))
async def add(
    request: AnyRequest,
    alias: FromPath[str],
    forwards: NamedDependency[ForwardService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Add recipients to the alias (creating it if need be)."""
    await forwards.add(principal, alias, await _recipients(request))
    return _nothing(201)


@delete(ALIAS, status_code=200, opt=wire(answers={200: None}))
async def remove(
    alias: FromPath[str],
    forwards: NamedDependency[ForwardService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Delete the alias."""
    await forwards.delete(principal, alias)
    return _nothing()


@get(CONTEXT, opt=wire(answers={200: dict[str, list[str]]}))
async def all_forwards(
    forwards: NamedDependency[ForwardService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    """Every forward of the context: alias -> recipients."""
    return ok(await forwards.all(principal))


@delete(CONTEXT, status_code=200, opt=wire(answers={200: None}))
async def remove_all(
    forwards: NamedDependency[ForwardService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    """Delete every forward of the context."""
    await forwards.delete_all(principal)
    return _nothing()


@get(RECIPIENT, opt=wire(answers={200: None}))
async def recipient_exists(
    alias: FromPath[str],
    recipient: FromPath[str],
    forwards: NamedDependency[ForwardService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """200 if the alias forwards to the recipient, else 404."""
    if not await forwards.exists(principal, alias, recipient):
        raise OxError(404, f"recipient {recipient} of {alias} not found")
    return _nothing()


@delete(RECIPIENT, status_code=200, opt=wire(answers={200: None}))
async def remove_recipient(
    alias: FromPath[str],
    recipient: FromPath[str],
    forwards: NamedDependency[ForwardService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Remove one recipient; the alias goes with its last."""
    await forwards.delete_recipient(principal, alias, recipient)
    return _nothing()


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            recipients,
            replace,
            add,
            remove,
            all_forwards,
            remove_all,
            recipient_exists,
            remove_recipient,
        ],
        guards=[context_admin_only],
    )
