"""A person's mailbox settings: quota, quota mode, spam level, antivirus, anti-phishing.

They are settings of the one person, whichever API names them (OX's provisioning calls
them spamlevel, antivirus, oxantiphishing, quotamode). Unset, each is the deployment's
default (None here): the mail engine decides what that means. Only the tenant's admins
change them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from townhall.domain.errors import Forbidden, Invalid, NotFound, Unavailable
from townhall.domain.events import DomainEvent
from townhall.domain.principal import Principal
from townhall.infrastructure.mailstore.dovecot import DovecotStore
from townhall.infrastructure.mailstore.maildir import MaildirStore
from townhall.services.base import Deps, Service
from townhall.services.people import Who
from townhall.store import mail as mail_store
from townhall.store import mailboxes as store
from townhall.store import people as people_store
from townhall.store.database import Tx

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
        self, deps: Deps, store_of_mail: MaildirStore | DovecotStore | None = None
    ) -> None:
        super().__init__(deps)
        self.mail = store_of_mail
        """Where mail is delivered (None: this server receives no mail)."""

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
        address, for each person there. Not audited (it is the engine's fact, not a
        change anyone made). False if no hosted person has that address."""
        wanted = address.strip().lower()
        domain = wanted.rpartition("@")[2]
        async with self.db.read() as tx:
            owners = await mail_store.domain_owners(tx, [domain])
            people = [
                user_id
                for tenant_id, user_id, _ in await mail_store.people_at(tx, [wanted])
                if owners.get(domain) == tenant_id
            ]
        for user_id in people:
            data = {**details, "address": wanted, "user_id": user_id}
            await self.deps.events.publish(
                DomainEvent("mail.received", owners[domain], wanted, data)
            )
        return bool(people)

    async def settings(self, actor: Principal, who: Who) -> MailSettings:
        async with self.db.read() as tx:
            user_id = await self._user_id(tx, actor, who)
            return MailSettings(**(await store.settings_of(tx, user_id)))  # type: ignore[arg-type]

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
