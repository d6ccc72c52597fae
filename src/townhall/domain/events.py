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


RESTORED = "backup.restored"
"""Published after a restore replaced the whole state (services/backup.py): whatever a
process keeps in memory, and every credential an open connection holds, may be stale."""
