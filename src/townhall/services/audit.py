"""Reading the audit trail (writing it is `Service.change`'s job)."""

from __future__ import annotations

from townhall.services.base import Service


class AuditService(Service):
    pass
