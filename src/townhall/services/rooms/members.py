"""Who belongs to a room: the affiliations (owner, admin, member, outcast) of users,
JIDs and groups, which Openfire grants by name, and the membership of people, which
Symphony changes by person id.

Both are the same rows, written by one store function and kept by the same rules,
whichever API asks:
* one party holds at most one affiliation; granting another replaces it, and granting
  the one it holds changes (and records) nothing;
* a room always keeps an owner (`_keep_an_owner`): a change that would leave none is
  refused and leaves nothing behind;
* only an owner of the room or an administrator may change who belongs to it, and a
  deactivated room's membership does not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from townhall.domain.errors import Conflict, Invalid
from townhall.domain.models import AFFILIATIONS, MEMBER_AFFILIATIONS, Affiliations, RoomMember
from townhall.domain.principal import Principal
from townhall.services.base import Work
from townhall.services.rooms.base import Reading
from townhall.services.rooms.invitations import Invitations
from townhall.store import rooms as store
from townhall.store.database import Tx
from townhall.store.rooms import Holder, Located, Party

DEFAULT_OWNER = "admin"
"""Who owns a room whose body names no owner (the tenant's first administrator)."""


class Members(Invitations):
    # -- by name (Openfire) -------------------------------------------------------------

    async def with_affiliation(
        self, actor: Principal, service_name: str, room: str, affiliation: str
    ) -> tuple[str, ...]:
        """The bare JIDs holding `affiliation` directly (groups are listed apart)."""
        async with self.db.read() as tx:
            found = await self._find(tx, actor, service_name, room)
        return found.affiliations.jids.get(affiliation, ())

    async def grant(
        self,
        actor: Principal,
        service_name: str,
        room: str,
        affiliation: str,
        who: str,
        as_group: bool = False,
        send_invitations: bool = False,
    ) -> None:
        """Give one user, JID or group `affiliation`, replacing any other it holds."""
        async with self.unit(actor) as work:
            found, party = await self._party_in(work, actor, service_name, room, who, as_group)
            granted = await self._grant(work, found, Holder(affiliation, party))
            if granted and send_invitations and affiliation in MEMBER_AFFILIATIONS:
                await self._invite(work, actor, found.label, [party])

    async def revoke(
        self,
        actor: Principal,
        service_name: str,
        room: str,
        affiliation: str,
        who: str,
        as_group: bool = False,
    ) -> None:
        """Take `affiliation` away; a Conflict if the party does not hold exactly that."""
        async with self.unit(actor) as work:
            found, party = await self._party_in(work, actor, service_name, room, who, as_group)
            await self._revoke(work, found, party, expected=affiliation)

    async def _party_in(
        self, work: Work, actor: Principal, service_name: str, room: str, who: str, group: bool
    ) -> tuple[Located, Party]:
        """The room (locked for the change) and the user, JID or group named `who`."""
        found = await self._changing(work, actor, service_name, room)
        reading: Reading = "group" if group else "any"
        return found, (await self._parties(work, actor, [("jid", who)], reading))[0]

    async def set_affiliated(
        self,
        actor: Principal,
        service_name: str,
        room: str,
        affiliation: str,
        values: Sequence[str],
        replace: bool,
        send_invitations: bool = False,
    ) -> None:
        """Grant `affiliation` to every JID (or username) listed; with `replace`, also
        take it from every user or JID not listed. Groups are left alone."""
        async with self.unit(actor) as work:
            found = await self._changing(work, actor, service_name, room)
            field = f"{affiliation}s"
            parties = await self._parties(work, actor, [(field, v) for v in values], "jid")
            listed = {p.key: p for p in parties}
            before = await store.holders(work, found.id, actor.tenant.domain)
            news = [
                Holder(affiliation, p)
                for p in listed.values()
                if _affiliation_of(before, p) != affiliation
            ]
            gone = [
                h.party
                for h in before
                if replace
                and h.affiliation == affiliation
                and not h.party.is_group
                and h.party.key not in listed
            ]
            if not news and not gone:
                return
            now = self.clock.now()
            for holder in news:
                await store.set_affiliation(work, found.id, holder, now)
            for party in gone:
                await store.remove_affiliation(work, found.id, party)
            await self._keep_an_owner(work, found)
            action = "room.affiliations.replaced" if replace else "room.affiliations.added"
            work.record(action, f"{affiliation}s of {found.label}")
            if send_invitations and affiliation in MEMBER_AFFILIATIONS:
                await self._invite(work, actor, found.label, [h.party for h in news])

    # -- by person id (Symphony) --------------------------------------------------------

    async def members(self, actor: Principal, stream_id: str) -> list[RoomMember]:
        async with self.db.read() as tx:
            found = await self._locate_stream(tx, actor, stream_id, lock=False)
            return await store.members(tx, found.id)

    async def set_member(
        self, actor: Principal, stream_id: str, user_id: int, affiliation: str | None
    ) -> None:
        """Make the person a member or an owner of the room (`affiliation`), or take
        whatever affiliation it holds away (None: someone not in the room stays out)."""
        async with self.unit(actor) as work:
            found = await self._locate_stream(work, actor, stream_id)
            await self._may_change_members(work, actor, found)
            party = (await self._people(work, actor, [user_id]))[0]
            if affiliation is None:
                await self._revoke(work, found, party)
            else:
                await self._grant(work, found, Holder(affiliation, party))

    # -- the rules ----------------------------------------------------------------------

    async def _changing(
        self, work: Work, actor: Principal, service_name: str, room: str
    ) -> Located:
        found = await self._locate(work, actor, service_name, room)
        await self._may_change_members(work, actor, found)
        return found

    async def _may_change_members(self, tx: Tx, actor: Principal, room: Located) -> None:
        await self._may_change(tx, actor, room)
        if not room.active:
            raise Conflict("room", room.stream_id or room.label, "the room is deactivated")

    async def _grant(self, work: Work, room: Located, holder: Holder) -> bool:
        """Give the party the affiliation in place of any other; False if it holds it
        already (then nothing is recorded)."""
        held = await store.affiliation_of(work, room.id, holder.party)
        if held == holder.affiliation:
            return False
        await store.set_affiliation(work, room.id, holder, self.clock.now())
        if held == "owner":
            await self._keep_an_owner(work, room)
        subject = f"{holder.party.label} as {holder.affiliation} of {room.label}"
        work.record("room.affiliation.granted", subject)
        return True

    async def _revoke(
        self, work: Work, room: Located, party: Party, expected: str | None = None
    ) -> bool:
        """Take the party's affiliation away; False if it holds none. With `expected`,
        the party must hold exactly that one (a Conflict otherwise)."""
        held = await store.affiliation_of(work, room.id, party)
        if expected is not None and held != expected:
            raise Conflict("room_affiliation", party.label, "does not hold that affiliation")
        if held is None:
            return False
        await store.remove_affiliation(work, room.id, party)
        if held == "owner":
            await self._keep_an_owner(work, room)
        work.record("room.affiliation.revoked", f"{party.label} as {held} of {room.label}")
        return True

    async def _keep_an_owner(self, tx: Tx, room: Located) -> None:
        """The one last-owner rule: checked after a change, inside its unit of work, so
        refusing it rolls the change back."""
        if await store.count_with_affiliation(tx, room.id, "owner") == 0:
            raise Conflict("room_owner", room.label, "a room must keep at least one owner")

    async def _wanted(
        self, tx: Tx, actor: Principal, room: str, given: Affiliations
    ) -> list[Holder]:
        """The affiliations a whole-room body asks for, resolved, with the default
        owner; a party listed twice is a Conflict naming every such party."""
        items = []
        for affiliation in AFFILIATIONS:
            values = given.jids.get(affiliation) or ()
            if affiliation == "owner" and not values:
                values = (actor.jid(DEFAULT_OWNER),)
            items += [(affiliation, f"{affiliation}s", value) for value in values]
        parties = await self._parties(tx, actor, [(f, v) for _, f, v in items], "jid")
        wanted = [Holder(a, p) for (a, _, _), p in zip(items, parties, strict=True)]
        group_names = {a: given.groups.get(a) or () for a in AFFILIATIONS}
        every = [group for listed in group_names.values() for group in listed]
        found = await store.group_ids(tx, actor.tenant_id, every)
        for affiliation, listed in group_names.items():
            for group in listed:
                if group not in found:
                    raise Invalid(f"{affiliation}_groups", f"names no group {group!r}")
                wanted.append(Holder(affiliation, Party(group, group_id=found[group])))
        seen: set[tuple[str, int | str]] = set()
        twice = set()
        for holder in wanted:
            if holder.party.key in seen:
                twice.add(holder.party.label)
            seen.add(holder.party.key)
        if twice:
            listed_twice = ", ".join(sorted(twice))
            raise Conflict("room_affiliations", room, "a party is listed twice", value=listed_twice)
        return wanted


def _affiliation_of(held: Iterable[Holder], party: Party) -> str | None:
    return next((h.affiliation for h in held if h.party.key == party.key), None)
