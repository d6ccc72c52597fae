"""The resource catalogue in bulk: numbered creation, import and export.

Every bulk change is all or nothing: each resource (and, for an import, each type and
booking) is checked before one is written, every problem is reported with the row (or
number) that caused it, and the writes share one transaction. Each created thing is
audited and published as if it had been created alone, so WebSocket clients and caches
cannot tell a bulk creation from many single ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from townhall.domain.errors import Conflict, Forbidden, Invalid, NotFound
from townhall.domain.models import (
    BOOKING_STATUSES,
    Booking,
    Resource,
    ResourceCategory,
    ResourceType,
)
from townhall.domain.principal import Principal
from townhall.domain.queries import ResourceQuery
from townhall.services.base import Deps, Service, Work
from townhall.services.bookings import MAX_ID, MAX_TITLE, check_attendees, event_data
from townhall.services.progress import Progress
from townhall.services.resources import (
    NewResource,
    ResourceInput,
    ResourceService,
    changed_data,
    checked_category,
    checked_type,
    may_administer,
)
from townhall.store import bookings as booking_store
from townhall.store import calendars as calendar_store
from townhall.store import people as people_store
from townhall.store import resources as store
from townhall.store.bookings import ResourceRef
from townhall.store.database import ExclusionViolation, Tx
from townhall.store.resources import SUBDOMAIN

MAX_BULK = 1000
PLACEHOLDER = re.compile(r"\{(n{1,3})\}")
"""`{n}`, `{nn}`, `{nnn}`: the number, zero-padded to at least that many digits."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of one row: `row` counts from 1 within its `section`; a bulk
    creation's rows also carry the `number` the pattern was expanded with."""

    row: int
    field: str
    message: str
    section: str = "resources"
    number: int | None = None


class RowsInvalid(Invalid):
    """Some rows cannot be created; `errors` names every one (nothing was written).
    An Invalid naming the first row's field, so any dialect can still answer 400."""

    def __init__(self, errors: list[RowError]) -> None:
        first = errors[0]
        where = f"{first.section} row {first.row}"
        summary = f"{len(errors)} problem(s), the first in {where}: {first.message}"
        super().__init__(first.field, summary)
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True)
class ImportRow:
    row: int
    given: ResourceInput


@dataclass(frozen=True, slots=True)
class ImportBooking:
    """A booking as a file gives it; it keeps its id and times (a restored history)."""

    row: int
    id: str
    resource: str
    title: str
    starts_at: datetime
    ends_at: datetime
    status: str
    organizer: str
    attendees: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ImportFile:
    """What a dialect read from an import file; `malformed` are the rows it could not
    read at all, reported together with the rows the service refuses."""

    resources: list[ImportRow]
    types: list[tuple[int, ResourceType]] = field(default_factory=list)
    categories: list[tuple[int, ResourceCategory]] = field(default_factory=list)
    bookings: list[ImportBooking] = field(default_factory=list)
    malformed: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportResult:
    resources: list[str]
    types: list[str]
    bookings: list[str]
    dry_run: bool


@dataclass(frozen=True, slots=True)
class Export:
    """Everything an export holds."""

    categories: list[ResourceCategory]
    types: list[ResourceType]
    resources: list[Resource]
    bookings: list[Booking]


@dataclass(frozen=True, slots=True)
class _NewBooking:
    row: int
    booking: Booking
    organizer_id: int | None


@dataclass
class _Plan:
    """What an import will write, once every row has been checked."""

    categories: list[ResourceCategory] = field(default_factory=list)
    types: list[ResourceType] = field(default_factory=list)
    resources: list[NewResource] = field(default_factory=list)
    bookings: list[_NewBooking] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def result(self, dry_run: bool) -> ImportResult:
        return ImportResult(
            resources=[r.address for r in self.resources],
            types=[t.slug for t in self.types],
            bookings=[b.booking.id for b in self.bookings],
            dry_run=dry_run,
        )


