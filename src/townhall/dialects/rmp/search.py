"""`/search`: one query across resources, users and bookings, ranked by relevance.

The body is the reference's (`query`, `types`, `limit`); the answer holds a list per
asked type, best first, each hit with its `score` (0..1). How scores are made and who
sees what is the search service's (docs/rmp-mapping.md, "Search, analytics and
statistics").
"""

from __future__ import annotations

from typing import Annotated, NotRequired, TypedDict

import msgspec
from litestar import Response, Router, post
from litestar.di import NamedDependency

from townhall.domain.principal import Principal
from townhall.services.search import (
    DEFAULT_LIMIT,
    TYPES,
    BookingHit,
    ResourceHit,
    SearchQuery,
    SearchService,
    UserHit,
)

from ..documents import wire
from .http import AnyRequest, body, iso, ok
from .models import Body


class SearchBody(Body):
    query: Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1})]
    types: list[str] = msgspec.field(default_factory=lambda: list(TYPES))
    limit: int = DEFAULT_LIMIT


class ResourceHitWire(TypedDict):
    id: str
    name: str
    type: str
    score: float


class UserHitWire(TypedDict):
    email: str
    realName: str
    score: float


class BookingHitWire(TypedDict):
    id: str
    title: str
    startTime: str
    score: float


class Results(TypedDict):
    """A list per asked type, best first."""

    resources: NotRequired[list[ResourceHitWire]]
    users: NotRequired[list[UserHitWire]]
    bookings: NotRequired[list[BookingHitWire]]


class Found(TypedDict):
    success: bool
    results: Results


def _resource(hit: ResourceHit) -> ResourceHitWire:
    return {"id": hit.address, "name": hit.name, "type": hit.type, "score": hit.score}


def _user(hit: UserHit, domain: str) -> UserHitWire:
    return {"email": f"{hit.username}@{domain}", "realName": hit.name, "score": hit.score}


def _booking(hit: BookingHit) -> BookingHitWire:
    return {"id": hit.id, "title": hit.title, "startTime": iso(hit.starts_at), "score": hit.score}


@post("/search", status_code=200, opt=wire(SearchBody, answers={200: Found}))
async def search(
    request: AnyRequest,
    search: NamedDependency[SearchService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, SearchBody)
    query = SearchQuery(asked.query, tuple(asked.types), asked.limit)
    found = await search.search(principal, query)
    results: Results = {}
    if found.resources is not None:
        results["resources"] = [_resource(hit) for hit in found.resources]
    if found.users is not None:
        domain = principal.tenant.domain
        results["users"] = [_user(hit, domain) for hit in found.users]
    if found.bookings is not None:
        results["bookings"] = [_booking(hit) for hit in found.bookings]
    return ok(results=results)


router = Router(path="/", route_handlers=[search])
