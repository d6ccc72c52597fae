"""`DELETE /admin/sessions`: end every session of a person, or of everyone in a context.

Every kind of session ends at once (auth service): API session tokens (Symphony),
access and refresh tokens (RMP, whose event sockets close), and live connections in the
registry. The answer lists the ids of what ended.
"""

from __future__ import annotations

from typing import TypedDict

from litestar import Response, Router, delete
from litestar.di import NamedDependency

from townhall.domain.principal import Principal
from townhall.services.auth import AuthService
from townhall.services.people import PeopleService

from ..documents import Param, wire
from .http import AnyRequest, OxError, context_admin_only, number, ok


class Closed(TypedDict):
    closed: list[str]


SELECTORS = (
    Param("contextId", description="the context, by id"),
    Param("contextName", description="the context, by name (when no contextId)"),
    Param("userId", description="one user, by id"),
    Param("userName", description="one user, by uid name"),
    Param("userMail", description="one user, by one of their addresses"),
)


async def _chosen(request: AnyRequest, people: PeopleService, principal: Principal) -> list[int]:
    """The people the query names, or everyone in the context."""
    query = request.query_params
    if query.get("userId"):
        found = await people.find(principal, ids=[number(query["userId"], "userId")])
        wanted = query["userId"]
    elif query.get("userName"):
        found = await people.find(principal, usernames=[query["userName"]])
        wanted = query["userName"]
    elif query.get("userMail"):
        found = await people.find(principal, emails=[query["userMail"].strip().lower()])
        wanted = query["userMail"]
    else:
        return await people.ids(principal)
    if not found:
        raise OxError(404, f"user {wanted} not found in context {principal.tenant_id}")
    return [p.id for p in found]


@delete(
    "/admin/sessions",
    status_code=200,
    guards=[context_admin_only],
    opt=wire(params=SELECTORS, answers={200: Closed}),
)
async def close_sessions(
    request: AnyRequest,
    auth: NamedDependency[AuthService],
    people: NamedDependency[PeopleService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Close the sessions of one user, or of every user of the context."""
    chosen = await _chosen(request, people, principal)
    return ok({"closed": await auth.close_sessions(principal, chosen)})


def router() -> Router:
    return Router(path="/", route_handlers=[close_sessions])
