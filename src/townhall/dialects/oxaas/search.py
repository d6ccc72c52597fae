"""`GET /admin/users`: users of every context a reseller reaches whose attribute matches
the search (contracts/oxaas.md, Routes), as UserData; one people-service call."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, get
from litestar.di import NamedDependency

from townhall.domain.principal import Principal
from townhall.services.mailboxes import MailboxService
from townhall.services.people import PeopleService

from ..documents import Param, wire
from .http import AnyRequest, OxError, ok, reseller_admin
from .users import UserData, user_data

FIELDS: dict[str, tuple[str, ...] | None] = {
    "UIDNAME": ("username",),
    "MSISDN": ("mobile_phone",),
    "OXDELIVERYSTATUS": ("delivery_status",),
    "CUSTOM": ("custom_ids",),
    "ANY": None,
}
"""OX's search fields and the person fields each compares (ANY: all of these)."""


@get(
    "/admin/users",
    opt=wire(
        params=(
            Param("search", required=True, description="the value; `*` matches any run"),
            Param("field", description="UIDNAME, MSISDN, OXDELIVERYSTATUS, CUSTOM or ANY"),
        ),
        answers={200: list[UserData]},
    ),
)
async def search_users(
    request: AnyRequest,
    people: NamedDependency[PeopleService],
    mailboxes: NamedDependency[MailboxService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """Users whose attribute matches, case-insensitively, in every context the reseller
    reaches."""
    search = request.query_params.get("search")
    if search is None or not search.strip():
        raise OxError(400, "search is required")
    field = (request.query_params.get("field") or "ANY").strip().upper()
    if field not in FIELDS:
        raise OxError(400, f"field must be one of {', '.join(FIELDS)}")
    found = await people.across_brands(principal, search, FIELDS[field])
    settings = await mailboxes.settings_across(principal, found)
    return ok([user_data(p, settings[p.id]) for p in found])


def router() -> Router:
    handlers: list[Any] = [search_users]
    return Router(path="/", route_handlers=handlers, guards=[reseller_admin])
