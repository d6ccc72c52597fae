"""Where mail for one recipient goes, and whether it is taken at all.

THE one place the routing rules live: the embedded SMTP listener and the Postfix policy
server both ask `MailRoutingService.resolve(recipient, sender)` and act on its `Route`.

1. The recipient's domain must be hosted here: a domain of some tenant (a name belongs
   to one tenant), whichever kind, or a brand's shared domain, which every tenant of
   the brand and of the brands below it holds. Otherwise the mail is not ours
   (550 5.1.2).
2. Forwards expand, breadth first, each address in the tenant that holds its domain: an
   alias's recipients replace it, except that an alias naming itself keeps its own
   mailbox too (Postfix's virtual aliases behave alike). Expansion follows at most
   `MAX_DEPTH` levels of forwards, never an address twice (so loops end), examines at
   most `MAX_EXAMINED` addresses and keeps at most `MAX_FINAL` final recipients; what
   the bounds cut is dropped and listed in `Route.dropped`.
3. A final address that is not hosted is external: relayed, no lists apply. A hosted
   address held by a person of its tenant (their e-mail, any case) is a local mailbox;
   one with neither person nor forward is unknown. An alias of another tenant's domain
   routes nothing: only the domain's holder decides where its mail goes.
4. Per local owner, after expansion: a white-list match accepts (whitelisted); else a
   black-list match refuses for that owner; else it is accepted. Patterns mean what
   `sender_lists` says.
5. The mail is accepted if a local mailbox accepts it or an external recipient remains.
   Otherwise it is refused: 5.7.1 when every final owner refused the sender, 5.4.6 when
   only loops or the bounds left nothing, 5.1.1 when nobody exists there.

It takes no principal (mail engines call it) and writes nothing. It reads through one
read connection (`Database.read`, no write lock, so SMTP never queues behind admins),
a few statements per level of forwards; on PostgreSQL each sees the latest commit, so a
forward changed during a resolve may be seen before the change at one level and after
it at the next, which still routes the message to recipients an admin meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from townhall.domain import names
from townhall.domain.errors import Invalid
from townhall.services.base import Service
from townhall.services.sender_lists import matches
from townhall.store import mail as store
from townhall.store.database import Tx

MAX_DEPTH = 5
"""Levels of forwards followed: an alias reached after five forwards is not expanded."""
MAX_FINAL = 100
"""Final recipients (mailboxes and external addresses) one recipient may become."""
MAX_EXAMINED = 500
"""Addresses one expansion looks at, so a wide fan-out of forwards costs bounded reads."""

ACCEPTED = 250
REFUSED = 550
BAD_ADDRESS = 553


@dataclass(frozen=True, slots=True)
class Route:
    """What becomes of mail for one recipient. `code` and `reply` are the SMTP answer
    (`reply` starts with the enhanced status code); `mailboxes` the local owners who
    take it, as (user id, address); `external` the addresses it is relayed to;
    `refused` the local addresses whose owner refuses the sender, with why;
    `whitelisted` the local addresses whose owner white-listed the sender; `unknown`
    hosted addresses nobody holds; `dropped` the addresses the bounds cut."""

    accepted: bool
    code: int
    reply: str
    mailboxes: tuple[tuple[int, str], ...] = ()
    external: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    whitelisted: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    @property
    def smtp(self) -> str:
        """The whole SMTP reply line: `550 5.7.1 <...>: ...`."""
        return f"{self.code} {self.reply}"


@dataclass(slots=True)
class _Expansion:
    """Final recipients in the order expansion met them."""

    local: list[tuple[int, str]] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    looped: bool = False
    finals: int = 0

    def take(self, address: str, people: list[int] | None) -> None:
        """A final address: a mailbox (its people), external (None), or unknown ([])."""
        if people == []:
            self.unknown.append(address)
            return
        if self.finals >= MAX_FINAL:
            self.dropped.append(address)
            return
        self.finals += 1
        if people is None:
            self.external.append(address)
        else:
            self.local.extend((user_id, address) for user_id in people)


@dataclass(slots=True)
class _Level:
    """What one level of addresses is: who holds each hosted domain, the forwards and
    the people at these addresses."""

    owners: dict[str, frozenset[int]]
    forwards: dict[str, list[str]]
    people: dict[str, list[int]]


class MailRoutingService(Service):
    async def resolve(self, recipient: str, sender: str) -> Route:
        """The route of mail from `sender` (may be empty: a bounce) to `recipient`."""
        rcpt = _address(recipient)
        if rcpt is None:
            reply = f"5.1.3 <{recipient}>: Recipient address rejected: not an address"
            return Route(False, BAD_ADDRESS, reply)
        from_ = sender.strip().strip("<>").strip().lower()
        async with self.db.read() as tx:
            if not await store.domain_owners(tx, [_domain(rcpt)]):
                reply = f"5.1.2 <{rcpt}>: Recipient address rejected: domain not hosted here"
                return Route(False, REFUSED, reply)
            found = await _expand(tx, rcpt)
            rules = await store.rules_of(tx, {user_id for user_id, _ in found.local})
        return _route(rcpt, from_, found, rules)


async def _expand(tx: Tx, start: str) -> _Expansion:
    found = _Expansion()
    seen = {start}
    frontier = [start]
    examined = 0
    for depth in range(MAX_DEPTH + 1):
        examined += len(frontier)
        level = await _level(tx, frontier)
        following: list[str] = []
        for address in frontier:
            targets = level.forwards.get(address)
            if targets is None:
                found.take(address, _people(level, address))
            elif depth == MAX_DEPTH:
                found.dropped.append(address)
            else:
                for target in targets:
                    if target == address:  # an alias naming itself keeps its mailbox
                        found.take(address, _people(level, address))
                    elif target in seen:
                        found.looped = True
                    else:
                        seen.add(target)
                        following.append(target)
        room = MAX_EXAMINED - examined if found.finals < MAX_FINAL else 0
        found.dropped.extend(following[room:])
        frontier = following[:room]
        if not frontier:
            break
    return found


async def _level(tx: Tx, addresses: list[str]) -> _Level:
    """One read each for the domains, the forwards and the people of these addresses,
    each kept only where it belongs to the tenant holding the address's domain."""
    owners = await store.domain_owners(tx, {_domain(a) for a in addresses})
    hosted = [a for a in addresses if _domain(a) in owners]
    forwards: dict[str, list[str]] = {}
    for tenant_id, alias, target in await store.aliases_of(tx, hosted):
        if tenant_id in owners.get(_domain(alias), ()):
            forwards.setdefault(alias, []).append(target)
    people: dict[str, list[int]] = {}
    for tenant_id, user_id, address in await store.people_at(tx, hosted):
        if tenant_id in owners.get(_domain(address), ()):
            people.setdefault(address, []).append(user_id)
    return _Level(owners, forwards, people)