def expand(text: str, number: int) -> str:
    """`Room {nn}` with 7 → `Room 07`; a number wider than the padding is kept whole."""
    return PLACEHOLDER.sub(lambda m: str(number).zfill(len(m.group(1))), text)


def _expanded(values: dict[str, Any] | None, number: int) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: expand(v, number) if isinstance(v, str) else v for k, v in values.items()}


def _check_bulk(pattern: str, start: int, count: int) -> None:
    if not pattern.strip():
        raise Invalid("pattern", "must not be empty")
    if not 1 <= count <= MAX_BULK:
        raise Invalid("count", f"must be between 1 and {MAX_BULK}")
    if start < 0:
        raise Invalid("start_number", "must not be negative")
    if count > 1 and not PLACEHOLDER.search(pattern):
        raise Invalid("pattern", "needs {n}, {nn} or {nnn} to name more than one")


class CatalogueService(Service):
    """For admins: a server admin works on the whole tenant's catalogue, a domain admin
    on the resources (and their bookings) under its domains."""

    def __init__(self, deps: Deps, resources: ResourceService) -> None:
        super().__init__(deps)
        self._resources = resources

    # --- bulk creation ---------------------------------------------------------------

    async def bulk_create(
        self, actor: Principal, template: ResourceInput, pattern: str, start: int, count: int
    ) -> list[str]:
        """`count` resources named by `pattern` from `start` on, all or none; answers
        their addresses. A taken name refuses the lot (AlreadyExists). For admins of the
        sub-domain they go into."""
        may_administer(actor, self._resources.subdomain(actor, template))
        _check_bulk(pattern, start, count)
        if not template.type:
            raise Invalid("type", "is required")
        async with self.db.read() as tx:
            kind = await store.find_type(tx, actor.tenant_id, template.type)
        if kind is None:
            raise NotFound("resource_type", template.type)
        planned = self._numbered(actor, kind, template, pattern, start, count)
        now = self.clock.now()
        async with self.unit(actor) as work:
            for new in planned:
                await self._resources.insert(work, actor, new, now)
                work.record("resource.created", new.address, changed_data(new.address))
        return [new.address for new in planned]

    def _numbered(
        self,
        actor: Principal,
        kind: ResourceType,
        template: ResourceInput,
        pattern: str,
        start: int,
        count: int,
    ) -> list[NewResource]:
        """Every numbered resource checked against the type, or RowsInvalid naming each
        failing number (and names that collide among themselves)."""
        planned: list[NewResource] = []
        errors: list[RowError] = []
        seen: dict[str, int] = {}
        for index, number in enumerate(range(start, start + count), start=1):
            given = replace(
                template,
                name=expand(pattern, number),
                values=_expanded(template.values, number),
            )
            try:
                new = self._resources.checked(actor, kind, given)
            except Invalid as exc:
                errors.append(RowError(index, exc.field, exc.reason, number=number))
                continue
            if new.address in seen:
                message = f"{new.address} is also number {seen[new.address]}'s id"
                errors.append(RowError(index, "pattern", message, number=number))
            seen.setdefault(new.address, number)
            planned.append(new)
        if errors:
            raise RowsInvalid(errors)
        return planned

    # --- export ------------------------------------------------------------------------

    async def export(self, actor: Principal, include_bookings: bool) -> Export:
        """The tenant's whole catalogue (every category and type, used or not, so an
        import recreates types that have no resources yet), its resources and, if
        asked, every booking, cancelled ones too. A domain admin's export holds only the
        resources (and their bookings) under its domains."""
        _may_work_in_bulk(actor)
        async with self.db.read() as tx:
            found = Export(
                categories=await store.categories(tx, actor.tenant_id),
                types=await store.types(tx, actor.tenant_id),
                resources=await store.search(tx, actor.tenant_id, ResourceQuery()),
                bookings=(
                    await booking_store.every(tx, actor.tenant_id) if include_bookings else []
                ),
            )
        if actor.is_server_admin:
            return found
        return replace(
            found,
            resources=[r for r in found.resources if actor.administers(r.domain)],
            bookings=[b for b in found.bookings if actor.administers(_domain_of(b.resource))],
        )

    # --- import --------------------------------------------------------------------------

    async def import_file(
        self,
        actor: Principal,
        given: ImportFile,
        dry_run: bool = False,
        progress: Progress | None = None,
        check_first: bool = False,
    ) -> ImportResult:
        """Check every row, then (unless `dry_run`) write it all in one transaction.

        A row outside the domains the actor administers, or a type to create by someone
        not a server admin, is Forbidden. A dry run reads only; a real one checks inside
        its write transaction, so what was checked is what is written.

        `check_first` (a job's import) checks every row in a read transaction before the
        write one: refusals are found, and progress told, while no write lock is held
        (SQLite has one writer), and the write transaction checks again as it writes.
        `progress` is told each row checked and written, and gives the event loop back
        between rows."""
        _may_work_in_bulk(actor)
        progress = progress or Progress()
        if dry_run or check_first:
            async with self.db.read() as tx:
                plan = await self._plan(tx, actor, given, progress)
            if dry_run:
                return plan.result(dry_run=True)
        try:
            async with self.unit(actor) as work:
                # Checked again but told once: after a check first, the count stays at
                # "checking: all" until the writing starts.
                again = Progress() if check_first else progress
                plan = await self._plan(work, actor, given, again)
                await self._write(work, actor, plan, progress)
        except ExclusionViolation:
            detail = "a booking overlaps one made while the import ran; nothing was imported"
            raise Conflict("booking", "", detail) from None
        return plan.result(dry_run=False)

    async def _plan(self, tx: Tx, actor: Principal, given: ImportFile, progress: Progress) -> _Plan:
        plan = _Plan(errors=list(given.malformed))
        rows = len(given.categories) + len(given.types)
        progress.begin("checking", rows + len(given.resources) + len(given.bookings))
        plan.categories = self._plan_categories(given, plan)
        known = await self._plan_types(tx, actor, given, plan)
        await progress.advance(rows)
        await self._plan_resources(tx, actor, given.resources, known, plan, progress)
        await self._plan_bookings(tx, actor, given.bookings, plan, progress)
        if plan.errors:
            raise RowsInvalid(plan.errors)
        return plan

    def _plan_categories(self, given: ImportFile, plan: _Plan) -> list[ResourceCategory]:
        found = []
        for row, category in given.categories:
            try:
                found.append(checked_category(category))
            except Invalid as exc:
                plan.errors.append(RowError(row, exc.field, exc.reason, "categories"))
        return found

    async def _plan_types(
        self,
        tx: Tx,
        actor: Principal,
        given: ImportFile,
        plan: _Plan,
    ) -> dict[str, ResourceType]:
        """The types rows may use: the stored ones (kept as they are) and the file's
        new ones, which are made."""
        known = {kind.slug: kind for kind in await store.types(tx, actor.tenant_id)}
        for row, kind in given.types:
            if kind.slug in known:
                continue
            if not actor.is_server_admin:
                raise Forbidden("resource_type", kind.slug, "only a server admin makes types")
            try:
                made = checked_type(kind)
            except Invalid as exc:
                plan.errors.append(RowError(row, exc.field, exc.reason, "types"))
                continue
            known[made.slug] = made
            plan.types.append(made)
        return known

    async def _plan_resources(
        self,
        tx: Tx,
        actor: Principal,
        rows: list[ImportRow],
        known: dict[str, ResourceType],
        plan: _Plan,
        progress: Progress,
    ) -> None:
        seen: dict[str, int] = {}
        holds: dict[str, bool] = {}
        for row in rows:
            await progress.advance()
            new = self._checked_row(actor, row, known, plan)
            if new is None:
                continue
            if not actor.administers(new.domain):
                raise Forbidden("resource", new.address, f"row {row.row}: not your domain")
            problem = await self._taken_or_bad(tx, actor, new, seen, holds)
            if problem is not None:
                plan.errors.append(RowError(row.row, *problem))
                continue
            seen[new.address] = row.row
            plan.resources.append(new)

    def _checked_row(
        self, actor: Principal, row: ImportRow, known: dict[str, ResourceType], plan: _Plan
    ) -> NewResource | None:
        kind = known.get(row.given.type or "")
        if kind is None:
            message = f"names no type of this tenant: {row.given.type}"
            message = message if row.given.type else "is required"
            plan.errors.append(RowError(row.row, "type", message))
            return None
        try:
            return self._resources.checked(actor, kind, row.given)
        except Invalid as exc:
            plan.errors.append(RowError(row.row, exc.field, exc.reason))
            return None

    async def _taken_or_bad(
        self,
        tx: Tx,
        actor: Principal,
        new: NewResource,
        seen: dict[str, int],
        holds: dict[str, bool],
    ) -> tuple[str, str] | None:
        """(field, message) if the resource's id is taken or its sub-domain impossible."""
        if new.address in seen:
            return "id", f"{new.address} is also row {seen[new.address]}'s id"
        if new.domain not in holds:
            holds[new.domain] = await store.can_hold_resources(
                tx, actor.tenant_id, new.domain, actor.tenant.domain
            )
        if not holds[new.domain]:
            return "domain", f"{new.domain} is not a resource sub-domain of this tenant"
        if await store.find(tx, actor.tenant_id, new.address) is not None:
            return "id", f"resource {new.address} already exists"
        return None

    async def _plan_bookings(
        self,
        tx: Tx,
        actor: Principal,
        rows: list[ImportBooking],
        plan: _Plan,
        progress: Progress,
    ) -> None:
        if not rows:
            return
        new_addresses = {r.address for r in plan.resources}
        others = [b.resource for b in rows if b.resource.lower() not in new_addresses]
        stored = {
            r.address: r for r in await booking_store.resource_refs(tx, actor.tenant_id, others)
        }
        taken = await booking_store.existing_ids(tx, [b.id for b in rows])
        seen: set[str] = set()
        now = self.clock.now()
        for row in rows:
            await progress.advance()
            address = row.resource.strip().lower()
            problem = _booking_problem(row, taken | seen)
            if problem is None and address not in new_addresses and address not in stored:
                problem = ("resource", f"{row.resource} is neither stored nor in the file")
            if problem is not None:
                plan.errors.append(RowError(row.row, *problem, section="bookings"))
                continue
            if not actor.administers(_domain_of(address)):
                raise Forbidden("booking", row.id, f"bookings row {row.row}: not your domain")
            seen.add(row.id)
            organizer_id = await self._organizer_id(tx, actor, row.organizer)
            plan.bookings.append(_NewBooking(row.row, _booking(row, address, now), organizer_id))
        await self._overlaps(tx, plan, stored)

    async def _organizer_id(self, tx: Tx, actor: Principal, email: str) -> int | None:
        """The organizer's user, if it is a person of this tenant (else the booking keeps
        only the address, as one whose organizer was deleted does)."""
        local, _, domain = email.strip().lower().rpartition("@")
        kind = await calendar_store.domain_kind(tx, actor.tenant_id, domain)
        if not local or kind is None or kind == SUBDOMAIN:
            return None
        return await people_store.find_id(tx, actor.tenant_id, local)

    async def _overlaps(self, tx: Tx, plan: _Plan, stored: dict[str, ResourceRef]) -> None:
        """Live bookings may not overlap each other, nor the stored ones of a resource."""
        rows = {b.booking.id: b.row for b in plan.bookings}
        live = sorted(
            (b.booking for b in plan.bookings if b.booking.status != "cancelled"),
            key=lambda b: (b.resource, b.starts_at),
        )
        previous: Booking | None = None
        for booking in live:
            if previous and previous.resource == booking.resource:
                if booking.starts_at < previous.ends_at:
                    message = f"overlaps booking {previous.id} of the same resource"
                    plan.errors.append(RowError(rows[booking.id], "start", message, "bookings"))
                if booking.ends_at <= previous.ends_at:
                    continue
            previous = booking
        for booking in live:
            ref = stored.get(booking.resource)
            if ref is None:
                continue
            clash = await booking_store.overlapping(
                tx, [ref.id], booking.starts_at, booking.ends_at
            )
            if clash:
                message = f"overlaps stored booking {clash[0].id}"
                plan.errors.append(RowError(rows[booking.id], "start", message, "bookings"))

    async def _write(self, tx: Work, actor: Principal, plan: _Plan, progress: Progress) -> None:
        progress.begin("writing", len(plan.resources) + len(plan.bookings))
        await self._resources.put_categories(tx, actor, tuple(plan.categories))
        for kind in plan.types:
            await self._resources.add_type(tx, actor, kind, ())
            tx.record("resource.type.created", kind.slug)
        now = self.clock.now()
        ids: dict[str, int] = {}
        for new in plan.resources:
            ids[new.address] = await self._resources.insert(tx, actor, new, now)
            tx.record("resource.created", new.address, changed_data(new.address))
            await progress.advance()
        missing = [b.booking.resource for b in plan.bookings if b.booking.resource not in ids]
        for ref in await booking_store.resource_refs(tx, actor.tenant_id, missing):
            ids[ref.address] = ref.id
        for new_booking in plan.bookings:
            invited = await _insert_booking(
                tx, actor, ids[new_booking.booking.resource], new_booking
            )
            told = event_data(new_booking.booking, new_booking.organizer_id, invited)
            tx.record("booking.created", new_booking.booking.id, told)
            await progress.advance()


