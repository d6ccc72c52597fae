"""Bookable resources, their types and categories.

A type's fields are the schema its resources' values are checked against, so a
resource never holds a capacity that is not a number or a feature its type does not
offer. `capacity` and `features` are columns as well as fields, so "rooms for 8 with a
projector" is answered by an index, not by reading every resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from townhall.domain import names
from townhall.domain.errors import AlreadyExists, Conflict, Forbidden, Invalid, NotFound
from townhall.domain.models import (
    FIELD_TYPES,
    FieldSpec,
    Resource,
    ResourceCategory,
    ResourceType,
)
from townhall.domain.principal import Principal
from townhall.domain.queries import ResourceQuery
from townhall.services import limits
from townhall.services.base import Deps, Service
from townhall.services.bookings import BookingService
from townhall.services.cached import cached
from townhall.store import resources as store
from townhall.store.database import Tx, UniqueViolation

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
COLUMNS = ("capacity", "features")
"""Fields kept in their own columns as well as among the values."""
CUSTOM_FIELDS = "custom_fields"
"""Where a refusal of any other value points: `custom_fields.<name>`."""
MAX_CAPACITY = 1_000_000
"""People a resource may hold: far beyond any room, well inside its integer column."""


@dataclass(frozen=True, slots=True)
class ResourceInput:
    """What a client gives for a resource; None leaves a field as it is on update."""

    name: str | None = None
    type: str | None = None
    category: str | None = None
    values: dict[str, Any] | None = None
    account: str | None = None
    domain: str | None = None
    active: bool | None = None


@dataclass(frozen=True, slots=True)
class NewResource:
    """A resource checked against its type and ready to insert."""

    account: str
    domain: str
    display_name: str
    type: str
    category: str
    active: bool
    values: dict[str, Any]

    @property
    def address(self) -> str:
        return f"{self.account}@{self.domain}"


def slug(text: str) -> str:
    """`Conference Room 01` → `conference-room-01`."""
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")[:100]


class ResourceService(Service):
    def __init__(self, deps: Deps, bookings: BookingService) -> None:
        super().__init__(deps)
        self._bookings = bookings

    async def categories_and_types(
        self, actor: Principal
    ) -> tuple[list[ResourceCategory], list[ResourceType]]:
        async with self.db.read() as tx:
            categories = await store.categories(tx, actor.tenant_id)
            return categories, await store.types(tx, actor.tenant_id)

    async def create_type(
        self, actor: Principal, kind: ResourceType, categories: tuple[ResourceCategory, ...] = ()
    ) -> ResourceType:
        kind = checked_type(kind)
        async with self.change(actor, "resource.type.created", kind.slug) as tx:
            await self.add_type(tx, actor, kind, categories)
        return kind

    async def add_type(
        self, tx: Tx, actor: Principal, kind: ResourceType, categories: tuple[ResourceCategory, ...]
    ) -> None:
        """Store a type (checked here too) inside the caller's write transaction, so a
        bulk import makes its types and resources all or not at all; the caller audits."""
        kind = checked_type(kind)
        await self._categories(tx, actor, kind.category, categories)
        try:
            await store.insert_type(tx, actor.tenant_id, kind)
        except UniqueViolation:
            raise AlreadyExists("resource_type", kind.slug) from None

    async def update_type(
        self,
        actor: Principal,
        type_id: str,
        name: str | None,
        category: str | None,
        fields: tuple[FieldSpec, ...] | None,
        categories: tuple[ResourceCategory, ...] = (),
    ) -> ResourceType:
        async with self.change(actor, "resource.type.updated", type_id) as tx:
            old = await store.find_type(tx, actor.tenant_id, type_id)
            if old is None:
                raise NotFound("resource_type", type_id)
            new = checked_type(
                ResourceType(
                    old.slug,
                    name if name is not None else old.name,
                    category if category is not None else old.category,
                    fields if fields is not None else old.fields,
                )
            )
            await self._categories(tx, actor, new.category, categories)
            if fields is not None:
                await _still_fit(tx, actor, new)
            await store.update_type(tx, actor.tenant_id, new, old.category)
        return new

    async def delete_type(self, actor: Principal, type_id: str) -> None:
        """Only a type no resource is of: a resource never outlives its type's schema
        (delete or move its resources first)."""
        async with self.change(actor, "resource.type.deleted", type_id) as tx:
            # Locked first, so a resource of the type written meanwhile is either
            # committed before the count below or finds the type gone.
            if await store.find_type(tx, actor.tenant_id, type_id, lock="update") is None:
                raise NotFound("resource_type", type_id)
            used = await store.search(tx, actor.tenant_id, ResourceQuery(type=type_id))
            if used:
                shown = ", ".join(r.address for r in used[:3]) + (", ..." if len(used) > 3 else "")
                detail = f"{len(used)} resource(s) are of this type: {shown}"
                raise Conflict("resource_type", type_id, detail)
            await store.delete_type(tx, actor.tenant_id, type_id)

    async def create(self, actor: Principal, given: ResourceInput) -> Resource:
        """For admins of the sub-domain the resource goes into (or of a domain above)."""
        may_administer(actor, self.subdomain(actor, given))
        if not given.name or not given.name.strip():
            raise Invalid("name", "must not be empty")
        if not given.type:
            raise Invalid("type", "is required")
        async with self.unit(actor) as work:
            kind = await self._type(work, actor, given.type)
            new = self.checked(actor, kind, given)
            await self.insert(work, actor, new, self.clock.now())
            work.record("resource.created", new.address, changed_data(new.address))
            created = await store.find(work, actor.tenant_id, new.address)
        assert created is not None
        return created

    def checked(self, actor: Principal, kind: ResourceType, given: ResourceInput) -> NewResource:
        """A new resource checked against its type (`kind`, read by the caller), with its
        account and sub-domain settled; nothing is read or written, so a bulk creation
        can check every resource before it writes one."""
        if not given.name or not given.name.strip():
            raise Invalid("name", "must not be empty")
        account = names.node(given.account or slug(given.name), "id")
        values = check_values(kind, given.values or {})
        return NewResource(
            account=account,
            domain=self.subdomain(actor, replace(given, type=kind.slug)),
            display_name=given.name.strip(),
            type=kind.slug,
            category=given.category or kind.category,
            active=True if given.active is None else given.active,
            values=values,
        )

    async def insert(self, tx: Tx, actor: Principal, new: NewResource, now: datetime) -> int:
        """Write a checked resource (and its sub-domain on first use) inside the caller's
        write transaction and answer its row id; the caller audits and publishes.
        The tenant's plan limit on resources holds here, the one place resources are
        written (services/limits.py)."""
        await limits.hold(tx, actor.tenant_id, "resources")
        domain_id = await store.resource_domain(
            tx, actor.tenant_id, new.domain, actor.tenant.domain, now
        )
        if domain_id < 0:
            raise Invalid("domain", f"{new.domain} is not a resource sub-domain of this tenant")
        try:
            return await store.insert_resource(
                tx,
                tenant_id=actor.tenant_id,
                domain_id=domain_id,
                name=new.account,
                display_name=new.display_name,
                type=new.type,
                category=new.category,
                active=new.active,
                created_at=now,
                updated_at=now,
                **_columns(new.values),
            )
        except UniqueViolation:
            raise AlreadyExists("resource", new.address) from None

    def subdomain(self, actor: Principal, given: ResourceInput) -> str:
        """Where a new resource goes: the sub-domain named, else `<type>.resources.<domain>`."""
        if given.domain:
            return names.domain(given.domain, "domain")
        return f"{given.type}.resources.{actor.tenant.domain}"

    @cached("resource", lambda actor, address: address, Resource)
    async def get(self, actor: Principal, address: str) -> Resource:
        async with self.db.read() as tx:
            found = await store.find(tx, actor.tenant_id, address)
        if found is None:
            raise NotFound("resource", address)
        return found

    async def update(self, actor: Principal, address: str, given: ResourceInput) -> Resource:
        """Merge the values given into the resource as it is when the change is made (its
        row read under a lock), so concurrent updates never lose one another's fields.
        For admins of the resource's domain."""
        may_administer(actor, address.rpartition("@")[2])
        async with self.unit(actor) as work:
            old = await self._lock(work, actor, address)
            kind = await self._type(work, actor, given.type or old.type)
            values = check_values(kind, {**_values_of(old), **(given.values or {})})
            if given.name is not None and not given.name.strip():
                raise Invalid("name", "must not be empty")
            new = replace(
                old,
                display_name=(given.name or old.display_name).strip(),
                type=kind.slug,
                category=given.category or old.category,
                active=old.active if given.active is None else given.active,
                **_fields(values),
            )
            if new == old:
                return old
            new = replace(new, updated_at=self.clock.now())
            await store.update_resource(
                work,
                old.id,
                display_name=new.display_name,
                type=new.type,
                category=new.category,
                active=new.active,
                updated_at=new.updated_at,
                **_columns(values),
            )
            work.record("resource.updated", old.address, changed_data(old.address))
        return new

    async def delete(self, actor: Principal, address: str) -> Resource:
        """For admins of the resource's domain; its calendar and bookings go with it.
        Bookings that have not ended are cancelled first, as a cancel does (an event
        each, and a cancellation to their attendees), in the same unit of work: nobody
        keeps waiting for a meeting in a room that no longer exists. Returns the
        resource as it was, so the caller can show what went."""
        may_administer(actor, address.rpartition("@")[2])
        async with self.unit(actor) as work:
            old = await self._lock(work, actor, address)
            cancelled = await self._bookings.cancel_all_of(work, old.id)
            await store.delete_resource(work, old.id)
            work.record("resource.deleted", old.address, changed_data(old.address))
        await self._bookings.send_cancellations(cancelled)
        return old

    async def _lock(self, tx: Tx, actor: Principal, address: str) -> Resource:
        found = await store.find(tx, actor.tenant_id, address, lock=True)
        if found is None:
            raise NotFound("resource", address)
        return found

    async def search(self, actor: Principal, query: ResourceQuery) -> list[Resource]:
        """Every match (e.g. "rooms for 8 with a projector"), filtered by the database."""
        _check_query(query)
        async with self.db.read() as tx:
            return await store.search(tx, actor.tenant_id, query)

    async def list(
        self, actor: Principal, query: ResourceQuery, offset: int = 0, limit: int = 50
    ) -> tuple[list[Resource], int]:
        """One page of matches and how many match in all, both counted by the database
        (a listing never loads the tenant's every resource to show fifty). A short page
        that is not past the end already says the total, and spares the count."""
        _check_query(query)
        if offset < 0:
            raise Invalid("offset", "must not be negative")
        if limit < 1:
            raise Invalid("limit", "must be at least 1")
        async with self.db.read() as tx:
            found = await store.search(tx, actor.tenant_id, query, offset, limit)
            if len(found) < limit and (found or offset == 0):
                return found, offset + len(found)
            return found, await store.count(tx, actor.tenant_id, query)

    async def _type(self, tx: Tx, actor: Principal, type_id: str) -> ResourceType:
        """The type a resource being written is of, held until the commit (see
        `delete_type`)."""
        kind = await store.find_type(tx, actor.tenant_id, type_id, lock="share")
        if kind is None:
            raise NotFound("resource_type", type_id)
        return kind

    async def put_categories(
        self, tx: Tx, actor: Principal, given: tuple[ResourceCategory, ...]
    ) -> None:
        """Store (or rename) the categories given, inside the caller's transaction."""
        for category in given:
            await store.put_category(tx, actor.tenant_id, checked_category(category))

    async def _categories(
        self, tx: Tx, actor: Principal, used: str, given: tuple[ResourceCategory, ...]
    ) -> None:
        """Store the categories given; the one a type uses is made on first use."""
        await self.put_categories(tx, actor, given)
        if not await store.has_category(tx, actor.tenant_id, used):
            title = used.replace("-", " ").title()
            await store.put_category(tx, actor.tenant_id, ResourceCategory(used, title, None))


