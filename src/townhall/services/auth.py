"""Every way in, ending in one `Principal`.

- Passwords (argon2id): Openfire's HTTP Basic and RMP's password login.
- A shared secret (Openfire's `secret` scheme): the server itself acts.
- A JWT signed with a person's registered RSA key (Symphony's bot login) for an opaque
  session token, of which only the SHA-256 digest is stored.
- A password for a short-lived HS256 access token (RMP), whose `sid` claim is the
  digest of the refresh token issued with it.

Every session-bound credential is checked against its row in `session_tokens`, so a
logout, a refresh (which revokes the old row) or a lockout refuses it at once in every
server process. Where every process hears every change (all of them on Redis), a live
row's principal is remembered for `HOLDER_TTL_SECONDS` and forgotten on any change that
may touch it, so a busy client costs one statement per process and TTL rather than one
per request. Without Redis the row is read on every request: another server process on
the same database (a second `townhall serve`, the CLI) could not say it changed.

Every login that checks a password or a key is throttled per account and per client
address (`infrastructure/throttle.py`, shared by all processes through Redis): the
attempt is counted before anything is checked, so a flood beyond the limits costs no
argon2 run and is refused with `TooManyAttempts`, even for the right password. A
failure is logged (one warning, never the credential) and kept in the audit trail.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from townhall.domain import keys, names
from townhall.domain.errors import Forbidden, Invalid, TooManyAttempts, Unauthenticated
from townhall.domain.events import DomainEvent
from townhall.domain.models import Brand, BrandAdmin, Tenant
from townhall.domain.principal import Principal
from townhall.infrastructure.cache import TTLCache
from townhall.infrastructure.throttle import Limit, Throttle
from townhall.services.base import Deps, Service
from townhall.services.tenants import TenantService
from townhall.store import brands as brand_store
from townhall.store import domains as domain_store
from townhall.store import mailboxes as mailbox_store
from townhall.store import people as people_store
from townhall.store import presence as presence_store
from townhall.store import tenants as settings_store
from townhall.store import tokens as store
from townhall.store.database import Tx

if TYPE_CHECKING:
    from jwt.types import Options

log = logging.getLogger("townhall.auth")
"""Failed logins, one warning each (the operator's view of guessing and misconfigured
clients); the audit trail keeps them too."""
T = TypeVar("T")

MAX_JWT_LIFETIME = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=30)
KEY_ALGORITHMS = ["RS512", "RS384", "RS256"]
ACCESS_ALGORITHM = "HS256"
ACCESS_KIND = "access"
"""The kind of the refresh-token rows behind access tokens (stored as `rmp`)."""
REFUSED = "invalid, expired or revoked token"
SESSION_KINDS = {
    "session": "session",
    "keymanager": "keymanager",
    ACCESS_KIND: "rmp",
    "console": "console",
}
SHOWN_NAME = 64
"""How much of a refused username the log and the audit trail keep."""
HOLDER_TTL_SECONDS = 2.0
UNRELATED_TO_HOLDERS = (
    "booking.",
    "event.",
    "calendar.",
    "resource.",
    "presence.",
    "message.",
    "room.",
    "mailbox.",
    "notification.",
    "announcement.",
    "job.",
    "connection.",
    "address_book.",
    "contact.",
)
"""Topics of changes that cannot touch who holds a session (the busy ones): any other
change makes the remembered holders forgotten, so a new kind of change is safe before
anyone thinks of this list."""


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Failed logins let through per window, per account and per client address (0: no
    limit)."""

    per_account: int = 10
    per_address: int = 100


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token login or a refresh hands out."""

    principal: Principal
    name: str
    access_token: str
    refresh_token: str
    expires_in: int


_OWN_CLOCK: Options = {
    "require": ["exp", "sub"],
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}
"""A JWT's times are checked against the server's clock (see `_live`), not the wall clock."""


def _live(claims: dict[str, object], now: datetime) -> bool:
    """Not expired (`exp` is required) and, if it says so, already valid (`nbf`)."""
    expires, begins = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(expires, int | float) or not isinstance(begins, int | float):
        return False
    return begins <= now.timestamp() + CLOCK_SKEW.total_seconds() and now.timestamp() < expires


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService(Service):
    def __init__(
        self,
        deps: Deps,
        tenants: TenantService,
        session_ttl_seconds: int,
        access_ttl_seconds: int,
        refresh_ttl_seconds: int,
        throttle: Throttle | None = None,
        limits: LoginLimits | None = None,
        records_mail_logins: bool = False,
    ) -> None:
        super().__init__(deps)
        self._records_mail_logins = records_mail_logins
        """Embedded mail mode: a password login to a user-facing API (RMP's) counts as
        the mailbox's last login, since there is no IMAP login to count (Dovecot writes
        it in production; ../shared/design/mail.md §4.2.6)."""
        self._tenants = tenants
        self._throttle = throttle or Throttle(15 * 60)
        self._limits = limits or LoginLimits()
        self._session_ttl = timedelta(seconds=session_ttl_seconds)
        self._access_ttl = access_ttl_seconds
        self._refresh_ttl = timedelta(seconds=refresh_ttl_seconds)
        self._secret: str | None = None
        self._checking: dict[tuple[int, str, bytes, bool], asyncio.Future[Principal]] = {}
        self._holders: TTLCache[tuple[str, str], tuple[Principal, datetime]] = TTLCache(
            HOLDER_TTL_SECONDS
        )
        self._holders_stamp: int | None = None
        deps.events.subscribe(self._forget_holders)

    # -- passwords and the shared secret ------------------------------------------------

    async def password(
        self,
        tenant: Tenant,
        username: str,
        password: str,
        address: str = "",
        admins_only: bool = False,
    ) -> Principal:
        """The person, if `password` is theirs and the account is not locked; `address`
        is the client's, for the per-address limit. `admins_only`: a way in for server
        administrators only (Openfire's API), where anyone else's right password is a
        failed login like a wrong one (counted, logged, audited)."""
        try:
            username = names.node(username, "username")
        except Invalid:
            named = None
        else:
            named = username

        async def check() -> Principal:
            if named is None:
                raise Unauthenticated("session", username, "not a username")
            found = await self._check_password(tenant, named, password)
            if admins_only and not found.is_server_admin:
                raise Unauthenticated("session", named, "not an administrator")
            return found

        key = (tenant.id, username, hashlib.sha256(password.encode()).digest(), admins_only)
        running = self._checking.get(key)
        if running is None:
            running = asyncio.ensure_future(
                self._guarded(tenant, named, address, check, shown=username)
            )
            self._checking[key] = running
            running.add_done_callback(lambda done: self._checked(key, done))
        return await asyncio.shield(running)

    def _checked(self, key: tuple[int, str, bytes, bool], done: asyncio.Future[Principal]) -> None:
        """Concurrent logins with one credential share one check (above): a client that
        sends many requests at once with the right password counts as one attempt, not
        as many as the account's limit allows, and the password is hashed once. The
        check's outcome is taken here too, so one that every waiter gave up on is not
        reported as an exception never retrieved."""
        self._checking.pop(key, None)
        if not done.cancelled():
            done.exception()

    async def _check_password(self, tenant: Tenant, username: str, password: str) -> Principal:
        async with self.db.read() as tx:
            found = await people_store.login(tx, tenant.id, username)
            admin_of = await domain_store.administered_by(tx, found.user_id) if found else []
        if found is None:
            raise Unauthenticated("session", username, "no such user")
        if found.locked:
            raise Unauthenticated("session", username, "the account is locked")
        if not found.password_hash:
            raise Unauthenticated("session", username, "the account has no password")
        if not await self.deps.passwords.verify(found.password_hash, password):
            raise Unauthenticated("session", username, "wrong password")
        return Principal(tenant, found.username, found.user_id, found.roles, tuple(admin_of))

    # -- throttling failed logins -------------------------------------------------------

    async def forgive_failures(self, tenant: Tenant, username: str) -> None:
        """Let the account log in again at once (the operator's way back in)."""
        account, _ = self._limits_for(tenant, names.node(username, "username"), "")
        if account is not None:
            await self._throttle.settle(clear=[account.key])

    async def close(self) -> None:
        await self._throttle.close()

    def _limits_for(
        self, tenant: Tenant | None, username: str | None, address: str, realm: str = ""
    ) -> tuple[Limit | None, Limit | None]:
        """The account's limit and the address's (None where there is none). An account
        is a username in a tenant, or in a `realm` above tenants (brand admins)."""
        per_account, per_address = self._limits.per_account, self._limits.per_address
        account = place = None
        scope = realm or (tenant.id if tenant is not None else None)
        if scope is not None and username and per_account > 0:
            key = self._throttle.key("login", "account", scope, username)
            account = Limit(key, per_account)
        if address and per_address > 0:
            place = Limit(self._throttle.key("login", "address", address), per_address)
        return account, place

    async def _guarded(
        self,
        tenant: Tenant | None,
        username: str | None,
        address: str,
        check: Callable[[], Awaitable[T]],
        shown: str = "",
        realm: str = "",
    ) -> T:
        """`check()`'s answer, if the limits let the attempt through. A failure stays
        counted and is logged and audited; a success starts the account's count afresh
        and takes the attempt back from the address's (which it never resets, or one
        good password would open the door to unlimited guesses at others)."""
        account, place = self._limits_for(tenant, username, address, realm)
        attempt = await self._throttle.attempt([lim for lim in (account, place) if lim])
        if attempt.wait is not None:
            raise TooManyAttempts(username or shown or address, attempt.wait)
        try:
            answer = await check()
        except Unauthenticated as exc:
            await self._failed(tenant, username or shown, address, exc.detail, attempt.last, realm)
            raise
        await self._throttle.settle(
            clear=[account.key] if account else [], forgive=[place.key] if place else []
        )
        return answer

    async def _failed(
        self,
        tenant: Tenant | None,
        username: str,
        address: str,
        reason: str,
        last: bool,
        realm: str = "",
    ) -> None:
        """One warning line and one audit row, in the tenant or, for an account above
        tenants (a `realm`: brand admins), in the first tenant, where what they change
        is audited; never the credential. A login naming no known tenant (an unknown
        domain) is logged only: anyone could fill a tenant's trail with those."""
        name = username[:SHOWN_NAME]
        held = f"; further logins are held back for {self._throttle.window} s" if last else ""
        log.warning(
            "login failed: tenant=%s username=%r address=%s reason=%s%s",
            tenant.domain if tenant else "-",
            name,
            address or "-",
            reason,
            held,
        )
        if tenant is None and realm:
            tenant = await self._tenants.first()
            name = f"{realm} {name}"
        if tenant is None:
            return
        who = Principal(tenant, name)
        subject = f"{name} from {address or 'an unknown address'}"
        async with self.change(who, "session.login_failed", subject, details=reason + held):
            pass

    async def shared_secret(
        self, tenant: Tenant, offered: str, expected: str | None, name: str, address: str = ""
    ) -> Principal:
        """The server itself, if `offered` is the configured secret (compared in constant
        time, so the answer's timing tells nothing of the secret). Guesses count against
        the client's address only: a count on the secret itself would let anyone lock its
        rightful holders out."""

        async def check() -> Principal:
            if not expected or not hmac.compare_digest(offered.encode(), expected.encode()):
                raise Unauthenticated("session", name, "wrong secret")
            return Principal.system(tenant, name)

        return await self._guarded(tenant, None, address, check, shown=name)

    async def brand_admin(self, username: str, password: str, address: str = "") -> BrandAdmin:
        """A reseller admin, if the password is theirs (counted per username among
        brand admins, and per address, like every login)."""
        return await self._above_tenants(
            username, password, address, "brand-admin", brand_store.admin_login
        )

    async def brand_mail_reader(self, username: str, password: str, address: str = "") -> Brand:
        """The brand whose mail-read credential this is."""
        return await self._above_tenants(
            username, password, address, "brand-mail", brand_store.mail_credential
        )

    async def _above_tenants(
        self,
        username: str,
        password: str,
        address: str,
        realm: str,
        lookup: Callable[[Tx, str], Awaitable[tuple[T, str] | None]],
    ) -> T:
        """What `lookup` finds for a credential that belongs to no tenant (a brand's),
        if the password matches its hash; throttled in `realm` like every login."""

        async def check() -> T:
            async with self.db.read() as tx:
                found = await lookup(tx, username)
            if found is None:
                raise Unauthenticated("session", username, f"no such {realm} credential")
            holder, password_hash = found
            if not password or not await self.deps.passwords.verify(password_hash, password):
                raise Unauthenticated("session", username, "wrong password")
            return holder

        return await self._guarded(None, username, address, check, realm=realm)

    async def is_brand_admin(self, username: str) -> bool:
        async with self.db.read() as tx:
            return await brand_store.is_admin_username(tx, username)

    async def close_sessions(self, actor: Principal, user_ids: Sequence[int]) -> list[str]:
        """End every session of these people of the actor's tenant, of every kind: API
        session tokens, access and refresh tokens, and live connections. Answers the ids
        of what was ended: a token's id (the first 24 hex digits of its digest, RMP's
        `sessionId`), `connection-<id>` for a live connection."""
        if not actor.is_admin:
            raise Forbidden("session", "", "Only an administrator may close sessions")
        closed: list[str] = []
        async with self.unit(actor) as work:
            now = self.clock.now()
            for person in await people_store.by_ids(work, actor.tenant_id, user_ids):
                tokens = await store.live_digests(work, person.id, now)
                connections = await presence_store.connection_ids(work, person.id)
                await store.revoke_all(work, person.id, now)
                await presence_store.close_for_user(work, person.id)
                closed += [d[:24] for d in tokens] + [f"connection-{c}" for c in connections]
                if tokens:
                    work.record("session.closed", person.username, {"sessions": len(tokens)})
                if connections:
                    work.record("connection.closed", person.username, {"username": person.username})
        return closed

    # -- key login and opaque session tokens --------------------------------------------

    async def key_login(self, tenant: Tenant, signed: str, kind: str, address: str = "") -> str:
        """A new opaque token of `kind` for the JWT's `sub`, if one of the person's
        registered keys verifies it; `address` is the client's, for the limits."""
        refusal: Unauthenticated | None = None
        try:
            username: str | None = self._subject(signed)
        except Unauthenticated as exc:
            username, refusal = None, exc

        async def check() -> people_store.Login:
            if username is None:
                raise refusal or Unauthenticated("session", "", "no subject")
            async with self.db.read() as tx:
                found = await people_store.login(tx, tenant.id, username)
                registered = await store.keys(tx, found.user_id) if found else {}
            if found is None or found.locked:
                raise Unauthenticated("session", username, "unknown or disabled user")
            self._verify(signed, registered)
            return found

        found = await self._guarded(tenant, username, address, check)
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        who = Principal(tenant, found.username, found.user_id)
        async with self.change(who, "session.login", f"{found.username} ({kind})") as tx:
            stored_kind = SESSION_KINDS[kind]
            await store.insert_token(
                tx, digest(token), found.user_id, stored_kind, now, now + self._session_ttl
            )
        return token

    def _subject(self, signed: str) -> str:
        import jwt  # on first use: it loads cryptography

        try:
            claims = jwt.decode(signed, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthenticated("session", "", "the token is not a JWT") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("session", "", "the JWT has no subject")
        try:
            return names.node(subject, "sub")
        except Invalid:
            raise Unauthenticated("session", subject, "the JWT subject is no username") from None

    def _verify(self, signed: str, registered: dict[str, tuple[str, datetime | None]]) -> None:
        import jwt  # on first use: it loads cryptography

        now = self.clock.now()
        for kind in keys.KEY_KINDS:
            pem, expires = registered.get(kind, (None, None))
            if pem is None or (expires is not None and expires <= now):
                continue
            try:
                claims = jwt.decode(signed, pem, algorithms=KEY_ALGORITHMS, options=_OWN_CLOCK)
            except jwt.PyJWTError:
                continue
            if not _live(claims, now):
                raise Unauthenticated("session", "", "the JWT has expired")
            if claims["exp"] > (now + MAX_JWT_LIFETIME + CLOCK_SKEW).timestamp():
                raise Unauthenticated("session", "", "the JWT expires more than 5 minutes ahead")
            return
        raise Unauthenticated("session", "", "no registered key verifies the JWT")

    async def session(self, token: str, kind: str = "session") -> Principal:
        """Who a valid opaque session token belongs to."""
        return await self._holder(digest(token), kind)

    async def start_session(self, who: Principal, kind: str) -> str:
        """A new opaque token of `kind` for a person already authenticated (the web
        console's, after its password check): revoked by a logout, a lockout or a new
        password like every other session."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        async with self.change(who, "session.login", f"{who.username} ({kind})") as tx:
            await store.insert_token(
                tx, digest(token), who.person_id, SESSION_KINDS[kind], now, now + self._session_ttl
            )
        return token

    async def end_session(self, token: str, kind: str = "session") -> None:
        found = await self.session(token, kind)
        async with self.change(found, "session.logout", found.username or "") as tx:
            await store.revoke(tx, digest(token), self.clock.now())

    # -- access and refresh tokens ------------------------------------------------------

    async def token_login(
        self, email: str, password: str, server: str | None = None, address: str = ""
    ) -> Grant:
        """`email` is `username@<a domain of the tenant>`; `server` may name the tenant
        (either is looked up among routing names only, see services/tenants.py);
        `address` is the client's, for the limits."""
        username, _, domain = email.strip().lower().rpartition("@")
        tenant = await self._tenants.routed(server or domain)
        refused = Unauthenticated("session", email, "wrong e-mail address or password")
        if tenant is None:

            async def unknown() -> None:
                raise Unauthenticated("session", email, "no such domain")

            with contextlib.suppress(Unauthenticated):
                await self._guarded(None, None, address, unknown, shown=email)
            raise refused
        try:
            found = await self.password(tenant, username, password, address)
        except Unauthenticated:
            raise refused from None
        return await self._grant(found, password_login=True)

    async def refresh(self, refresh_token: str) -> Grant:
        """A new pair for a valid refresh token, which is used up (rotation)."""
        old = await self._holder(digest(refresh_token), ACCESS_KIND)
        async with self.change(old, "session.refreshed", old.address) as tx:
            if not await store.revoke(tx, old.session_id or "", self.clock.now()):
                raise Unauthenticated("session", "", REFUSED)
        return await self._grant(old)

    async def bearer(self, access_token: str) -> Principal:
        """Who a valid access token belongs to (checked against its refresh row)."""
        import jwt  # on first use: it loads cryptography

        try:
            claims = jwt.decode(
                access_token, await self._key(), algorithms=[ACCESS_ALGORITHM], options=_OWN_CLOCK
            )
        except jwt.PyJWTError:
            raise Unauthenticated("session", "", REFUSED) from None
        if not _live(claims, self.clock.now()) or "sid" not in claims:
            raise Unauthenticated("session", "", REFUSED)
        return await self._holder(str(claims["sid"]), ACCESS_KIND)

    async def bearer_until(self, access_token: str) -> tuple[Principal, datetime]:
        """`bearer`, and when the token stops being valid (its `exp`), for a connection
        that lives on after the check and must end with the token."""
        import jwt  # on first use: it loads cryptography

        found = await self.bearer(access_token)
        claims = jwt.decode(
            access_token, await self._key(), algorithms=[ACCESS_ALGORITHM], options=_OWN_CLOCK
        )
        return found, datetime.fromtimestamp(float(claims["exp"]), UTC)

    async def end_bearer(self, access_token: str) -> None:
        found = await self.bearer(access_token)
        async with self.change(found, "session.logout", found.address) as tx:
            await store.revoke(tx, found.session_id or "", self.clock.now())

    async def _grant(self, who: Principal, password_login: bool = False) -> Grant:
        import jwt  # on first use: it loads cryptography

        refresh_token = secrets.token_urlsafe(32)
        sid = digest(refresh_token)
        now = self.clock.now()
        expires = now + self._refresh_ttl
        async with self.change(who, "session.login", f"user {who.user_id} (rmp)") as tx:
            await store.insert_token(
                tx, sid, who.user_id or 0, SESSION_KINDS[ACCESS_KIND], now, expires
            )
            login = await people_store.login_by_id(tx, who.user_id or 0)
            if password_login and self._records_mail_logins:
                mailbox = await mailbox_store.email_of(tx, who.user_id or 0)
                if mailbox:
                    await mailbox_store.record_login(tx, mailbox, int(now.timestamp()))
        found = await self._holder(sid, ACCESS_KIND)
        claims = {
            "sub": found.address,
            "sid": sid,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + self._access_ttl,
        }
        access_token = jwt.encode(claims, await self._key(), algorithm=ACCESS_ALGORITHM)
        name = login.name if login else ""
        return Grant(found, name, access_token, refresh_token, self._access_ttl)

    async def _holder(self, sid: str, kind: str) -> Principal:
        """The principal a stored session row stands for, if it is live."""
        if not self._holders_stay_true():
            found, expires_at = await self._live_row(sid, kind)
        else:
            found, expires_at = await self._holders.fetch(
                (sid, kind), lambda: self._live_row(sid, kind)
            )
        if expires_at <= self.clock.now():
            raise Unauthenticated("session", "", REFUSED)
        return found

    async def _live_row(self, sid: str, kind: str) -> tuple[Principal, datetime]:
        async with self.db.read() as tx:
            owner = await store.owner(tx, sid)
        if (
            owner is None
            or owner.kind != SESSION_KINDS[kind]
            or owner.revoked
            or owner.locked
            or owner.expires_at <= self.clock.now()
        ):
            raise Unauthenticated("session", "", REFUSED)
        tenant = await self._tenants.by_id(owner.tenant_id)
        found = Principal(
            tenant,
            owner.username,
            owner.user_id,
            owner.roles,
            owner.admin_of,
            sid,
            owner.change_required,
        )
        return found, owner.expires_at

    def _holders_stay_true(self) -> bool:
        """Whether a remembered holder is as true as its row: every process's events
        reach this one (Redis), or the database's change stamp has not moved since the
        memo was last emptied (SQLite: a revocation or lockout committed anywhere, the
        CLI's too, moves it, and empties the memo here before it is read)."""
        if self.deps.events.crosses_processes:
            return True
        if not self.db.stamps_changes:
            return False
        stamp = self.db.change_stamp()
        if stamp != self._holders_stamp:
            self._holders.clear()
            self._holders_stamp = stamp
        return True

    def _forget_holders(self, event: DomainEvent) -> None:
        if not event.topic.startswith(UNRELATED_TO_HOLDERS):
            self._holders.clear()

    async def _key(self) -> str:
        """The server's secret key (created at first start, shared by every process)."""
        if self._secret is None:
            async with self.db.read() as tx:
                self._secret = await settings_store.get_setting(tx, "secret_key")
        if not self._secret:
            raise Unauthenticated("session", "", "the server has no secret key yet")
        return self._secret
