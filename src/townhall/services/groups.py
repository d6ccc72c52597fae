"""Shared groups: members, admins and the shared-roster flag."""

from __future__ import annotations

from townhall.services.base import Service


class GroupService(Service):
    pass
