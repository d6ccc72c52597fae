"""Every way in, ending in one `Principal`.

- Passwords (argon2id): Openfire's HTTP Basic and RMP's password login.
- A shared secret (Openfire's `secret` scheme): the server itself acts.
- A JWT signed with a person's registered RSA key (Symphony's bot login) for an opaque
  session token, of which only the SHA-256 digest is stored.
- A password for a short-lived HS256 access token (RMP), whose `sid` claim is the
  digest of the refresh token issued with it.

Every session-bound credential is checked against its row in `session_tokens` on every
request, so a logout, a refresh (which revokes the old row) or a lockout refuses it at
once in every server process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from jwt.types import Options

from townhall.domain import keys, names
from townhall.domain.errors import Invalid, Unauthenticated
from townhall.domain.models import Tenant
from townhall.domain.principal import Principal
from townhall.services.base import Deps, Service
from townhall.services.tenants import TenantService
from townhall.store import domains as domain_store
from townhall.store import people as people_store
from townhall.store import tenants as settings_store
from townhall.store import tokens as store

MAX_JWT_LIFETIME = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=30)
KEY_ALGORITHMS = ["RS512", "RS384", "RS256"]
ACCESS_ALGORITHM = "HS256"
ACCESS_KIND = "access"
"""The kind of the refresh-token rows behind access tokens (stored as `rmp`)."""
REFUSED = "invalid, expired or revoked token"
SESSION_KINDS = {"session": "session", "keymanager": "keymanager", ACCESS_KIND: "rmp"}


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
    ) -> None:
        super().__init__(deps)
        self._tenants = tenants
        self._session_ttl = timedelta(seconds=session_ttl_seconds)
        self._access_ttl = access_ttl_seconds
        self._refresh_ttl = timedelta(seconds=refresh_ttl_seconds)
        self._secret: str | None = None

    # -- passwords and the shared secret ------------------------------------------------

    async def password(self, tenant: Tenant, username: str, password: str) -> Principal:
        """The person, if `password` is theirs and the account is not locked."""
        try:
            username = names.node(username, "username")
        except Invalid:
            raise Unauthenticated("session", username, "wrong username or password") from None
        async with self.db.read() as tx:
            found = await people_store.login(tx, tenant.id, username)
            admin_of = await domain_store.administered_by(tx, found.user_id) if found else []
        if (
            found is None
            or found.locked
            or not found.password_hash
            or not await self.deps.passwords.verify(found.password_hash, password)
        ):
            raise Unauthenticated("session", username, "wrong username or password")
        return Principal(tenant, found.username, found.user_id, found.roles, tuple(admin_of))

    def shared_secret(
        self, tenant: Tenant, offered: str, expected: str | None, name: str
    ) -> Principal:
        """The server itself, if `offered` is the configured secret (compared in constant
        time, so the answer's timing tells nothing of the secret)."""
        if not expected or not hmac.compare_digest(offered.encode(), expected.encode()):
            raise Unauthenticated("session", name, "wrong secret")
        return Principal.system(tenant, name)

    # -- key login and opaque session tokens --------------------------------------------

    async def key_login(self, tenant: Tenant, signed: str, kind: str) -> str:
        """A new opaque token of `kind` for the JWT's `sub`, if one of the person's
        registered keys verifies it."""
        username = self._subject(signed)
        async with self.db.read() as tx:
            found = await people_store.login(tx, tenant.id, username)
            registered = await store.keys(tx, found.user_id) if found else {}
        if found is None or found.locked:
            raise Unauthenticated("session", username, "unknown or disabled user")
        self._verify(signed, registered)
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

    async def end_session(self, token: str) -> None:
        found = await self.session(token)
        async with self.change(found, "session.logout", found.username or "") as tx:
            await store.revoke(tx, digest(token), self.clock.now())

    # -- access and refresh tokens ------------------------------------------------------

    async def token_login(self, email: str, password: str, server: str | None = None) -> Grant:
        """`email` is `username@<a domain of the tenant>`; `server` may name the tenant."""
        username, _, domain = email.strip().lower().rpartition("@")
        async with self.db.read() as tx:
            tenant = await settings_store.tenant_by_domain(tx, (server or domain).lower())
        if tenant is None:
            raise Unauthenticated("session", email, "wrong e-mail address or password")
        try:
            found = await self.password(tenant, username, password)
        except Unauthenticated:
            raise Unauthenticated("session", email, "wrong e-mail address or password") from None
        return await self._grant(found)

    async def refresh(self, refresh_token: str) -> Grant:
        """A new pair for a valid refresh token, which is used up (rotation)."""
        old = await self._holder(digest(refresh_token), ACCESS_KIND)
        async with self.change(old, "session.refreshed", old.address) as tx:
            if not await store.revoke(tx, old.session_id or "", self.clock.now()):
                raise Unauthenticated("session", "", REFUSED)
        return await self._grant(old)

    async def bearer(self, access_token: str) -> Principal:
        """Who a valid access token belongs to (checked against its refresh row)."""
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
        found = await self.bearer(access_token)
        claims = jwt.decode(
            access_token, await self._key(), algorithms=[ACCESS_ALGORITHM], options=_OWN_CLOCK
        )
        return found, datetime.fromtimestamp(float(claims["exp"]), UTC)

    async def end_bearer(self, access_token: str) -> None:
        found = await self.bearer(access_token)
        async with self.change(found, "session.logout", found.address) as tx:
            await store.revoke(tx, found.session_id or "", self.clock.now())

    async def _grant(self, who: Principal) -> Grant:
        refresh_token = secrets.token_urlsafe(32)
        sid = digest(refresh_token)
        now = self.clock.now()
        expires = now + self._refresh_ttl
        async with self.change(who, "session.login", f"user {who.user_id} (rmp)") as tx:
            await store.insert_token(
                tx, sid, who.user_id or 0, SESSION_KINDS[ACCESS_KIND], now, expires
            )
            login = await people_store.login_by_id(tx, who.user_id or 0)
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
        async with self.db.read() as tx:
            owner = await store.owner(tx, sid)
            login = await people_store.login_by_id(tx, owner.user_id) if owner else None
            admin_of = await domain_store.administered_by(tx, owner.user_id) if owner else []
        if (
            owner is None
            or login is None
            or owner.kind != SESSION_KINDS[kind]
            or owner.revoked
            or owner.locked
            or owner.expires_at <= self.clock.now()
        ):
            raise Unauthenticated("session", "", REFUSED)
        tenant = await self._tenants.by_id(owner.tenant_id)
        return Principal(tenant, owner.username, owner.user_id, login.roles, tuple(admin_of), sid)

    async def _key(self) -> str:
        """The server's secret key (created at first start, shared by every process)."""
        if self._secret is None:
            async with self.db.read() as tx:
                self._secret = await settings_store.get_setting(tx, "secret_key")
        if not self._secret:
            raise Unauthenticated("session", "", "the server has no secret key yet")
        return self._secret
