"""`/resource-types` and `/resources`: the catalogue and the bookable things in it.

A resource is the resource account `name@<resource sub-domain>`; `capacity` and
`features` appear beside `customFields` as in the reference, and all three are checked
against the resource's type.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, delete, get, post, put

from townhall.domain.models import FieldSpec, Resource, ResourceCategory, ResourceType
from townhall.domain.queries import ResourceQuery
from townhall.services.resources import ResourceInput

from .http import (
    AnyRequest,
    RmpError,
    body,
    flag,
    number,
    ok,
    page,
    parse_time,
    require_admin_of,
    require_server_admin,
    services,
    session,
)
from .models import CategoryBody, CreateType, FieldBody, ResourceBody, UpdateType


def render_type(kind: ResourceType) -> dict[str, Any]:
    fields = []
    for spec in kind.fields:
        field: dict[str, Any] = {"name": spec.name, "type": spec.type}
        if spec.required:
            field["required"] = True
        if spec.options:
            field["options"] = list(spec.options)
        fields.append(field)
    return {"id": kind.slug, "name": kind.name, "category": kind.category, "fields": fields}


def render(resource: Resource) -> dict[str, Any]:
    return {
        "id": resource.address,
        "name": resource.display_name,
        "type": resource.type,
        "category": resource.category,
        "capacity": resource.capacity,
        "features": list(resource.features),
        "customFields": resource.custom_fields,
        "active": resource.active,
    }


def field_specs(given: list[FieldBody]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(f.name, f.type, f.required, tuple(f.options)) for f in given)


def category_list(given: list[CategoryBody]) -> tuple[ResourceCategory, ...]:
    return tuple(ResourceCategory(c.id, c.name, c.icon) for c in given)


@get("/resource-types")
async def list_types(request: AnyRequest) -> Response[bytes]:
    categories, kinds = await services(request).resources.categories_and_types(session(request))
    return ok(
        categories=[{"id": c.slug, "name": c.name, "icon": c.icon} for c in categories],
        types=[render_type(kind) for kind in kinds],
    )


@post("/resource-types", status_code=201)
async def create_type(request: AnyRequest) -> Response[bytes]:
    caller = require_server_admin(request)
    asked = await body(request, CreateType)
    kind = ResourceType(asked.id, asked.name, asked.category, field_specs(asked.fields))
    made = await services(request).resources.create_type(
        caller, kind, category_list(asked.categories)
    )
    return ok(201, type=render_type(made))


@put("/resource-types/{type_id:str}")
async def update_type(request: AnyRequest, type_id: str) -> Response[bytes]:
    caller = require_server_admin(request)
    asked = await body(request, UpdateType)
    changed = await services(request).resources.update_type(
        caller,
        type_id,
        asked.name,
        asked.category,
        field_specs(asked.fields) if asked.fields is not None else None,
        category_list(asked.categories),
    )
    return ok(type=render_type(changed))


def field_values(
    custom: dict[str, Any] | None, capacity: int | None, features: list[str] | None
) -> dict[str, Any] | None:
    """`capacity` and `features` sit beside `customFields` on the wire; the type's
    schema checks them all as one set of values."""
    values: dict[str, Any] = dict(custom or {})
    if capacity is not None:
        values["capacity"] = capacity
    if features is not None:
        values["features"] = features
    return values or None


def resource_input(asked: ResourceBody) -> ResourceInput:
    account, _, domain = (asked.id or "").partition("@")
    return ResourceInput(
        name=asked.name,
        type=asked.type,
        category=asked.category,
        values=field_values(asked.custom_fields, asked.capacity, asked.features),
        account=account or None,
        domain=domain or asked.domain,
        active=asked.active,
    )


@get("/resources")
async def list_resources(request: AnyRequest) -> Response[bytes]:
    query = request.query_params
    available = flag(query.get("available"), "available", False)
    free_from = parse_time(query.get("startTime"), "startTime", required=False)
    free_till = parse_time(query.get("endTime"), "endTime", required=False)
    if available and (free_from is None) != (free_till is None):
        raise RmpError(
            400, "INVALID_INPUT", "give both startTime and endTime", {"field": "endTime"}
        )
    if available and free_from is None:
        free_from = services(request).deps.clock.now()
        free_till = free_from
    features = tuple(f for f in (query.get("features") or "").split(",") if f)
    where = ResourceQuery(
        type=query.get("type") or None,
        category=query.get("category") or None,
        min_capacity=number(query.get("minCapacity"), "minCapacity", 0, 0, 1_000_000) or None,
        features=features,
        free_from=free_from if available else None,
        free_till=free_till if available else None,
        text=query.get("search") or None,
    )
    asked = page(request)
    shown, total = await services(request).resources.list(
        session(request), where, asked.offset, asked.limit
    )
    return ok(resources=[render(r) for r in shown], **asked.answer(total))


@post("/resources", status_code=201)
async def create_resource(request: AnyRequest) -> Response[bytes]:
    asked = await body(request, ResourceBody)
    given = resource_input(asked)
    svc = services(request)
    caller = require_admin_of(request, svc.resources.subdomain(session(request), given))
    return ok(201, resource=render(await svc.resources.create(caller, given)))


@get("/resources/{resource_id:str}")
async def resource_detail(request: AnyRequest, resource_id: str) -> Response[bytes]:
    found = await services(request).resources.get(session(request), resource_id)
    return ok(resource=render(found))


@put("/resources/{resource_id:str}")
async def update_resource(request: AnyRequest, resource_id: str) -> Response[bytes]:
    caller = require_admin_of(request, resource_id.partition("@")[2])
    asked = await body(request, ResourceBody)
    changed = await services(request).resources.update(caller, resource_id, resource_input(asked))
    return ok(resource=render(changed))


@delete("/resources/{resource_id:str}", status_code=200)
async def delete_resource(request: AnyRequest, resource_id: str) -> Response[bytes]:
    caller = require_admin_of(request, resource_id.partition("@")[2])
    await services(request).resources.delete(caller, resource_id)
    return ok(deleted=resource_id.lower())


router = Router(
    path="/",
    route_handlers=[
        list_types,
        create_type,
        update_type,
        list_resources,
        create_resource,
        resource_detail,
        update_resource,
        delete_resource,
    ],
)
