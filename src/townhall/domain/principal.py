"""Who is asking: the one principal every way in yields and every service call takes.

Each dialect authenticates in its own scheme (Openfire Basic or shared secret, Symphony
session tokens, RMP JWTs), but all of them end in the same `Principal`, so a rule such as
"only a server administrator may change another" is written once, in the service that
owns it, and holds whichever API the request came through.
"""

from __future__ import annotations

from dataclasses import dataclass

from townhall.domain import roles
from townhall.domain.errors import Unauthenticated
from townhall.domain.models import Tenant


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller within one tenant.

    `username` and `user_id` name the person (None for the server itself: the CLI, the
    shared secret, first start). `roles` are the person's stored roles; `admin_domains`
    the domains it administers besides (RMP's domain admins). `session_id` identifies
    the credential a session-bound caller came with, so that it can be revoked.
    `must_change_password`: the person was told to change their password before doing
    anything else. `brand_id`: the brand a caller above tenants acts for (OX's reseller
    admins, and the master admin for the default brand); such a caller sits in the
    first tenant only so that what it changes is audited there, and holds no role of it.
    """

    tenant: Tenant
    username: str | None = None
    user_id: int | None = None
    roles: frozenset[str] = frozenset()
    admin_domains: tuple[str, ...] = ()
    session_id: str | None = None
    must_change_password: bool = False
    brand_id: int | None = None

    @classmethod
    def system(cls, tenant: Tenant, name: str | None = None) -> Principal:
        """The server acting for itself (CLI, shared secret, bootstrap): a server admin."""
        return cls(tenant, name, roles=frozenset({roles.SERVER_ADMIN}))

    @property
    def person_id(self) -> int:
        """The person's id, for callers that are always a person (session holders)."""
        if self.user_id is None:
            raise Unauthenticated("session", self.username or "", "the caller is no person")
        return self.user_id

    @property
    def tenant_id(self) -> int:
        return self.tenant.id

    def jid(self, username: str) -> str:
        return f"{username}@{self.tenant.domain}"

    @property
    def address(self) -> str:
        """The person's address in the tenant's primary domain."""
        return self.jid(self.username or "")

    @property
    def effective_roles(self) -> frozenset[str]:
        return roles.effective(self.roles)

    def holds_any(self, wanted: frozenset[str]) -> bool:
        return bool(self.effective_roles & wanted)

    @property
    def is_server_admin(self) -> bool:
        return roles.SERVER_ADMIN in self.roles

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
