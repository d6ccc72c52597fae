"""A person's mailbox: its settings, the mail delivered to it, and its counters.

Settings (quota, quota mode, spam level, antivirus, anti-phishing) are settings of the
one person, whichever API names them (OX's provisioning calls them spamlevel, antivirus,
oxantiphishing, quotamode). Unset, each is the deployment's default (None here): the mail
engine decides what that means. Only the tenant's admins change them.

A mailbox is known by its address: the person's e-mail, lower-case, in a domain their
tenant holds (the routing core's rule, services/mail_routing.py). Mail is stored and
counted through the `MailStore` port, so the same use cases hold whether the embedded
Maildir store or Dovecot keeps the mail. When a person is deleted (by any API: the
people service records `user.deleted` with the address) the mailbox and its mail go too,
unless another person of the tenant still holds the address; when a tenant is deleted
(`tenant.deleted` lists its people's addresses) all of its people's mailboxes go.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from townhall.domain.errors import Forbidden, Invalid, NotFound, Unavailable
from townhall.domain.events import DomainEvent
from townhall.domain.models import Person
from townhall.domain.principal import Principal
from townhall.infrastructure.cache import TTLCache
from townhall.infrastructure.mail import Mailer
from townhall.infrastructure.mailstore import MailCounters, MailStore
from townhall.services.base import Deps, Service
from townhall.services.people import Who
from townhall.store import mail as mail_store
from townhall.store import mailboxes as store
from townhall.store import people as people_store
from townhall.store.database import Tx

log = logging.getLogger(__name__)
HOLDER_TTL_SECONDS = 5.0
"""How long another process may go on seeing a mailbox's holder after a change (without
Redis to tell it): the counters are read often, by address, and this saves two reads."""

SPAM_LEVELS = ("low", "medium", "high")
QUOTA_MODES = ("unified", "default")
ANTI_PHISHING = ("off", "replace-urls", "block")


@dataclass(frozen=True, slots=True)
class MailSettings:
    quota_bytes: int | None = None
    quota_mode: str | None = None
    spam_level: str | None = None
    antivirus: bool | None = None
    anti_phishing: str | None = None


UNSET = MailSettings()


@dataclass(frozen=True, slots=True)
class Mailbox:
    """Who holds a mailbox address."""

    address: str
    tenant_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class MailboxCounters:
    """A mailbox's counters with what the store does not know: its quota (None: no
    limit) and when it last logged in to read mail (None: never)."""

    mailbox: Mailbox
    counters: MailCounters
    quota_bytes: int | None
    last_login: datetime | None


def _checked(changes: MailSettings) -> dict[str, object]:
    """The settings `changes` names (non-None), each validated."""
    values = {f.name: getattr(changes, f.name) for f in fields(MailSettings)}
    given = {k: v for k, v in values.items() if v is not None}
    for name, allowed in (
        ("quota_mode", QUOTA_MODES),
        ("spam_level", SPAM_LEVELS),
        ("anti_phishing", ANTI_PHISHING),
    ):
        if name in given and given[name] not in allowed:
            raise Invalid(name, f"must be one of {', '.join(allowed)}")
    quota = given.get("quota_bytes")
    if isinstance(quota, int) and quota < 0:
        raise Invalid("quota_bytes", "must not be negative")
    return given


class MailboxService(Service):
    def __init__(
        self, deps: Deps, store_of_mail: MailStore | None = None, outbound: Mailer | None = None
    ) -> None:
        super().__init__(deps)
        self.mail = store_of_mail
        """Where mail is delivered (None: this server receives no mail)."""
        self._outbound = outbound or Mailer()
        self._holders: TTLCache[str, Mailbox] = TTLCache(HOLDER_TTL_SECONDS)
        """Found holders (never absences, so a new mailbox is seen at once), dropped on
        every change of people, domains or tenants heard."""
        deps.events.subscribe(self._on_event)

    async def holder(self, address: str) -> Mailbox:
        """The person whose mailbox `address` is (any case): their e-mail, in a domain
        their tenant holds. NotFound otherwise (also for what is no address)."""
        wanted = address.strip().lower()
        domain = wanted.rpartition("@")[2]
        if "@" not in wanted or not domain:
            raise NotFound("mailbox", address)

        async def load() -> Mailbox:
            async with self.db.read() as tx:
                owners = (await mail_store.domain_owners(tx, [domain])).get(domain, frozenset())
                people = await mail_store.people_at(tx, [wanted]) if owners else []
            held = [(tenant, user) for tenant, user, _ in people if tenant in owners]
            if not held:
                raise NotFound("mailbox", address)
            return Mailbox(wanted, *held[0])

        return await self._holders.fetch(wanted, load)

    async def counters(self, actor: Principal, address: str) -> MailboxCounters:
        """New since the last mail login, unread in INBOX and everywhere, the newest
        INBOX messages and the quota, of a mailbox of the actor's tenant (its admins, or
        the holder themselves)."""
        found = await self.holder(address)
        if found.tenant_id != actor.tenant_id:
            raise NotFound("mailbox", address)
        if not actor.is_admin and actor.user_id != found.user_id:
            raise Forbidden("mailbox", found.address, "Only an administrator may read this")
        if self.mail is None:
            raise Unavailable("mail", "This server stores no mail")
        async with self.db.read() as tx:
            quota = (await store.settings_of(tx, found.user_id))["quota_bytes"]
            epoch = await store.last_login(tx, found.address)
        last_login = datetime.fromtimestamp(epoch, UTC) if epoch is not None else None
        try:
            counted = await self.mail.counters(found.address, last_login)
        except ValueError:  # an address the store cannot file (a '/' in the local part)
            raise Unavailable("mail", f"no mailbox can be kept for {found.address}") from None
        return MailboxCounters(found, counted, quota, last_login)

    async def _on_event(self, event: DomainEvent) -> None:
        """A deleted person's mailbox goes with them, a deleted tenant's people's with
        it (heard in every process with Redis; removing twice is harmless)."""
        if event.topic.startswith(("user.", "domain.", "tenant.", "backup.")):
            self._holders.clear()
        if event.topic in ("user.created", "user.updated"):
            await self._opened(event.data.get("mailbox"))
            return
        if event.topic == "backup.restored" and self.mail is not None:
            self.mail.forget()  # the folders were replaced under the store's indexes
        if event.topic == "user.deleted":
            gone = [event.data.get("mailbox")]
        elif event.topic == "tenant.deleted":
            gone = list(event.data.get("mailboxes") or [])
        else:
            return
        for address in gone:
            if isinstance(address, str) and address and self.mail is not None:
                await self._remove(address)

    async def _opened(self, address: object) -> None:
        """A person now has mail under `address`: the store prepares it (Dovecot: push
        events on). Heard in every process with Redis; preparing twice is harmless."""
        if not isinstance(address, str) or not address or self.mail is None:
            return
        try:
            await self.mail.opened(address.strip().lower())
        except (ValueError, OSError) as exc:
            log.warning("mailbox %s not prepared: %s", address, exc)

    async def _remove(self, address: str) -> None:
        """Remove the mailbox unless someone (of the tenant holding its domain) holds
        the address now."""
        assert self.mail is not None
        try:
            await self.holder(address)
        except NotFound:
            pass
        else:
            return
        try:
            await self.mail.remove(address)
        except (ValueError, OSError) as exc:
            log.warning("mailbox %s not removed: %s", address, exc)
            return
        async with self.db.write() as tx:
            await store.forget_login(tx, address)

    @property
    def relays(self) -> bool:
        """Whether received mail for other servers can be handed on (a relay is set)."""
        return self._outbound.configured

    async def relay(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        """Hand received mail to the relay for recipients on other servers, unchanged,
        with the original envelope sender (no SRS: see docs/ox-mapping.md). Raises
        OSError if the relay did not take it, so the receiver answers 4xx."""
        await self._outbound.relay(sender, recipients, raw)

    def can_hold(self, address: str) -> bool:
        """Whether mail for `address` can be stored here at all."""
        return self.mail is not None and self.mail.can_hold(address)

    async def has_room(self, user_id: int, address: str) -> bool:
        """Whether the mailbox is under its quota (no quota: always)."""
        async with self.db.read() as tx:
            quota = (await store.settings_of(tx, user_id))["quota_bytes"]
        if quota is None or self.mail is None:
            return True
        return bool(await self.mail.used_bytes(address) < quota)

    async def deliver(self, mailboxes: Sequence[tuple[int, str]], raw: bytes) -> None:
        """Store the message in each mailbox (the routing core chose them)."""
        if self.mail is None:
            raise Unavailable("mail", "This server stores no mail")
        for _, address in mailboxes:
            await self.mail.deliver(address, raw)

    async def received(self, address: str, details: dict[str, object]) -> bool:
        """Tell listeners that mail reached the mailbox at `address` (Dovecot's push
        events, in production): a `mail.received` event in the tenant holding the
        address. Not audited (it is the engine's fact, not a
        change anyone made). False if no hosted person has that address."""
        try:
            found = await self.holder(address)
        except NotFound:
            return False
        data = {**details, "address": found.address, "user_id": found.user_id}
        await self.deps.events.publish(
            DomainEvent("mail.received", found.tenant_id, found.address, data)
        )
        return True

    async def settings(self, actor: Principal, who: Who) -> MailSettings:
        async with self.db.read() as tx:
            user_id = await self._user_id(tx, actor, who)
            return MailSettings(**(await store.settings_of(tx, user_id)))  # type: ignore[arg-type]

    async def settings_across(
        self, actor: Principal, people: Sequence[Person]
    ) -> dict[int, MailSettings]:
        """The settings of people a reseller admin found across its brands' tenants
        (PeopleService.across_brands), by person id, in one read."""
        if actor.brand_id is None:
            raise Forbidden("mailbox", actor.tenant.domain, "Only a reseller admin may do this")
        async with self.db.read() as tx:
            found = await store.settings_of_many(tx, sorted({p.id for p in people}))
        return {i: MailSettings(**values) for i, values in found.items()}

    async def update(
        self, actor: Principal, who: Who, changes: MailSettings, clear: tuple[str, ...] = ()
    ) -> MailSettings:
        """Set what `changes` names and unset the settings named in `clear`."""
        if not actor.is_admin:
            raise Forbidden("mailbox", str(who), "Only an administrator may do this")
        values = {**_checked(changes), **dict.fromkeys(clear)}
        unknown = set(clear) - {f.name for f in fields(MailSettings)}
        if unknown:
            raise Invalid(sorted(unknown)[0], "is not a mailbox setting")
        async with self.unit(actor) as work:
            person = await people_store.lock_row(
                work, actor.tenant_id, await self._user_id(work, actor, who)
            )
            assert person is not None
            before = await store.settings_of(work, person.id)
            if any(before[k] != v for k, v in values.items()):
                await store.save(work, person.id, values)
                work.record("mailbox.changed", person.username, {"changed": sorted(values)})
            return MailSettings(**{**before, **values})  # type: ignore[arg-type]

    async def _user_id(self, tx: Tx, actor: Principal, who: Who) -> int:
        if isinstance(who, int):
            found = await people_store.by_ids(tx, actor.tenant_id, [who])
            if found:
                return found[0].id
        else:
            user_id = await people_store.find_id(tx, actor.tenant_id, who.strip().lower())
            if user_id is not None:
                return user_id
        raise NotFound("user", str(who))