async def _still_fit(tx: Tx, actor: Principal, kind: ResourceType) -> None:
    """Refuse new fields the type's resources would break (a new required field, a
    dropped option still chosen), so no stored resource breaks its type's schema."""
    for resource in await store.search(tx, actor.tenant_id, ResourceQuery(type=kind.slug)):
        try:
            check_values(kind, _values_of(resource))
        except Invalid as exc:
            field = exc.field.removeprefix(f"{CUSTOM_FIELDS}.")
            detail = f"{resource.address} would not fit: its {field} {exc.reason}"
            raise Conflict("resource_type", kind.slug, detail) from None


def _check_query(query: ResourceQuery) -> None:
    # Equal times ask "free at that instant" (the dialect's `available` without times).
    if query.free_from and query.free_till and query.free_till < query.free_from:
        raise Invalid("end", "must not be before the start")


def checked_category(category: ResourceCategory) -> ResourceCategory:
    if not SLUG.match(category.slug):
        raise Invalid("categories.id", "must be lower-case letters, digits and -")
    if not category.name.strip():
        raise Invalid("categories.name", "must not be empty")
    return category


def checked_type(kind: ResourceType) -> ResourceType:
    if not SLUG.match(kind.slug):
        raise Invalid("id", "must be lower-case letters, digits and - (at most 100)")
    if not kind.name.strip():
        raise Invalid("name", "must not be empty")
    if not SLUG.match(kind.category):
        raise Invalid("category", "must be lower-case letters, digits and -")
    seen: set[str] = set()
    for index, spec in enumerate(kind.fields):
        where = f"fields[{index}]"
        if not spec.name.strip() or spec.name in seen:
            raise Invalid(f"{where}.name", "must be given and differ from the other fields'")
        seen.add(spec.name)
        if spec.type not in FIELD_TYPES:
            raise Invalid(f"{where}.type", f"must be one of {', '.join(FIELD_TYPES)}")
        if spec.type in ("select", "multiselect") and not spec.options:
            raise Invalid(f"{where}.options", f"must not be empty for a {spec.type} field")
    capacity = next((f for f in kind.fields if f.name == "capacity"), None)
    if capacity is not None and capacity.type != "number":
        raise Invalid("fields.capacity", "must be a number field")
    features = next((f for f in kind.fields if f.name == "features"), None)
    if features is not None and features.type != "multiselect":
        raise Invalid("fields.features", "must be a multiselect field")
    return replace(kind, name=kind.name.strip())


