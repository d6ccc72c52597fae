"""Domain events: the facts services publish after each committed state change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """`topic` is dotted (`user.created`), `tenant_id` scopes who may see it."""

    topic: str
    tenant_id: int
    subject: str
    data: dict[str, Any] = field(default_factory=dict)