def _booking_problem(row: ImportBooking, taken: Iterable[str]) -> tuple[str, str] | None:
    """(field, message) of the first rule the booking breaks, else None."""
    if not row.id.strip() or len(row.id) > MAX_ID:
        return "id", f"must be 1 to {MAX_ID} characters"
    if row.id in taken:
        return "id", f"booking {row.id} already exists (or is in the file twice)"
    if not row.title.strip() or len(row.title) > MAX_TITLE:
        return "title", f"must be 1 to {MAX_TITLE} characters"
    if row.ends_at <= row.starts_at:
        return "end", "must be after the start"
    if row.status not in BOOKING_STATUSES:
        return "status", f"must be one of {', '.join(BOOKING_STATUSES)}"
    if "@" not in row.organizer:
        return "organizer", "must be an e-mail address"
    try:
        check_attendees(row.attendees)
    except Invalid as exc:
        return exc.field, exc.reason
    return None


def _booking(row: ImportBooking, address: str, now: datetime) -> Booking:
    return Booking(
        id=row.id,
        resource=address,
        title=row.title.strip(),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        status=row.status,
        organizer=row.organizer.strip().lower(),
        attendees=row.attendees,
        services=row.services,
        calendar_event_id=None,
        created_at=row.created_at or now,
        updated_at=now,
    )


def _may_work_in_bulk(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden("catalogue", "", "Only an administrator may do this")


def _domain_of(address: str) -> str:
    return address.partition("@")[2]


async def _insert_booking(
    tx: Tx, actor: Principal, resource_id: int, new: _NewBooking
) -> list[int]:
    """Write an imported booking as a made one is written (its attendees of the tenant
    invited, as the booking service does); answers the invited people's ids."""
    booking = new.booking
    domain = _domain_of(booking.resource)
    resource = ResourceRef(resource_id, booking.resource, domain, True, {})
    found = await booking_store.people_addressed(tx, actor.tenant_id, booking.attendees)
    invited = [i for i in found if i != new.organizer_id]
    await booking_store.insert_with_events(
        tx, actor.tenant_id, resource, new.organizer_id, booking, invited
    )
    return invited
