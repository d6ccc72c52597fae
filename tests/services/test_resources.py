"""Resource types, categories and resources through the service, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from tests.conftest import unique
from townhall.domain.errors import AlreadyExists, Conflict, Forbidden, Invalid, NotFound
from townhall.domain.events import DomainEvent
from townhall.domain.models import FieldSpec, ResourceCategory, ResourceType
from townhall.domain.principal import Principal
from townhall.domain.queries import ResourceQuery
from townhall.services.container import Services
from townhall.services.resources import ResourceInput
from townhall.store import audit
from townhall.store.schema import bookings, calendars, domains, resources

DOMAIN = "example.org"
ROOM_FIELDS = (
    FieldSpec("capacity", "number", required=True),
    FieldSpec("features", "multiselect", options=("projector", "whiteboard", "video")),
    FieldSpec("floor", "select", options=("1st", "2nd", "3rd")),
    FieldSpec("building", "text"),
)


async def _actor(services: Services) -> Principal:
    """A server admin: resources are changed by the admins of their domains."""
    return Principal.system(await services.tenants.first(), "tester")


async def _audit_count(services: Services, actor: Principal) -> int:
    async with services.deps.db.read() as tx:
        return await audit.count(tx, actor.tenant_id)


async def _room_type(
    services: Services, actor: Principal, category: str = "meeting-resources"
) -> str:
    slug = unique("room")
    await services.resources.create_type(
        actor, ResourceType(slug, "Meeting room", category, ROOM_FIELDS)
    )
    return slug


async def _room(services: Services, actor: Principal, kind: str, name: str, **values: Any) -> Any:
    given = ResourceInput(name=name, type=kind, values={"capacity": 8, **values})
    return await services.resources.create(actor, given)


async def _count(services: Services, table: Any, *where: Any) -> int:
    async with services.deps.db.read() as tx:
        query = select(func.count()).select_from(table).where(*where)
        return int((await tx.execute(query)).scalar_one())


def _field_of(excinfo: pytest.ExceptionInfo[Invalid]) -> str:
    return excinfo.value.field


# --- types and categories ------------------------------------------------------------


async def test_type_is_listed_with_its_category_made_on_first_use(services: Services) -> None:
    actor = await _actor(services)
    category = unique("cat")
    slug = await _room_type(services, actor, category)
    categories, kinds = await services.resources.categories_and_types(actor)
    made = next(c for c in categories if c.slug == category)
    assert made.name == category.replace("-", " ").title() and made.icon is None
    listed = next(k for k in kinds if k.slug == slug)
    assert listed.category == category and listed.fields == ROOM_FIELDS


async def test_categories_given_with_a_type_are_stored(services: Services) -> None:
    actor = await _actor(services)
    category = unique("equip")
    given = (ResourceCategory(category, "Equipment", "bi-laptop"),)
    kind = ResourceType(unique("laptop"), "Laptop", category, (FieldSpec("os", "text"),))
    await services.resources.create_type(actor, kind, given)
    categories, _ = await services.resources.categories_and_types(actor)
    assert ResourceCategory(category, "Equipment", "bi-laptop") in categories


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ((FieldSpec("a", "text"), FieldSpec("b", "colour")), "fields[1].type"),
        ((FieldSpec("a", "text"), FieldSpec("a", "number")), "fields[1].name"),
        ((FieldSpec(" ", "text"),), "fields[0].name"),
        ((FieldSpec("a", "text"), FieldSpec("b", "select")), "fields[1].options"),
        ((FieldSpec("m", "multiselect"),), "fields[0].options"),
    ],
)
async def test_bad_field_specs_are_refused_naming_the_field(
    services: Services, fields: tuple[FieldSpec, ...], field: str
) -> None:
    actor = await _actor(services)
    before = await _audit_count(services, actor)
    slug = unique("bad")
    with pytest.raises(Invalid) as refused:
        await services.resources.create_type(actor, ResourceType(slug, "Bad", "misc", fields))
    assert _field_of(refused) == field
    _, kinds = await services.resources.categories_and_types(actor)
    assert slug not in [k.slug for k in kinds]
    assert await _audit_count(services, actor) == before


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        (ResourceType("Not A Slug", "x", "misc", ()), "id"),
        (ResourceType("ok-slug", " ", "misc", ()), "name"),
        (ResourceType("ok-slug", "x", "Bad Category", ()), "category"),
    ],
)
async def test_bad_type_ids_names_and_categories_are_refused(
    services: Services, kind: ResourceType, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        await services.resources.create_type(await _actor(services), kind)
    assert _field_of(refused) == field


async def test_a_type_id_is_taken_once(services: Services) -> None:
    actor = await _actor(services)
    slug = await _room_type(services, actor)
    with pytest.raises(AlreadyExists):
        await services.resources.create_type(actor, ResourceType(slug, "Again", "misc", ()))


async def test_update_type_changes_only_what_is_given(services: Services) -> None:
    actor = await _actor(services)
    slug = await _room_type(services, actor)
    room = await _room(services, actor, slug, "Category follower")
    moved = unique("moved")
    changed = await services.resources.update_type(actor, slug, None, moved, None)
    assert (changed.name, changed.category, changed.fields) == ("Meeting room", moved, ROOM_FIELDS)
    assert (await services.resources.get(actor, room.address)).category == moved
    renamed = await services.resources.update_type(actor, slug, "Board room", None, None)
    assert (renamed.name, renamed.category) == ("Board room", moved)
    with pytest.raises(Invalid) as refused:
        await services.resources.update_type(actor, slug, None, None, (FieldSpec("x", "date"),))
    assert _field_of(refused) == "fields[0].type"
    with pytest.raises(NotFound):
        await services.resources.update_type(actor, unique("nope"), "x", None, None)


# --- resources -----------------------------------------------------------------------


async def test_create_makes_account_subdomain_and_calendar(services: Services) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    heard: list[DomainEvent] = []
    services.deps.events.subscribe(heard.append)
    sub = f"{kind}.resources.{DOMAIN}"
    assert await _count(services, domains, domains.c.name == sub) == 0
    room = await _room(
        services, actor, kind, "Conference Room 01", features=["projector"], floor="3rd"
    )
    assert room.address == f"conference-room-01@{sub}"
    assert (room.display_name, room.type, room.category) == (
        "Conference Room 01",
        kind,
        "meeting-resources",
    )
    assert (room.capacity, room.features) == (8, ("projector",))
    assert room.custom_fields == {"floor": "3rd"}
    async with services.deps.db.read() as tx:
        made = (await tx.execute(select(domains).where(domains.c.name == sub))).one()
        primary = (await tx.execute(select(domains.c.id).where(domains.c.name == DOMAIN))).one()
    assert (made.kind, made.parent_id) == ("resource-subdomain", primary.id)
    assert await _count(services, calendars, calendars.c.owner_resource_id == room.id) == 1
    assert [(e.topic, e.subject) for e in heard if e.topic.startswith("resource.")] == [
        ("resource.created", room.address)
    ]
    second = await _room(services, actor, kind, "Conference Room 02")
    assert second.domain == sub
    assert await _count(services, domains, domains.c.name == sub) == 1


async def test_account_and_domain_can_be_chosen(services: Services) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    sub = f"{unique('confroom')}.resources.{DOMAIN}"
    room = await services.resources.create(
        actor,
        ResourceInput(
            name="Room one", type=kind, values={"capacity": 4}, account="room-01", domain=sub
        ),
    )
    assert room.address == f"room-01@{sub}"
    with pytest.raises(AlreadyExists):
        await services.resources.create(
            actor,
            ResourceInput(
                name="Again", type=kind, values={"capacity": 4}, account="room-01", domain=sub
            ),
        )


@pytest.mark.parametrize(
    "domain", [DOMAIN, "nothere.example.com", "a.b.resources.example.org", "x.resources.nope.test"]
)
async def test_a_resource_domain_must_be_a_resource_subdomain_of_the_tenant(
    services: Services, domain: str
) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    given = ResourceInput(name="Stray", type=kind, values={"capacity": 1}, domain=domain)
    with pytest.raises(Invalid) as refused:
        await services.resources.create(actor, given)
    assert _field_of(refused) == "domain"
    assert await _count(services, domains, domains.c.name == domain.lower()) <= 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "capacity"),
        ({"capacity": "8"}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"capacity": 8, "floor": "9th"}, "custom_fields.floor"),
        ({"capacity": 8, "building": 7}, "custom_fields.building"),
        ({"capacity": 8, "features": ["projector", "laser"]}, "features"),
        ({"capacity": 8, "features": "projector"}, "features"),
    ],
)
async def test_bad_custom_fields_are_refused_and_nothing_is_stored(
    services: Services, values: dict[str, Any], field: str
) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    before = await _audit_count(services, actor)
    given = ResourceInput(name="Broken room", type=kind, values=values)
    with pytest.raises(Invalid) as refused:
        await services.resources.create(actor, given)
    assert _field_of(refused) in (field, f"custom_fields.{field}")
    assert await _count(services, resources, resources.c.type == kind) == 0
    assert await _count(services, domains, domains.c.name == f"{kind}.resources.{DOMAIN}") == 0
    assert await _audit_count(services, actor) == before


async def test_name_and_type_are_required(services: Services) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    with pytest.raises(Invalid) as no_name:
        await services.resources.create(actor, ResourceInput(name=" ", type=kind))
    assert _field_of(no_name) == "name"
    with pytest.raises(Invalid) as no_type:
        await services.resources.create(actor, ResourceInput(name="Room"))
    assert _field_of(no_type) == "type"
    with pytest.raises(NotFound):
        await services.resources.create(actor, ResourceInput(name="Room", type=unique("nope")))


async def test_update_merges_and_revalidates(services: Services) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    room = await _room(services, actor, kind, "Huddle", features=["video"], floor="1st")
    changed = await services.resources.update(
        actor, room.address.upper(), ResourceInput(name="Huddle 2", values={"capacity": 12})
    )
    assert (changed.address, changed.display_name, changed.capacity) == (
        room.address,
        "Huddle 2",
        12,
    )
    assert (changed.features, changed.custom_fields) == (("video",), {"floor": "1st"})
    with pytest.raises(Invalid) as refused:
        await services.resources.update(
            actor, room.address, ResourceInput(name="Never", values={"floor": "basement"})
        )
    assert _field_of(refused) == "custom_fields.floor"
    kept = await services.resources.get(actor, room.address)
    assert (kept.display_name, kept.custom_fields) == ("Huddle 2", {"floor": "1st"})


async def _book_hour(services: Services, actor: Any, resource_id: int, start: datetime) -> None:
    """A confirmed one-hour booking row, written straight to the table."""
    async with services.deps.db.write() as tx:
        await tx.execute(
            insert(bookings).values(
                id=f"RMP-{resource_id}-{start:%Y%m%d%H}",
                tenant_id=actor.tenant_id,
                resource_id=resource_id,
                organizer="someone@example.org",
                title="Seeded",
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                status="confirmed",
                attendees=[],
                services=[],
                created_at=start,
                updated_at=start,
            )
        )


async def test_delete_takes_the_calendar_and_bookings_along(services: Services) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    room = await _room(services, actor, kind, "Doomed")
    start = datetime(2031, 5, 1, 9, tzinfo=UTC)
    await _book_hour(services, actor, room.id, start)
    await services.resources.delete(actor, room.address)
    with pytest.raises(NotFound):
        await services.resources.get(actor, room.address)
    assert await _count(services, calendars, calendars.c.owner_resource_id == room.id) == 0
    assert await _count(services, bookings, bookings.c.resource_id == room.id) == 0
    with pytest.raises(NotFound):
        await services.resources.delete(actor, room.address)


async def test_search_filters_by_type_category_capacity_and_features(services: Services) -> None:
    actor = await _actor(services)
    category = unique("search")
    kind = await _room_type(services, actor, category)
    other = await _room_type(services, actor, category)
    big = await _room(services, actor, kind, "A big", capacity=20, features=["projector", "video"])
    await _room(services, actor, kind, "B small", capacity=4, features=["projector"])
    plain = await _room(services, actor, kind, "C plain", capacity=10)
    elsewhere = await _room(services, actor, other, "D other", capacity=30, features=["projector"])

    async def names(**kw: Any) -> list[str]:
        found = await services.resources.search(actor, ResourceQuery(**kw))
        return [r.display_name for r in found]

    assert await names(type=kind) == ["A big", "B small", "C plain"]
    assert await names(category=category) == ["A big", "B small", "C plain", "D other"]
    assert await names(category=category, min_capacity=10) == ["A big", "C plain", "D other"]
    assert await names(category=category, min_capacity=8, features=("projector",)) == [
        "A big",
        "D other",
    ]
    assert await names(type=kind, features=("projector", "video")) == ["A big"]
    assert await names(type=kind, features=("whiteboard",)) == []
    assert await names(category=category, text="PLAIN") == ["C plain"]
    assert {big.address, plain.address, elsewhere.address} <= {
        r.address for r in await services.resources.search(actor, ResourceQuery())
    }


async def test_search_for_free_resources_skips_booked_ones(services: Services) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    busy = await _room(services, actor, kind, "Busy")
    await _room(services, actor, kind, "Free")
    start = datetime(2031, 6, 1, 9, tzinfo=UTC)
    await _book_hour(services, actor, busy.id, start)

    async def free(at: datetime, till: datetime) -> list[str]:
        query = ResourceQuery(type=kind, free_from=at, free_till=till)
        return [r.display_name for r in await services.resources.search(actor, query)]

    hour = timedelta(hours=1)
    assert await free(start, start + hour) == ["Free"]
    assert await free(start + hour, start + 2 * hour) == ["Busy", "Free"]  # half-open
    assert await free(start - hour, start) == ["Busy", "Free"]
    assert await free(start + hour / 2, start + hour / 2 + timedelta(seconds=1)) == ["Free"]
    assert await free(start, start) == ["Free"]  # at the instant it starts
    assert await free(start + hour, start + hour) == ["Busy", "Free"]  # the instant it ends


async def test_feature_match_is_exact_whatever_the_option_holds(services: Services) -> None:
    actor = await _actor(services)
    odd = 'odd", "projector'
    options = ("projector", odd, "pro%", "Projector")
    kind = unique("odd")
    fields = (FieldSpec("features", "multiselect", options=options),)
    await services.resources.create_type(actor, ResourceType(kind, "Odd", "misc", fields))
    for name, features in [("A", [odd]), ("B", ["projector"]), ("C", ["pro%"]), ("D", [])]:
        given = ResourceInput(name=name, type=kind, values={"features": features})
        await services.resources.create(actor, given)

    async def names(*features: str) -> list[str]:
        query = ResourceQuery(type=kind, features=features)
        return [r.display_name for r in await services.resources.search(actor, query)]

    assert await names("projector") == ["B"]
    assert await names(odd) == ["A"]
    assert await names("pro%") == ["C"]
    assert await names("Projector") == []
    assert await names("projector", "pro%") == []


async def test_list_pages_in_the_database(services: Services) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    made = [await _room(services, actor, kind, f"Room {n}", capacity=n) for n in range(5)]
    query = ResourceQuery(type=kind, min_capacity=1)
    page, total = await services.resources.list(actor, query, 2, 2)
    assert total == 4 and [r.address for r in page] == [made[3].address, made[4].address]
    assert await services.resources.list(actor, query, 4, 2) == ([], 4)
    with pytest.raises(Invalid) as refused:
        await services.resources.list(actor, query, 0, 0)
    assert _field_of(refused) == "limit"


async def test_new_fields_must_fit_the_resources_of_the_type(services: Services) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    room = await _room(services, actor, kind, "Fitting", floor="2nd")
    narrower = (*ROOM_FIELDS[:2], FieldSpec("floor", "select", options=("1st",)))
    with pytest.raises(Conflict) as refused:
        await services.resources.update_type(actor, kind, None, None, narrower)
    assert refused.value.detail == f"{room.address} would not fit: its floor must be one of 1st"
    required = (*ROOM_FIELDS, FieldSpec("wing", "text", required=True))
    with pytest.raises(Conflict):
        await services.resources.update_type(actor, kind, None, None, required)
    _, kinds = await services.resources.categories_and_types(actor)
    assert next(k for k in kinds if k.slug == kind).fields == ROOM_FIELDS
    wider = (*ROOM_FIELDS, FieldSpec("wing", "text"))
    assert (await services.resources.update_type(actor, kind, None, None, wider)).fields == wider


async def test_only_admins_of_its_domain_change_a_resource(services: Services) -> None:
    actor = await _actor(services)
    kind = await _room_type(services, actor)
    room = await _room(services, actor, kind, "Guarded")
    before = await _audit_count(services, actor)
    person = Principal(actor.tenant, "someone", user_id=-1)
    elsewhere = Principal(actor.tenant, "other", user_id=-2, admin_domains=("other.test",))
    for caller in (person, elsewhere):
        with pytest.raises(Forbidden):
            await services.resources.create(caller, ResourceInput(name="Mine", type=kind))
        with pytest.raises(Forbidden):
            await services.resources.update(caller, room.address, ResourceInput(name="Mine"))
        with pytest.raises(Forbidden):
            await services.resources.delete(caller, room.address)
    assert (await services.resources.get(person, room.address)).display_name == "Guarded"
    assert await _audit_count(services, actor) == before
    theirs = Principal(actor.tenant, "theirs", user_id=-3, admin_domains=(room.domain,))
    changed = await services.resources.update(theirs, room.address, ResourceInput(name="Theirs"))
    assert changed.display_name == "Theirs"