def _people(level: _Level, address: str) -> list[int] | None:
    """Who holds a final address: None if it is not hosted (external), else its people
    (none: unknown)."""
    if _domain(address) not in level.owners:
        return None
    return level.people.get(address, [])


def _route(
    rcpt: str, sender: str, found: _Expansion, rules: dict[int, dict[str, list[str]]]
) -> Route:
    """Apply each local owner's lists and decide."""
    accepted: list[tuple[int, str]] = []
    refused: list[tuple[str, str]] = []
    whitelisted: list[str] = []
    reason = f"sender <{sender}> is refused by the recipient"
    for user_id, address in found.local:
        lists = rules.get(user_id, {})
        if any(matches(p, sender) for p in lists.get("white", ())):
            accepted.append((user_id, address))
            whitelisted.append(address)
        elif any(matches(p, sender) for p in lists.get("black", ())):
            refused.append((address, reason))
        else:
            accepted.append((user_id, address))
    ok, code, reply = _outcome(rcpt, reason, bool(accepted), bool(refused), found)
    return Route(
        ok,
        code,
        reply,
        tuple(accepted),
        tuple(found.external),
        tuple(refused),
        tuple(dict.fromkeys(whitelisted)),
        tuple(found.unknown),
        tuple(found.dropped),
    )


def _outcome(
    rcpt: str, reason: str, accepted: bool, refused: bool, found: _Expansion
) -> tuple[bool, int, str]:
    """Taken if anyone takes it; else why not, the most telling reason first."""
    if accepted or found.external:
        return True, ACCEPTED, f"2.1.5 <{rcpt}>: recipient ok"
    if refused:
        return False, REFUSED, f"5.7.1 <{rcpt}>: {reason}"
    if found.dropped or found.looped:
        why = "forwarding loops or runs too deep"
        return False, REFUSED, f"5.4.6 <{rcpt}>: Recipient address rejected: {why}"
    return False, REFUSED, f"5.1.1 <{rcpt}>: Recipient address rejected: no such user here"


def _address(value: str) -> str | None:
    """The address as stored (lower-case, without angle brackets), or None if it is none."""
    try:
        return names.email(value.strip().strip("<>"), "recipient").lower()
    except Invalid:
        return None


def _domain(address: str) -> str:
    return address.rpartition("@")[2]
