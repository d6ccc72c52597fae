"""`/clustering` (contract §4.4): Townhall's server processes as Openfire cluster nodes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get

from townhall.services.cluster import ClusterNode

from .entities import CLUSTER_NODE, CLUSTER_NODES, CLUSTERING
from .http import respond, services

AnyRequest = Request[Any, Any, Any]


def _node(node: ClusterNode) -> dict[str, Any]:
    return {
        "hostName": node.host_name,
        "joinedTime": node.joined_at,
        "nodeID": node.node_id,
        "seniorMember": node.senior,
    }


@get("/clustering/status")
async def status(request: AnyRequest) -> Response[bytes]:
    return respond(request, CLUSTERING, {"status": await services(request).cluster.status()})


@get("/clustering/nodes")
async def nodes(request: AnyRequest) -> Response[bytes]:
    found = await services(request).cluster.nodes()
    return respond(request, CLUSTER_NODES, [_node(n) for n in found])


@get("/clustering/nodes/{node_id:str}")
async def node(request: AnyRequest, node_id: str) -> Response[bytes]:
    return respond(request, CLUSTER_NODE, _node(await services(request).cluster.node(node_id)))


router = Router(path="/", route_handlers=[status, nodes, node])
