"""`/resource-types` and `/resources`: the catalogue and the bookable things in it.

A resource is the resource account `name@<resource sub-domain>`; `capacity` and
`features` appear beside `customFields` as in the reference, and all three are checked
against the resource's type.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from litestar import Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.models import FieldSpec, Resource, ResourceCategory, ResourceType
from townhall.domain.principal import Principal
from townhall.domain.queries import ResourceQuery
from townhall.services.resources import ResourceInput, ResourceService

from .. import kit
from ..documents import Param, wire
from .http import PAGE_PARAMS, TIME, AnyRequest, body, ok, page, parse_time, server_admins
from .models import CategoryBody, CreateType, FieldBody, ResourceBody, UpdateType


class FieldWire(TypedDict):
    name: str
    type: str
    required: NotRequired[bool]
    options: NotRequired[list[str]]


class TypeWire(TypedDict):
    id: str
    name: str
    category: str
    fields: list[FieldWire]


class CategoryWire(TypedDict):
    id: str
    name: str
    icon: str | None


class ResourceWire(TypedDict):
    id: str
    name: str
    type: str
    category: str
    capacity: int | None
    features: list[str]
    customFields: dict[str, Any]
    active: bool


class TypesAndCategories(TypedDict):
    success: bool
    categories: list[CategoryWire]
    types: list[TypeWire]


class OneType(TypedDict):
    success: bool
    type: TypeWire


class Resources(TypedDict):
    success: bool
    resources: list[ResourceWire]
    total: int
    page: int
    pages: int


class OneResource(TypedDict):
    success: bool
    resource: ResourceWire


class DeletedResource(TypedDict):
    """What DELETE answers: the resource as it was (the reference shows no body; the
    object in the success envelope, as DELETE of bookings and events answer)."""

    success: bool
    resource: ResourceWire


def render_category(category: ResourceCategory) -> CategoryWire:
    return {"id": category.slug, "name": category.name, "icon": category.icon}


def render_type(kind: ResourceType) -> TypeWire:
    fields: list[FieldWire] = []
    for spec in kind.fields:
        field: FieldWire = {"name": spec.name, "type": spec.type}
        if spec.required:
            field["required"] = True
        if spec.options:
            field["options"] = list(spec.options)
        fields.append(field)
    return {"id": kind.slug, "name": kind.name, "category": kind.category, "fields": fields}


def render(resource: Resource) -> ResourceWire:
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


@get("/resource-types", opt=wire(answers={200: TypesAndCategories}))
async def list_types(
    resources: NamedDependency[ResourceService], principal: NamedDependency[Principal]
) -> Response[bytes]:
    categories, kinds = await resources.categories_and_types(principal)
    return ok(
        categories=[render_category(c) for c in categories],
        types=[render_type(kind) for kind in kinds],
    )


@post(
    "/resource-types",
    status_code=201,
    guards=[server_admins],
    opt=wire(CreateType, answers={201: OneType}),
)
async def create_type(
    request: AnyRequest,
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, CreateType)
    kind = ResourceType(asked.id, asked.name, asked.category, field_specs(asked.fields))
    made = await resources.create_type(principal, kind, category_list(asked.categories))
    return ok(201, type=render_type(made))


@put(
    "/resource-types/{type_id:str}",
    guards=[server_admins],
    opt=wire(UpdateType, answers={200: OneType}),
)
async def update_type(
    request: AnyRequest,
    type_id: FromPath[str],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, UpdateType)
    changed = await resources.update_type(
        principal,
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


@get(
    "/resources",
    opt=wire(
        params=(
            Param("type"),
            Param("category"),
            Param("minCapacity", int),
            Param("features", description="comma-separated; every one of them"),
            Param("available", bool, description="free now, or from startTime till endTime"),
            Param("startTime", TIME),
            Param("endTime", TIME),
            Param("search"),
            *PAGE_PARAMS,
        ),
        answers={200: Resources},
    ),
)
async def list_resources(
    request: AnyRequest,
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    query = request.query_params
    available = kit.boolean(query.get("available"), "available", False)
    free_from = parse_time(query.get("startTime"), "startTime", required=False)
    free_till = parse_time(query.get("endTime"), "endTime", required=False)
    if available and (free_from is None) != (free_till is None):
        raise kit.Malformed("endTime", "must be given with startTime (give both or neither)")
    if available and free_from is None:
        free_from = free_till = resources.clock.now()
    where = ResourceQuery(
        type=query.get("type") or None,
        category=query.get("category") or None,
        min_capacity=kit.integer(query.get("minCapacity"), "minCapacity", 0, 0, 1_000_000) or None,
        features=tuple(kit.str_list(query.get("features"))),
        free_from=free_from if available else None,
        free_till=free_till if available else None,
        text=query.get("search") or None,
    )
    asked = page(request)
    shown, total = await resources.list(principal, where, asked.offset, asked.limit)
    return ok(resources=[render(r) for r in shown], **asked.answer(total))


@post("/resources", status_code=201, opt=wire(ResourceBody, answers={201: OneResource}))
async def create_resource(
    request: AnyRequest,
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, ResourceBody)
    return ok(201, resource=render(await resources.create(principal, resource_input(asked))))


@get("/resources/{resource_id:str}", opt=wire(answers={200: OneResource}))
async def resource_detail(
    resource_id: FromPath[str],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    return ok(resource=render(await resources.get(principal, resource_id)))


@put("/resources/{resource_id:str}", opt=wire(ResourceBody, answers={200: OneResource}))
async def update_resource(
    request: AnyRequest,
    resource_id: FromPath[str],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    asked = await body(request, ResourceBody)
    changed = await resources.update(principal, resource_id, resource_input(asked))
    return ok(resource=render(changed))


@delete(
    "/resources/{resource_id:str}",
    status_code=200,
    opt=wire(answers={200: DeletedResource}),
)
async def delete_resource(
    resource_id: FromPath[str],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[bytes]:
    gone = await resources.delete(principal, resource_id)
    return ok(resource=render(gone))


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