def check_values(kind: ResourceType, values: dict[str, Any]) -> dict[str, Any]:
    """`values` if they fit the type's fields; fields the type does not name may hold
    plain text, numbers or booleans (building, floor...)."""
    specs = {spec.name: spec for spec in kind.fields}
    for spec in kind.fields:
        if spec.required and values.get(spec.name) is None:
            raise Invalid(_where(spec.name), f"is required by type {kind.slug}")
    for key, value in values.items():
        known = specs.get(key)
        if value is None:
            continue
        if known is None:
            if not isinstance(value, str | int | float | bool):
                raise Invalid(_where(key), "must be text, a number or a boolean")
            continue
        _check_value(known, value)
    return {k: v for k, v in values.items() if v is not None}


def _check_value(spec: FieldSpec, value: Any) -> None:
    where = _where(spec.name)
    if spec.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(where, "must be a number")
        if spec.name == "capacity" and (
            not isinstance(value, int) or not 0 <= value <= MAX_CAPACITY
        ):
            raise Invalid(where, f"must be a whole number from 0 to {MAX_CAPACITY}")
    elif spec.type == "text":
        if not isinstance(value, str):
            raise Invalid(where, "must be text")
    elif spec.type == "select":
        if value not in spec.options:
            raise Invalid(where, f"must be one of {', '.join(spec.options)}")
    elif not isinstance(value, list) or any(v not in spec.options for v in value):
        raise Invalid(where, f"must be a list of {', '.join(spec.options)}")


