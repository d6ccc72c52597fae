"""Password login with expiring JWT access tokens and rotating refresh tokens (RMP).

An access token is a short-lived HS256 JWT signed with the server's secret key. Its `sid`
claim is the digest of the refresh token it was issued with, whose row lives in
`session_tokens`; every request checks that row, so logging out or refreshing (which
revokes the row) refuses the old access token at once in every server process, while
the JWT still carries who the caller is without a second lookup.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt

from townhall.domain import roles
from townhall.domain.errors import Unauthenticated
from townhall.domain.models import Tenant
from townhall.services.base import Actor, Deps, Service
from townhall.services.tenants import TenantService
from townhall.services.tokens import digest
from townhall.services.users import UserService
from townhall.store import domains as domain_store
from townhall.store import tenants as settings_store
from townhall.store import tokens as store
from townhall.store import users as user_store

KIND = "rmp"
ALGORITHM = "HS256"
REFUSED = "invalid, expired or revoked token"


@dataclass(frozen=True, slots=True)
class RmpSession:
    """Who a valid access token belongs to, and what they may administer."""

    actor: Actor
    user_id: int
    email: str
    real_name: str
    is_server_admin: bool
    admin_domains: tuple[str, ...]
    sid: str

    @property
    def is_domain_admin(self) -> bool:
        return bool(self.admin_domains)

    @property
    def is_admin(self) -> bool:
        return self.is_server_admin or self.is_domain_admin

    def administers(self, domain: str) -> bool:
        """Server admins administer every domain; domain admins theirs and below them."""
        domain = domain.lower()
        return self.is_server_admin or any(
            domain == own or domain.endswith("." + own) for own in self.admin_domains
        )


@dataclass(frozen=True, slots=True)
class Grant:
    """What a login or a refresh hands out."""

    session: RmpSession
    access_token: str
    refresh_token: str
    expires_in: int


class AccessTokenService(Service):
    def __init__(
        self,
        deps: Deps,
        tenants: TenantService,
        users: UserService,
        access_ttl_seconds: int,
        refresh_ttl_seconds: int,
    ) -> None:
        super().__init__(deps)
        self._tenants = tenants
        self._users = users
        self._access_ttl = access_ttl_seconds
        self._refresh_ttl = timedelta(seconds=refresh_ttl_seconds)
        self._secret: str | None = None

    async def login(self, email: str, password: str, server: str | None = None) -> Grant:
        """`email` is `username@<a domain of the tenant>`; `server` may name the tenant."""
        username, _, domain = email.strip().lower().rpartition("@")
        async with self.db.read() as tx:
            tenant = await settings_store.tenant_by_domain(tx, (server or domain).lower())
        found = await self._users.authenticate(tenant, username, password) if tenant else None
        if tenant is None or found is None:
            raise Unauthenticated("session", email, "wrong e-mail address or password")
        return await self._grant(tenant, found.user_id, "session.login")

    async def refresh(self, refresh_token: str) -> Grant:
        """A new pair for a valid refresh token, which is used up (rotation)."""
        old = await self._session_of(digest(refresh_token))
        async with self.change(old.actor, "session.refreshed", old.email) as tx:
            if not await store.revoke(tx, old.sid, self.clock.now()):
                raise Unauthenticated("session", "", REFUSED)
        return await self._grant(old.actor.tenant, old.user_id, "session.login")

    async def session(self, access_token: str) -> RmpSession:
        try:
            claims = jwt.decode(
                access_token,
                await self._key(),
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sid", "sub"]},
            )
        except jwt.PyJWTError:
            raise Unauthenticated("session", "", REFUSED) from None
        return await self._session_of(str(claims["sid"]))

    async def logout(self, access_token: str) -> None:
        found = await self.session(access_token)
        async with self.change(found.actor, "session.logout", found.email) as tx:
            await store.revoke(tx, found.sid, self.clock.now())

    async def _grant(self, tenant: Tenant, user_id: int, action: str) -> Grant:
        refresh_token = secrets.token_urlsafe(32)
        sid = digest(refresh_token)
        now = self.clock.now()
        async with self.change(Actor(tenant), action, f"user {user_id} (rmp)") as tx:
            await store.insert_token(tx, sid, user_id, KIND, now, now + self._refresh_ttl)
        found = await self._session_of(sid)
        claims = {
            "sub": found.email,
            "sid": sid,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + self._access_ttl,
        }
        access_token = jwt.encode(claims, await self._key(), algorithm=ALGORITHM)
        return Grant(found, access_token, refresh_token, self._access_ttl)

    async def _session_of(self, sid: str) -> RmpSession:
        async with self.db.read() as tx:
            owner = await store.owner(tx, sid)
            login = await user_store.login_by_id(tx, owner.user_id) if owner else None
            admin_of = await domain_store.administered_by(tx, owner.user_id) if owner else []
        if (
            owner is None
            or login is None
            or owner.kind != KIND
            or owner.revoked
            or owner.locked
            or owner.expires_at <= self.clock.now()
        ):
            raise Unauthenticated("session", "", REFUSED)
        tenant = await self._tenants.by_id(owner.tenant_id)
        return RmpSession(
            actor=Actor(tenant, owner.username),
            user_id=owner.user_id,
            email=f"{owner.username}@{tenant.domain}",
            real_name=login.name,
            is_server_admin=roles.SERVER_ADMIN in login.roles,
            admin_domains=tuple(admin_of),
            sid=sid,
        )

    async def _key(self) -> str:
        """The server's secret key (created at first start, shared by every process)."""
        if self._secret is None:
            async with self.db.read() as tx:
                self._secret = await settings_store.get_setting(tx, "secret_key")
        if not self._secret:
            raise Unauthenticated("session", "", "the server has no secret key yet")
        return self._secret
