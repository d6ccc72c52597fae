"""Announcements: what a brand shows the people of its tenants, for a while.

A brand's admins manage the announcements their brand or a brand below it owns; any
other announcement does not exist for them (NotFound, so ids of other brands leak
nothing). An announcement is shown to the people of the brands it lists, or of its
owner when it lists none, and of every brand below those; only while enabled and while
the moment is inside [start, end). Times given without an offset are read in the
announcement's timezone (an IANA name, UTC by default), so "09:00 Europe/Berlin" starts
at nine in Berlin whatever the server's zone; they are stored as instants and shown in
that timezone again. Every change (update, enable, disable) raises the version by one;
an update naming another version than the current one is a Conflict, so two admins
editing the same announcement cannot overwrite each other unnoticed.

Callers are brand admins (or the operator acting as the default brand), as the dialect
resolves them: `actor` is the principal that the audit log names, `brand` the caller's
brand, whose reach (it and its sub-brands) bounds what it sees.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from townhall.domain.announcements import Announcement, AnnouncementDraft
from townhall.domain.errors import Conflict, Forbidden, Invalid, NotFound
from townhall.domain.models import Brand
from townhall.domain.principal import Principal
from townhall.services.base import Service
from townhall.store import announcements as store
from townhall.store import brands as brand_store
from townhall.store.database import Tx

MAX_MESSAGE_BYTES = 64 * 1024
"""How large one announcement's message may be (as JSON text)."""


class AnnouncementService(Service):
    async def all(self, actor: Principal, brand: Brand) -> list[Announcement]:
        """Every announcement the brand or a brand below it owns."""
        _may(actor, brand)
        async with self.db.read() as tx:
            reach = await brand_store.reach(tx, brand.id)
            names = await _names(tx)
            return [_shown(r, names) for r in await store.owned_by(tx, reach)]

    async def create(
        self, actor: Principal, brand: Brand, draft: AnnouncementDraft
    ) -> Announcement:
        _may(actor, brand)
        if draft.name is None:
            raise Invalid("name", "is required")
        async with self.unit(actor) as work:
            reach = await brand_store.reach(work, brand.id)
            names = await _names(work)
            owner = _brand_id(draft.owner_brand or brand.name, names, reach)
            targets = [_brand_id(b, names, reach) for b in draft.brands or ()]
            zone = _zone(draft.timezone or "UTC")
            starts = _instant(draft.starts, zone, "starts_at")
            ends = _instant(draft.ends, zone, "ends_at")
            _window(starts, ends)
            values = {
                "owner_brand_id": owner,
                "name": _name(draft.name),
                "message": _message(draft.message if draft.message is not None else {}),
                "starts_at": starts,
                "ends_at": ends,
                "timezone": zone.key,
                "discardable": bool(draft.discardable),
                "enabled": True if draft.enabled is None else draft.enabled,
            }
            new_id = await store.insert_one(work, values, targets, self.clock.now())
            work.record("announcement.created", str(new_id), {"name": values["name"]})
            row = await store.one(work, new_id, reach)
            assert row is not None
            return _shown(row, names)

    async def update(
        self, actor: Principal, brand: Brand, announcement_id: int, draft: AnnouncementDraft
    ) -> Announcement:
        """Change what the draft gives; the rest stays."""
        _may(actor, brand)
        async with self.unit(actor) as work:
            reach = await brand_store.reach(work, brand.id)
            names = await _names(work)
            row = await self._locked(work, announcement_id, reach)
            if draft.version is not None and draft.version != row.version:
                raise Conflict(
                    "announcement",
                    str(announcement_id),
                    f"announcement {announcement_id} is at version {row.version}, "
                    f"not {draft.version}",
                )
            zone = _zone(draft.timezone) if draft.timezone is not None else _zone(row.timezone)
            values: dict[str, Any] = {"timezone": zone.key}
            if draft.name is not None:
                values["name"] = _name(draft.name)
            if draft.message is not None:
                values["message"] = _message(draft.message)
            if draft.owner_brand is not None:
                values["owner_brand_id"] = _brand_id(draft.owner_brand, names, reach)
            for given, column in ((draft.starts, "starts_at"), (draft.ends, "ends_at")):
                if given is not None:
                    values[column] = _instant(given, zone, column)
            if draft.discardable is not None:
                values["discardable"] = draft.discardable
            if draft.enabled is not None:
                values["enabled"] = draft.enabled
            _window(values.get("starts_at", row.starts_at), values.get("ends_at", row.ends_at))
            targets = None
            if draft.brands is not None:
                targets = [_brand_id(b, names, reach) for b in draft.brands]
            await store.update_one(work, row.id, values, targets, self.clock.now())
            work.record("announcement.changed", str(row.id), {"changed": sorted(values)})
            after = await store.one(work, row.id, reach)
            assert after is not None
            return _shown(after, names)

    async def set_enabled(
        self, actor: Principal, brand: Brand, announcement_id: int, enabled: bool
    ) -> Announcement:
        return await self.update(actor, brand, announcement_id, AnnouncementDraft(enabled=enabled))

    async def delete(self, actor: Principal, brand: Brand, announcement_id: int) -> None:
        _may(actor, brand)
        async with self.unit(actor) as work:
            reach = await brand_store.reach(work, brand.id)
            row = await self._locked(work, announcement_id, reach)
            await store.delete_one(work, row.id)
            work.record("announcement.deleted", str(row.id), {"name": row.name})

    async def current_for(self, actor: Principal) -> list[Announcement]:
        """What the caller (a person) sees now: enabled announcements for their tenant's
        brand or a brand above it, whose window holds this moment."""
        async with self.db.read() as tx:
            own = await brand_store.of_tenant(tx, actor.tenant_id)
            if own is None:
                return []
            lineage, current = [own.id], own
            while current.parent_id is not None and len(lineage) < 64:
                parent = await brand_store.by_id(tx, current.parent_id)
                if parent is None:
                    break
                lineage.append(parent.id)
                current = parent
            names = await _names(tx)
            return [_shown(r, names) for r in await store.shown(tx, lineage, self.clock.now())]

    async def _locked(self, tx: Tx, announcement_id: int, reach: set[int]) -> store.Row:
        row = await store.one(tx, announcement_id, reach, lock=True)
        if row is None:
            raise NotFound("announcement", str(announcement_id))
        return row


