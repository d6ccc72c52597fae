"""`/clustering` (contract §4.4): Townhall's server processes as Openfire cluster nodes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.services.cluster import ClusterNode, ClusterService, ClusterStatus

from ..documents import wire
from .entities import CLUSTER_NODE, CLUSTER_NODES, CLUSTERING
from .http import respond

AnyRequest = Request[Any, Any, Any]
STATUS: dict[ClusterStatus, str] = {
    "disabled": "Disabled",
    "joining": "Starting up",
    "sole": "SENIOR AND ONLY MEMBER",
    "senior": "Senior member",
    "junior": "Junior member",
}
"""This node's status as Openfire words it."""


def _node(node: ClusterNode) -> dict[str, Any]:
    return {
        "hostName": node.host_name,
        "joinedTime": node.joined_at,
        "nodeID": node.node_id,
        "seniorMember": node.senior,
    }


@get("/clustering/status", opt=wire(answers={200: CLUSTERING}))
async def status(request: AnyRequest, cluster: NamedDependency[ClusterService]) -> Response[bytes]:
    return respond(request, CLUSTERING, {"status": STATUS[await cluster.status()]})


@get("/clustering/nodes", opt=wire(answers={200: CLUSTER_NODES}))
async def nodes(request: AnyRequest, cluster: NamedDependency[ClusterService]) -> Response[bytes]:
    return respond(request, CLUSTER_NODES, [_node(n) for n in await cluster.nodes()])


@get("/clustering/nodes/{node_id:str}", opt=wire(answers={200: CLUSTER_NODE}))
async def node(
    request: AnyRequest, node_id: FromPath[str], cluster: NamedDependency[ClusterService]
) -> Response[bytes]:
    return respond(request, CLUSTER_NODE, _node(await cluster.node(node_id)))


router = Router(path="/", route_handlers=[status, nodes, node])
