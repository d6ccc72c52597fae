"""API sessions: RSA-signed login, opaque session tokens, revocation.

A client proves who it is with a short-lived JWT signed by a private key whose public
half is registered for the user (Symphony's bot login). It gets an opaque token back;
only the token's SHA-256 digest is stored, and every request looks it up in the
database, so a revoked or expired token is refused at once by every server process.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from townhall.domain import names, roles
from townhall.domain.errors import Invalid, NotFound, Unauthenticated
from townhall.services.base import Actor, Deps, Service
from townhall.services.tenants import TenantService
from townhall.store import tokens as store
from townhall.store import users as user_store

MAX_JWT_LIFETIME = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=30)
ALGORITHMS = ["RS512", "RS384", "RS256"]
KEY_KINDS = ("current", "previous")
MIN_KEY_BITS = 2048


@dataclass(frozen=True, slots=True)
class Session:
    """Who a valid token belongs to."""

    actor: Actor
    user_id: int
    roles: frozenset[str]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_public_key(pem: str, field: str) -> str:
    """The PEM if it is an RSA public key of a sane size; the field named otherwise."""
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise Invalid(field, f"{field} is not a PEM-encoded public key") from None
    if not isinstance(key, RSAPublicKey):
        raise Invalid(field, f"{field} must be an RSA public key")
    if key.key_size < MIN_KEY_BITS:
        raise Invalid(field, f"{field} must have at least {MIN_KEY_BITS} bits")
    return pem.strip() + "\n"


class TokenService(Service):
    def __init__(self, deps: Deps, tenants: TenantService, ttl_seconds: int) -> None:
        super().__init__(deps)
        self._tenants = tenants
        self._ttl = timedelta(seconds=ttl_seconds)

    async def login(self, actor: Actor, signed: str, kind: str) -> str:
        """A new token of `kind` for the JWT's `sub`, or Unauthenticated."""
        username = self._subject(signed)
        async with self.db.read() as tx:
            found = await user_store.login(tx, actor.tenant_id, username)
            keys = await store.keys(tx, found.user_id) if found else {}
        if found is None or found.locked:
            raise Unauthenticated("session", username, "unknown or disabled user")
        self._verify(signed, keys)
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        who = Actor(actor.tenant, found.username)
        async with self.change(who, "session.login", f"{found.username} ({kind})") as tx:
            await store.insert_token(tx, digest(token), found.user_id, kind, now, now + self._ttl)
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

    def _verify(self, signed: str, keys: dict[str, tuple[str, datetime | None]]) -> None:
        now = self.clock.now()
        for kind in KEY_KINDS:
            pem, expires = keys.get(kind, (None, None))
            if pem is None or (expires is not None and expires <= now):
                continue
            try:
                claims = jwt.decode(
                    signed, pem, algorithms=ALGORITHMS, options={"require": ["exp", "sub"]}
                )
            except jwt.PyJWTError:
                continue
            if claims["exp"] > (now + MAX_JWT_LIFETIME + CLOCK_SKEW).timestamp():
                raise Unauthenticated("session", "", "the JWT expires more than 5 minutes ahead")
            return
        raise Unauthenticated("session", "", "no registered key verifies the JWT")

    async def session(self, token: str, kind: str = "session") -> Session:
        async with self.db.read() as tx:
            owner = await store.owner(tx, digest(token))
            found = await user_store.login_by_id(tx, owner.user_id) if owner else None
        if (
            owner is None
            or found is None
            or owner.kind != kind
            or owner.revoked
            or owner.locked
            or owner.expires_at <= self.clock.now()
        ):
            raise Unauthenticated("session", "", "invalid, expired or revoked session token")
        tenant = await self._tenants.by_id(owner.tenant_id)
        return Session(Actor(tenant, owner.username), owner.user_id, roles.effective(found.roles))

    async def logout(self, token: str) -> None:
        session = await self.session(token)
        async with self.change(session.actor, "session.logout", session.actor.username or "") as tx:
            await store.revoke(tx, digest(token), self.clock.now())

    async def set_key(
        self,
        actor: Actor,
        username: str,
        kind: str,
        pem: str | None,
        expires_at: datetime | None = None,
    ) -> None:
        """Register (or with None, remove) a user's current or previous public key."""
        if kind not in KEY_KINDS:
            raise Invalid("kind", f"key kind must be one of {', '.join(KEY_KINDS)}")
        field = f"{kind}Key"
        checked = parse_public_key(pem, field) if pem is not None else None
        username = names.node(username, "username")
        async with self.change(actor, "user.key.set", f"{username} ({kind})") as tx:
            user_id = await user_store.find_id(tx, actor.tenant_id, username)
            if user_id is None:
                raise NotFound("user", username)
            await store.set_key(tx, user_id, kind, checked, expires_at)
