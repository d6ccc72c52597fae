"""The single error hierarchy every service raises.

Services speak only in these terms; each dialect maps them to its own wire error
(Openfire's ErrorResponse, Symphony's {code, message}, ...). `kind` tells a dialect
which concept the error is about (user, group, room, ...) so it can pick the right
vendor-specific exception name without parsing messages.
"""

from __future__ import annotations

from townhall.domain.models import Booking


class DomainError(Exception):
    """Base of all errors a service raises on purpose."""

    def __init__(
        self, kind: str, subject: str = "", detail: str = "", value: str | None = None
    ) -> None:
        super().__init__(detail or f"{kind} {subject}".strip())
        self.kind = kind
        self.subject = subject
        self.detail = detail
        # The value refused, for a dialect whose wording of the refusal quotes it.
        self.value = value


class NotFound(DomainError):
    """The named thing does not exist (or is invisible to the caller's tenant)."""


class AlreadyExists(DomainError):
    """Creating the thing would duplicate one that exists."""


class Invalid(DomainError):
    """Input breaks a rule; `field` names the offending field (a domain name), `reason`
    says what is wrong with it (a phrase that reads after the field), `kind` names the
    rule for a dialect that words some refusals its own way, and `value` is the refused
    value where that wording shows it."""

    def __init__(
        self, field: str, reason: str, kind: str = "input", value: str | None = None
    ) -> None:
        super().__init__(kind, field, reason, value)
        self.field = field
        self.reason = reason


class Conflict(DomainError):
    """The request contradicts the current state (e.g. a JID in two affiliation lists)."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class LimitReached(Forbidden):
    """The tenant's plan allows no more of `limit` (users, resources): `allowed` is the
    plan's limit, `used` what the tenant has. A Forbidden, so a dialect that has no
    answer of its own for it refuses it as it refuses anything the caller may not do."""

    def __init__(self, limit: str, allowed: int, used: int) -> None:
        super().__init__(
            limit, str(allowed), f"the plan allows at most {allowed} {limit} ({used} in use)"
        )
        self.limit = limit
        self.allowed = allowed
        self.used = used


class Unauthenticated(DomainError):
    """The caller could not be identified."""


class QuotaExceeded(DomainError):
    """A configured limit would be exceeded."""


class TooLarge(QuotaExceeded):
    """Something sent is bigger than a configured limit allows (`limit` bytes)."""

    def __init__(self, kind: str, subject: str, detail: str, limit: int) -> None:
        super().__init__(kind, subject, detail)
        self.limit = limit


class OverQuota(TooLarge):
    """Storing it would take a person past their storage quota (`limit` bytes, of which
    `used` are taken); nothing was stored."""

    def __init__(self, kind: str, subject: str, detail: str, limit: int, used: int) -> None:
        super().__init__(kind, subject, detail, limit)
        self.used = used


class Unavailable(DomainError):
    """Something the request needs (the database) cannot serve it now: it refused a
    connection, none was free in time, or it is restarting. Nothing was written; the
    same request may succeed after `retry_after` seconds."""

    def __init__(self, kind: str, detail: str, retry_after: int = 1) -> None:
        super().__init__(kind, "", detail)
        self.retry_after = retry_after


class Impossible(Invalid):
    """Well-formed input describing something that cannot be (an end before its start).

    A subclass of Invalid so a dialect without a status of its own for it answers 400."""


class SlotTaken(Conflict):
    """A booking would overlap live bookings of the same resource; `bookings` are those,
    so the loser of a race learns who won."""

    def __init__(self, resource: str, bookings: tuple[Booking, ...]) -> None:
        ids = ", ".join(b.id for b in bookings) or "another booking"
        super().__init__("booking", resource, f"{resource} is already booked then ({ids})")
        self.bookings = bookings


class TooManyAttempts(DomainError):
    """Too many failed logins for an account or from an address: refused before any
    credential is checked; `retry_after` (seconds) says when to try again."""

    def __init__(self, subject: str, retry_after: int) -> None:
        super().__init__(
            "login",
            subject,
            f"too many failed logins; try again in {retry_after} seconds",
        )
        self.retry_after = retry_after