def _where(name: str) -> str:
    """The field a value of `name` is refused as: a column's own name, else the custom
    field's under `custom_fields`."""
    return name if name in COLUMNS else f"{CUSTOM_FIELDS}.{name}"


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    features = values.get("features") or []
    return {
        "capacity": values.get("capacity"),
        "features": sorted(set(features)) if isinstance(features, list) else [],
        "custom_fields": {k: v for k, v in values.items() if k not in COLUMNS},
    }


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    """`values` as a Resource holds them: `_columns` as the model's types."""
    columns = _columns(values)
    return {
        "capacity": columns["capacity"],
        "features": tuple(columns["features"]),
        "custom_fields": columns["custom_fields"],
    }


def _values_of(resource: Resource) -> dict[str, Any]:
    values: dict[str, Any] = dict(resource.custom_fields)
    if resource.capacity is not None:
        values["capacity"] = resource.capacity
    if resource.features:
        values["features"] = list(resource.features)
    return values


def changed_data(address: str) -> dict[str, object]:
    """What a resource event tells listeners (the tenant's WebSocket clients, for one)."""
    return {"address": address, "domain": address.partition("@")[2]}


def may_administer(actor: Principal, domain: str) -> None:
    """Resources are changed by the admins of their domain (or of a domain above)."""
    if not actor.administers(domain):
        raise Forbidden("domain", domain, f"Only an administrator of {domain} may do this")
