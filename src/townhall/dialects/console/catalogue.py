"""Resource types (create, edit, delete) and resources (create, delete), through the
resource service as the RMP API's `/resource-types` and `/resources` routes use it: the
same checks (a type's fields, a resource's values against its type), audited and
published. Types are the server admin's, as in RMP; resources any admin's of their
domain (the service's rule).

A type's fields are written one a line: `name type [required] [options=a|b]`, e.g.
`capacity number required` or `floor select options=1st|2nd`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.dialects import kit
from townhall.domain.errors import DomainError
from townhall.domain.models import FIELD_TYPES, FieldSpec, ResourceType
from townhall.domain.principal import Principal
from townhall.services.resources import ResourceInput, ResourceService

from . import web
from .bookings import resources_context
from .forms import Form, posted, query

MAX_FIELDS = 100


def fields_text(kind: ResourceType) -> str:
    """A type's fields as the form writes them."""
    lines = []
    for spec in kind.fields:
        words = [spec.name, spec.type]
        if spec.required:
            words.append("required")
        if spec.options:
            words.append("options=" + "|".join(spec.options))
        lines.append(" ".join(words))
    return "\n".join(lines)


def read_fields(text: str) -> tuple[FieldSpec, ...]:
    """The form's fields, refused naming `fields` and the line."""
    specs = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_FIELDS:
        raise kit.Malformed("fields", f"must be at most {MAX_FIELDS} lines")
    for number, line in enumerate(lines, start=1):
        words = line.split()
        name, kind = words[0], words[1] if len(words) > 1 else "text"
        required = False
        options: tuple[str, ...] = ()
        for word in words[2:]:
            if word == "required":
                required = True
            elif word.startswith("options="):
                options = tuple(o for o in word.removeprefix("options=").split("|") if o)
            else:
                raise kit.Malformed("fields", f"line {number}: {word!r} is not understood")
        if kind not in FIELD_TYPES:
            raise kit.Malformed(
                "fields", f"line {number}: the type must be one of {', '.join(FIELD_TYPES)}"
            )
        specs.append(FieldSpec(name, kind, required, options))
    return tuple(specs)


def _values(form: Form) -> dict[str, Any]:
    """Capacity, and other fields as `name=value` lines (numbers and true/false read as
    such, anything else as text)."""
    values: dict[str, Any] = {}
    capacity = form.text("capacity", limit=12)
    if capacity:
        values["capacity"] = kit.integer(capacity, "capacity", 0, 0, 1_000_000)
    for number, line in enumerate(form.text("values", limit=16_000).splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, raw = line.partition("=")
        if not sep or not name.strip():
            raise kit.Malformed("values", f"line {number} must be name=value")
        value: Any = raw.strip()
        if value in ("true", "false"):
            value = value == "true"
        elif value.lstrip("-").isdigit():
            value = int(value)
        values[name.strip()] = value
    return values


async def _resources_page(
    request: Request[Any, Any, Any], exc: DomainError, form: Form, section: str
) -> Response[Any]:
    context = await resources_context(request, query(request))
    context.update({"error": web.message(exc), section: form.values})
    return web.render(request, "resources.html", context, web.status(exc))


@post("/resources/types", status_code=303, guards=[web.server_admins_only])
async def create_type(
    request: Request[Any, Any, Any],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)
    try:
        kind = ResourceType(
            form.required("id", 100),
            form.required("name", 255),
            form.text("category", limit=100) or "meeting-resources",
            read_fields(form.text("fields", limit=16_000)),
        )
        made = await resources.create_type(principal, kind)
    except DomainError as exc:
        return await _resources_page(request, exc, form, "type_form")
    return web.go(f"{web.BASE}/resources?notice={quote('Type created: ' + made.slug)}#types-h")


def _type_at(slug: str) -> str:
    return f"{web.BASE}/resources/types/{quote(slug, safe='')}"


@get("/resources/types/{slug:str}", guards=[web.server_admins_only])
async def type_page(
    request: Request[Any, Any, Any],
    slug: FromPath[str],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    categories, types = await resources.categories_and_types(principal)
    kind = next((t for t in types if t.slug == slug), None)
    if kind is None:
        return web.render(request, "error.html", {"message": f"No resource type {slug}."}, 404)
    form = {"name": kind.name, "category": kind.category, "fields": fields_text(kind)}
    context = {
        "kind": kind,
        "form": form,
        "categories": categories,
        "notice": query(request).text("notice", limit=200),
    }
    return web.render(request, "type.html", context)


@post("/resources/types/{slug:str}", status_code=303, guards=[web.server_admins_only])
async def edit_type(
    request: Request[Any, Any, Any],
    slug: FromPath[str],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)
    try:
        await resources.update_type(
            principal,
            slug,
            form.required("name", 255),
            form.required("category", 100),
            read_fields(form.text("fields", limit=16_000)),
        )
    except DomainError as exc:
        return await _type_refused(request, resources, principal, slug, exc, form.values)
    return web.go(_type_at(slug) + "?notice=Saved.")


async def _type_refused(
    request: Request[Any, Any, Any],
    resources: ResourceService,
    principal: Principal,
    slug: str,
    exc: DomainError,
    form: dict[str, str] | None = None,
) -> Response[Any]:
    categories, types = await resources.categories_and_types(principal)
    kind = next((t for t in types if t.slug == slug), None)
    if kind is None:
        return web.render(request, "error.html", {"message": web.message(exc)}, web.status(exc))
    shown = form or {"name": kind.name, "category": kind.category, "fields": fields_text(kind)}
    context = {"kind": kind, "form": shown, "categories": categories, "error": web.message(exc)}
    return web.render(request, "type.html", context, web.status(exc))


@post("/resources/types/{slug:str}/delete", status_code=303, guards=[web.server_admins_only])
async def delete_type(
    request: Request[Any, Any, Any],
    slug: FromPath[str],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    try:
        await resources.delete_type(principal, slug)
    except DomainError as exc:
        return await _type_refused(request, resources, principal, slug, exc)
    return web.go(f"{web.BASE}/resources?notice={quote('Type deleted: ' + slug)}")


@post("/resources", status_code=303)
async def create_resource(
    request: Request[Any, Any, Any],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    form = await posted(request)
    try:
        made = await resources.create(
            principal,
            ResourceInput(
                name=form.required("name", 255),
                type=form.required("type", 100),
                account=form.text("account", limit=255) or None,
                values=_values(form),
            ),
        )
    except DomainError as exc:
        return await _resources_page(request, exc, form, "resource_form")
    notice = quote(f"Created: {made.display_name}")
    return web.go(f"{web.BASE}/resources/{quote(made.address, safe='@')}?notice={notice}")


@post("/resources/{address:str}/delete", status_code=303)
async def delete_resource(
    request: Request[Any, Any, Any],
    address: FromPath[str],
    resources: NamedDependency[ResourceService],
    principal: NamedDependency[Principal],
) -> Response[Any]:
    try:
        gone = await resources.delete(principal, address)
    except DomainError as exc:
        return web.render(request, "error.html", {"message": web.message(exc)}, web.status(exc))
    return web.go(f"{web.BASE}/resources?notice={quote('Deleted: ' + gone.display_name)}")


ROUTES = [create_type, type_page, edit_type, delete_type, create_resource, delete_resource]
