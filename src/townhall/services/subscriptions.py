"""Who hears which domain event, and for how long: the rules behind a live event stream.

A subscriber hears only what it could read through the APIs at that moment: events of
its own tenant, and of those only the ones the owning service would show it (a
booking it organised or whose resource's domain it administers, an event in a calendar
it reaches; resources and presence are the tenant's to see). A subscription lasts as
long as the credential it was opened with: it ends when the token expires, and when an
event says the credential may be gone (a logout, a lockout, a deleted or changed
account), the credential is checked again and the subscription ends if it is refused.
A changed account that still holds (new roles) changes what the subscriber hears.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from townhall.domain.events import RESTORED, DomainEvent
from townhall.domain.principal import Principal
from townhall.services.auth import AuthService
from townhall.services.base import Deps, Service
from townhall.services.bookings import BookingService
from townhall.services.calendars import CalendarService

RENEW_SECONDS = 60.0
"""How often a subscription's credential is checked again even if no event said so (a
change announced while Redis was away is then noticed within this time)."""
ENDING = {
    "session.logout": "logged out",
    "user.locked": "account locked",
    "user.deleted": "account deleted",
}
"""Topics that may end a person's credentials, and what the subscriber is told; any
other `session.*` or `user.*` change of the person has the credential checked again."""
_NOT_ENDING = ("session.login",)


@dataclass(frozen=True, slots=True)
class Subscription:
    principal: Principal
    until: datetime
    """When the credential expires; the subscription ends then."""


class SubscriptionService(Service):
    def __init__(
        self,
        deps: Deps,
        auth: AuthService,
        bookings: BookingService,
        calendars: CalendarService,
        handshake_seconds: float,
    ) -> None:
        super().__init__(deps)
        self._auth = auth
        self.handshake_seconds = handshake_seconds
        """How long a new subscriber may take to present its credential."""
        self.renew_seconds = RENEW_SECONDS
        self._rules: dict[str, Callable[[Principal, DomainEvent], Awaitable[bool] | bool]] = {
            "booking.": bookings.visible_to,
            "event.": calendars.visible_to,
            "resource.": lambda principal, event: True,
            "presence.": lambda principal, event: True,
        }

    async def open(self, access_token: str) -> Subscription:
        """A subscription for the holder of an access token (Unauthenticated if refused)."""
        principal, until = await self._auth.bearer_until(access_token)
        return Subscription(principal, until)

    async def renew(self, access_token: str) -> Subscription:
        """The subscription as the credential stands now: refused (Unauthenticated) if it
        was revoked or the account locked, else with the person's current rights."""
        return await self.open(access_token)

    def seconds_left(self, subscription: Subscription) -> float:
        return (subscription.until - self.clock.now()).total_seconds()

    async def visible_to(self, principal: Principal, event: DomainEvent) -> bool:
        """Whether `principal` may read what `event` tells of, now (unknown kinds of
        event: no)."""
        if event.tenant_id != principal.tenant_id:
            return False
        for family, rule in self._rules.items():
            if event.topic.startswith(family):
                verdict = rule(principal, event)
                return verdict if isinstance(verdict, bool) else await verdict
        return False

    def may_end(self, principal: Principal, event: DomainEvent) -> str | None:
        """If `event` may have ended `principal`'s credential, why (for the subscriber);
        the credential is then checked again (`renew`)."""
        topic = event.topic
        if topic == RESTORED:  # every credential of every tenant may be gone
            return "server restored"
        if event.tenant_id != principal.tenant_id or topic in _NOT_ENDING:
            return None
        if not topic.startswith(("session.", "user.")):
            return None
        named = set(event.subject.replace("->", " ").split())
        if not named & {principal.username, principal.address}:
            return None
        return ENDING.get(topic, "session ended")
