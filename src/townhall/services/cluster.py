"""This node and its peers: clustering status, liveness and readiness."""

from __future__ import annotations

from townhall.services.base import Service


class ClusterService(Service):
    pass