def _may(actor: Principal, brand: Brand) -> None:
    """Only a caller acting for the brand (its admin, or the master admin acting for
    the default brand) manages its announcements."""
    if actor.brand_id != brand.id:
        raise Forbidden("announcement", "", "Only a brand's administrators manage announcements")


async def _names(tx: Tx) -> dict[int, str]:
    return {b.id: b.name for b in await brand_store.all_brands(tx)}


def _shown(row: store.Row, names: dict[int, str]) -> Announcement:
    zone = ZoneInfo(row.timezone)
    return Announcement(
        row.id,
        row.version,
        row.name,
        row.message,
        row.starts_at.astimezone(zone) if row.starts_at else None,
        row.ends_at.astimezone(zone) if row.ends_at else None,
        row.timezone,
        row.discardable,
        row.enabled,
        names.get(row.owner_brand_id, str(row.owner_brand_id)),
        tuple(names.get(b, str(b)) for b in row.brand_ids),
    )


def _brand_id(name: str, names: dict[int, str], reach: set[int]) -> int:
    """A brand the caller reaches, by name; any other does not exist for it."""
    for brand_id, known in names.items():
        if known == name.strip() and brand_id in reach:
            return brand_id
    raise NotFound("brand", name)


def _name(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > 200:
        raise Invalid("name", "must be 1 to 200 characters")
    return name


def _message(value: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid("message", "must be a JSON object")
    if len(json.dumps(value)) > MAX_MESSAGE_BYTES:
        raise Invalid("message", f"must be at most {MAX_MESSAGE_BYTES} bytes")
    return value


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise Invalid("timezone", "must be an IANA time zone such as Europe/Berlin") from None


def _instant(text: str | None, zone: ZoneInfo, field: str) -> datetime | None:
    """ISO 8601 text as an instant: an offset is kept, none means `zone`'s wall clock."""
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(field, "must be an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _window(starts: datetime | None, ends: datetime | None) -> None:
    if starts is not None and ends is not None and ends <= starts:
        raise Invalid("ends_at", "must be after the start")
