"""Forwards: mail to an alias address of the tenant goes to each of its recipients.

An alias is an address in one of the tenant's own domains (so no tenant can catch mail
for another's); a recipient is any address, hosted here or not. Both are kept
lower-case, recipients in the order they were added, at most `MAX_RECIPIENTS` per alias.
An alias may name a person's own address: mail to it then goes to the recipients
instead of the mailbox, unless the alias lists the address itself (as Postfix's
virtual aliases do; the routing is `MailRoutingService`'s).

Only the tenant's administrators read or change forwards. Each change is one unit of
work that locks the alias's domain row, so two requests changing one alias queue and
neither overruns the bound; one that changes nothing records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from townhall.domain import names
from townhall.domain.errors import Forbidden, Invalid, NotFound
from townhall.domain.principal import Principal
from townhall.services.base import Service, Work
from townhall.store import mail as store

MAX_RECIPIENTS = 100
"""Recipients one alias may have."""


class ForwardService(Service):
    async def recipients(self, actor: Principal, alias: str) -> list[str]:
        """The alias's recipients, in the order they were added."""
        wanted = _allowed(actor, alias)
        async with self.db.read() as tx:
            found = await store.recipients(tx, actor.tenant_id, wanted)
        if not found:
            raise NotFound("forward", wanted)
        return found

    async def exists(self, actor: Principal, alias: str, recipient: str | None = None) -> bool:
        """Whether the alias exists (and, given a recipient, forwards to it)."""
        wanted = _allowed(actor, alias)
        async with self.db.read() as tx:
            found = await store.recipients(tx, actor.tenant_id, wanted)
        return bool(found) if recipient is None else _recipient(recipient) in found

    async def all(self, actor: Principal) -> dict[str, list[str]]:
        """Every forward of the tenant: alias -> recipients."""
        _may(actor, actor.tenant.domain)
        async with self.db.read() as tx:
            return await store.forwards(tx, actor.tenant_id)

    async def replace(self, actor: Principal, alias: str, recipients: Sequence[str]) -> bool:
        """Make the alias forward to exactly these recipients, creating it if need be;
        True if it was created."""
        wanted = _allowed(actor, alias)
        targets = _recipients(recipients)
        async with self.unit(actor) as work:
            current = await self._lock(work, actor, wanted)
            if set(current) == set(targets):
                return False
            gone = [r for r in current if r not in targets]
            await store.delete_recipients(work, actor.tenant_id, wanted, gone)
            new = [r for r in targets if r not in current]
            await store.add_recipients(work, actor.tenant_id, wanted, new, self.clock.now())
            _record(work, wanted, current, targets)
        return not current

    async def add(self, actor: Principal, alias: str, recipients: Sequence[str]) -> list[str]:
        """Add recipients to the alias (creating it if need be); its recipients after."""
        wanted = _allowed(actor, alias)
        targets = _recipients(recipients)
        async with self.unit(actor) as work:
            current = await self._lock(work, actor, wanted)
            new = [r for r in targets if r not in current]
            if len(current) + len(new) > MAX_RECIPIENTS:
                raise Invalid("recipient", f"would be more than {MAX_RECIPIENTS} for one alias")
            await store.add_recipients(work, actor.tenant_id, wanted, new, self.clock.now())
            after = [*current, *new]
            if new:
                _record(work, wanted, current, after)
        return after

    async def delete(self, actor: Principal, alias: str) -> None:
        wanted = _allowed(actor, alias)
        async with self.unit(actor) as work:
            current = await self._lock(work, actor, wanted, must_exist=True)
            await store.delete_alias(work, actor.tenant_id, wanted)
            _record(work, wanted, current, [])

    async def delete_recipient(self, actor: Principal, alias: str, recipient: str) -> None:
        """Remove one recipient; the alias goes with its last one."""
        wanted = _allowed(actor, alias)
        target = _recipient(recipient)
        async with self.unit(actor) as work:
            current = await self._lock(work, actor, wanted, must_exist=True)
            if target not in current:
                raise NotFound("recipient", target, f"{wanted} does not forward to {target}")
            await store.delete_recipients(work, actor.tenant_id, wanted, [target])
            _record(work, wanted, current, [r for r in current if r != target])

    async def delete_all(self, actor: Principal) -> list[str]:
        """Remove every forward of the tenant; the aliases that were there."""
        _may(actor, actor.tenant.domain)
        async with self.unit(actor) as work:
            gone = await store.delete_forwards(work, actor.tenant_id)
            for alias in gone:
                work.record("mail.forward.deleted", alias)
        return gone

    async def _lock(
        self, work: Work, actor: Principal, alias: str, must_exist: bool = False
    ) -> list[str]:
        """The alias's recipients, its domain locked against other writers. Outside the
        tenant's domains an alias cannot be made (Invalid), and does not exist."""
        domain = alias.rpartition("@")[2]
        if await store.lock_domain(work, actor.tenant_id, domain) is None:
            if must_exist:
                raise NotFound("forward", alias)
            raise Invalid("alias", f"is not in a domain of the tenant ({domain})", "alias", alias)
        await store.delete_stale(work, actor.tenant_id, alias)
        current = await store.recipients(work, actor.tenant_id, alias)
        if must_exist and not current:
            raise NotFound("forward", alias)
        return current


def _may(actor: Principal, subject: str) -> None:
    if not actor.is_admin:
        raise Forbidden("forward", subject, "only an administrator of the tenant may do this")


def _allowed(actor: Principal, alias: str) -> str:
    """The alias as stored, once the actor may act on forwards at all."""
    _may(actor, alias)
    return names.email(alias, "alias").lower()


def _recipient(value: str) -> str:
    return names.email(value, "recipient").lower()


def _recipients(values: Sequence[str]) -> list[str]:
    """Distinct recipients in the order given: at least one, at most the bound."""
    found = list(dict.fromkeys(_recipient(v) for v in values))
    if not found:
        raise Invalid("recipient", "must name at least one address")
    if len(found) > MAX_RECIPIENTS:
        raise Invalid("recipient", f"must name at most {MAX_RECIPIENTS} addresses")
    return found


def _record(work: Work, alias: str, before: Sequence[str], after: Sequence[str]) -> None:
    """One change of the alias: created, changed or deleted, with its recipients after."""
    if not before:
        action = "mail.forward.created"
    elif after:
        action = "mail.forward.changed"
    else:
        action = "mail.forward.deleted"
    work.record(action, alias, {"recipients": list(after)}, ", ".join(after) or None)
