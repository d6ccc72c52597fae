"""Notifications a provider sends a person: welcome, over mail quota, over file-store
quota, sending disabled for spam.

Each is a template (subject and body) in the person's language where it is known (their
profile's recommended language; English otherwise, or when no template of that language
exists), filled in with the brand's name, the person's name and address. The message
goes to the person's mailbox here (when their address is in one of the tenant's
domains) and through the outbound relay, so it also reaches a mailbox this server does
not hold. The rendered message is the answer, so a provider can show or keep it.

Only the tenant's administrators (and the brand admins acting for them) send these; a
person without an e-mail address cannot be notified (`NoMailAddress`).
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from functools import cache
from importlib import resources
from string import Template

from townhall.domain.errors import Forbidden, Invalid, NotFound, Unavailable
from townhall.domain.principal import Principal
from townhall.infrastructure.mail import Mailer
from townhall.services.base import Deps, Service
from townhall.services.brands import BrandService
from townhall.services.mailboxes import MailboxService
from townhall.store import mail as mail_store
from townhall.store import people as people_store

log = logging.getLogger(__name__)

KINDS = ("welcome", "overquota", "overquota_filestore", "spamdisabled")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"english": "en", "german": "de", "deutsch": "de"}
"""Language names a profile may hold instead of a code."""


class NoMailAddress(Invalid):
    """The person has no e-mail address to notify."""

    def __init__(self, user_id: int, tenant_id: int) -> None:
        super().__init__("email", "is not set", kind="no_mail_address", value=str(user_id))
        self.user_id = user_id
        self.tenant_id = tenant_id


@dataclass(frozen=True, slots=True)
class Notification:
    message: EmailMessage
    language: str
    delivered: bool
    """Whether it was stored in the person's mailbox here."""
    relayed: bool
    """Whether the outbound relay took it."""

    @property
    def text(self) -> str:
        return self.message.as_string()


@cache
def templates(language: str) -> dict[str, dict[str, str]]:
    """The templates of one language (package data), or {} if there are none."""
    found = resources.files("townhall.services").joinpath(
        f"templates/notifications.{language}.toml"
    )
    if not found.is_file():
        return {}
    return tomllib.loads(found.read_text("utf-8"))


def language_of(preferred: str | None) -> str:
    """A template language for a profile's language (`de`, `de-AT`, `de_DE`, `German`)."""
    if not preferred:
        return DEFAULT_LANGUAGE
    text = preferred.strip().lower()
    code = LANGUAGE_NAMES.get(text, text.replace("_", "-").split("-")[0])
    return code if code.isalpha() and templates(code) else DEFAULT_LANGUAGE


class NotificationService(Service):
    def __init__(
        self, deps: Deps, brands: BrandService, mailboxes: MailboxService, mailer: Mailer
    ) -> None:
        super().__init__(deps)
        self._brands = brands
        self._mailboxes = mailboxes
        self._mailer = mailer

    async def send(
        self, actor: Principal, user_id: int, kind: str, quota_threshold: float | None = None
    ) -> Notification:
        """Render the `kind` notification for the person, deliver it, send it out."""
        if not actor.is_admin:
            raise Forbidden("notification", str(user_id), "Only an administrator may do this")
        if kind not in KINDS:
            raise Invalid("kind", f"must be one of {', '.join(KINDS)}")
        if kind == "overquota" and (quota_threshold is None or quota_threshold < 0):
            raise Invalid("quota_threshold", "must be a number, at least 0")
        async with self.db.read() as tx:
            found = await people_store.by_ids(tx, actor.tenant_id, [user_id])
            if not found:
                raise NotFound("user", str(user_id))
            person = found[0]
            if not person.email:
                raise NoMailAddress(user_id, actor.tenant_id)
            domain = person.email.rpartition("@")[2].lower()
            owners = (await mail_store.domain_owners(tx, [domain])).get(domain, frozenset())
            hosted = actor.tenant_id in owners
        brand = await self._brands.of_tenant(actor.tenant)
        language = language_of(person.profile.get("recommended_language"))
        chosen = templates(language)[kind]
        values = {
            "brand": brand.name,
            "name": person.name or person.username,
            "address": person.email,
            "threshold": _number(quota_threshold),
        }
        message = EmailMessage()
        message["Subject"] = Template(chosen["subject"]).safe_substitute(values)
        message["From"] = formataddr((brand.name, f"postmaster@{actor.tenant.domain}"))
        message["To"] = formataddr((person.name or "", person.email))
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=actor.tenant.domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(Template(chosen["body"].lstrip("\n")).safe_substitute(values))
        message["Content-Language"] = language  # after set_content, which drops Content-*
        delivered = False
        if hosted:
            try:
                await self._mailboxes.deliver([(person.id, person.email)], message.as_bytes())
                delivered = True
            except (OSError, Unavailable) as exc:
                log.warning("could not store the %s notification for %s: %s", kind, person.id, exc)
        relayed = await self._mailer.send(message, [person.email])
        if not delivered and not relayed:
            raise Unavailable("mail", "The notification could not be delivered")
        async with self.change(actor, "notification.sent", person.username, kind):
            pass
        return Notification(message, language, delivered, relayed)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)
