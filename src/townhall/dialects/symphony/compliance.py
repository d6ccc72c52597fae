"""Disclaimers, information barriers and message suppression (contract §1.3-§1.5, and
the user disclaimer operations of §1.12).

Disclaimers and barrier groups are managed under Symphony's user-provisioning
privilege, so the user administrators may call them; suppressing a message is a
compliance officer's act, so it also takes (super) compliance officers but not user
provisioning. Symphony's ids are opaque strings; Townhall's are 24 hex digits
(disclaimers, groups, policies) and URL-safe base64 (messages).
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Response, Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain import roles as role_names
from townhall.domain.principal import Principal
from townhall.services.barriers import (
    MAX_PAGE,
    BarrierGroup,
    BarrierPolicy,
    BarrierService,
    BulkOutcome,
)
from townhall.services.disclaimers import Disclaimer, DisclaimerService
from townhall.services.messages import MessageService, StoredMessage

from .. import kit, unstorable
from ..documents import wire
from . import models as m
from .http import (
    DECLARES_404,
    AnyRequest,
    SymphonyError,
    body,
    no_content,
    ok,
    page_params,
    refuse_deep,
    role_guard,
    user_admins,
)

suppressors = role_guard(
    frozenset(
        {
            role_names.SUPER_ADMINISTRATOR,
            role_names.ADMINISTRATOR,
            "SUPER_COMPLIANCE_OFFICER",
            "COMPLIANCE_OFFICER",
        }
    )
)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _disclaimer(found: Disclaimer) -> m.Disclaimer:
    return m.Disclaimer(
        id=found.id,
        name=found.name,
        content=found.content,
        frequency_in_hours=found.frequency_hours,
        is_default=found.is_default,
        is_active=found.active,
        created_date=_ms(found.created_at),
        modified_date=_ms(found.modified_at),
        format=found.format,
    )


def _group(found: BarrierGroup) -> m.BarrierGroup:
    return m.BarrierGroup(
        id=found.id,
        name=found.name,
        active=found.active,
        member_count=found.member_count,
        policies=list(found.policies),
        created_date=_ms(found.created_at),
        modified_date=_ms(found.modified_at),
    )


def _policy(found: BarrierPolicy) -> m.Policy:
    return m.Policy(
        id=found.id,
        policy_type=found.policy_type,
        active=found.active,
        member_count=found.member_count,
        groups=list(found.groups),
        created_date=_ms(found.created_at),
        modified_date=_ms(found.modified_at),
    )


def _suppression(found: StoredMessage) -> m.MessageSuppressionResponse:
    return m.MessageSuppressionResponse(
        message_id=found.message_id,
        suppressed=found.suppressed,
        suppression_date=_ms(found.suppressed_at) if found.suppressed_at else None,
    )


def _query_int(request: AnyRequest, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    return kit.integer(raw, name, default, unstorable.INT64_MIN, unstorable.INT64_MAX)


async def _user_ids(request: AnyRequest) -> list[int]:
    """The bare JSON array of user ids the membership operations take."""
    raw = await request.body()
    refuse_deep(raw)
    try:
        return msgspec.json.decode(raw, type=list[int])
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SymphonyError(400, f"users: a JSON array of user ids is required ({exc})") from None


def url_safe(message_id: str) -> str:
    """Message ids travel URL-safe; a client that sends the standard base64 spelling
    (`+` and `=` padding, percent-decoded by the router) means the same message. A `/`
    cannot arrive: the router splits the path on it, encoded or not."""
    return message_id.strip().replace("+", "-").replace("/", "_").rstrip("=")


# -- disclaimers ------------------------------------------------------------------------


@get(
    "/v1/admin/disclaimer/list",
    guards=[user_admins],
    opt=wire(answers={200: list[m.Disclaimer]}),
)
async def list_disclaimers(
    disclaimers: NamedDependency[DisclaimerService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    return ok([_disclaimer(d) for d in await disclaimers.list_all(principal)])


@get(
    "/v1/admin/disclaimer/{did:str}",
    guards=[user_admins],
    opt=wire(answers={200: m.Disclaimer}),
)
async def get_disclaimer(
    did: FromPath[str],
    disclaimers: NamedDependency[DisclaimerService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(_disclaimer(await disclaimers.get(principal, did)))


@get(
    "/v1/admin/disclaimer/{did:str}/users",
    guards=[user_admins],
    opt=wire(answers={200: list[int]}),
)
async def disclaimer_users(
    did: FromPath[str],
    disclaimers: NamedDependency[DisclaimerService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(await disclaimers.users(principal, did))


@get(
    "/v1/admin/user/{uid:int}/disclaimer",
    guards=[user_admins],
    opt=wire(answers={200: m.Disclaimer, 204: None}),
)
async def user_disclaimer(
    uid: FromPath[int],
    disclaimers: NamedDependency[DisclaimerService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    """204 with no body when the user has none, as the spec (and the BDK) expect."""
    found = await disclaimers.of_user(principal, uid)
    return ok(_disclaimer(found)) if found else no_content()


@post(
    "/v1/admin/user/{uid:int}/disclaimer/update",
    status_code=200,
    guards=[user_admins],
    opt=wire(m.StringId, answers={200: m.SuccessResponse}),
)
async def assign_disclaimer(
    request: AnyRequest,
    uid: FromPath[int],
    disclaimers: NamedDependency[DisclaimerService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    wanted = await body(request, m.StringId)
    await disclaimers.assign(principal, uid, wanted.id or "")
    return ok(m.SuccessResponse())


@delete(
    "/v1/admin/user/{uid:int}/disclaimer",
    status_code=200,
    guards=[user_admins],
    opt=wire(answers={200: m.SuccessResponse}),
)
async def unassign_disclaimer(
    uid: FromPath[int],
    disclaimers: NamedDependency[DisclaimerService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    await disclaimers.unassign(principal, uid)
    return ok(m.SuccessResponse())


# -- information barriers ---------------------------------------------------------------


@get(
    "/v1/admin/group/list",
    guards=[user_admins],
    opt=wire(answers={200: list[m.BarrierGroup]}),
)
async def list_groups(
    barriers: NamedDependency[BarrierService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    return ok([_group(g) for g in await barriers.groups(principal)])


@get(
    "/v1/admin/group/{gid:str}/membership/list",
    opt={**DECLARES_404, **wire(params=page_params(MAX_PAGE), answers={200: list[int]})},
    guards=[user_admins],
)
async def group_members(
    request: AnyRequest,
    gid: FromPath[str],
    barriers: NamedDependency[BarrierService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    skip = _query_int(request, "skip", 0)
    limit = _query_int(request, "limit", MAX_PAGE)
    return ok(await barriers.members(principal, gid, skip, limit))


def _bulk(outcome: BulkOutcome) -> Response[bytes]:
    return ok(
        m.BulkActionResult(
            overall_result="SUCCESS" if outcome.ok else "FAIL", results=list(outcome.results)
        )
    )


BULK = wire(list[int], answers={200: m.BulkActionResult})
"""The membership changes: a bare array of user ids in, the outcome per user out."""


@post(
    "/v1/admin/group/{gid:str}/membership/add",
    status_code=200,
    guards=[user_admins],
    opt=BULK,
)
async def add_group_members(
    request: AnyRequest,
    gid: FromPath[str],
    barriers: NamedDependency[BarrierService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return _bulk(await barriers.add_members(principal, gid, await _user_ids(request)))


@post(
    "/v1/admin/group/{gid:str}/membership/remove",
    status_code=200,
    guards=[user_admins],
    opt=BULK,
)
async def remove_group_members(
    request: AnyRequest,
    gid: FromPath[str],
    barriers: NamedDependency[BarrierService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return _bulk(await barriers.remove_members(principal, gid, await _user_ids(request)))


@get(
    "/v1/admin/policy/list",
    guards=[user_admins],
    opt=wire(answers={200: list[m.Policy]}),
)
async def list_policies(
    barriers: NamedDependency[BarrierService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    return ok([_policy(p) for p in await barriers.policies(principal)])


# -- message suppression ----------------------------------------------------------------


@post(
    "/v1/admin/messagesuppression/{message_id:str}/suppress",
    status_code=200,
    guards=[suppressors],
    opt=wire(answers={200: m.MessageSuppressionResponse}),
)
async def suppress_message(
    message_id: FromPath[str],
    messages: NamedDependency[MessageService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(_suppression(await messages.suppress(principal, url_safe(message_id))))


router = Router(
    path="/",
    route_handlers=[
        list_disclaimers,
        get_disclaimer,
        disclaimer_users,
        user_disclaimer,
        assign_disclaimer,
        unassign_disclaimer,
        list_groups,
        group_members,
        add_group_members,
        remove_group_members,
        list_policies,
        suppress_message,
    ],
)
