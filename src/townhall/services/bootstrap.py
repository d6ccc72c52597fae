"""First start: the first tenant, its domain and the bootstrap admin, exactly once."""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from townhall.config import Settings
from townhall.domain import names, roles
from townhall.domain import people as rules
from townhall.domain.errors import Invalid
from townhall.domain.models import DEFAULT_BRAND_ID, Tenant
from townhall.domain.principal import Principal
from townhall.infrastructure import listeners, mta_policy, smtp_inbound
from townhall.infrastructure.events import redis_answers
from townhall.services.container import Services
from townhall.services.people import NewPerson, PersonChanges
from townhall.store import brands as brand_store
from townhall.store import people as people_store
from townhall.store import tenants as tenant_store

SECRET_KEY_SETTING = "secret_key"
ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class FirstStart:
    """What a first start created; `admin_password` is set only if Townhall generated it."""

    created: bool
    domain: str
    admin_password: str | None = None


TenantDefaults = Callable[[Services, Principal], Awaitable[None]]
"""What an API sets up in a new tenant (e.g. Openfire's auth properties)."""


async def ensure_initialised(
    services: Services, settings: Settings, defaults: Sequence[TenantDefaults] = ()
) -> FirstStart:
    """Create the first tenant and admin on an empty database; later starts change
    nothing. `defaults` are the APIs' own set-up of the new tenant (the application's
    `tenant_defaults`), which services cannot know. A `TOWNHALL_ADMIN_PASSWORD` that
    breaks the password policy is refused before anything is created."""
    async with services.deps.db.read() as tx:
        new = await tenant_store.first_tenant(tx) is None
    if new and settings.admin_password is not None:
        try:
            rules.password(settings.admin_password, settings.password_min_length)
        except Invalid as exc:
            setting = "TOWNHALL_ADMIN_PASSWORD"
            raise Invalid(setting, f"{setting} {exc.reason}", exc.kind) from None
    async with services.deps.db.write() as tx:
        tenant = await tenant_store.first_tenant(tx)
        if await tenant_store.get_setting(tx, SECRET_KEY_SETTING) is None:
            key = settings.secret_key or secrets.token_urlsafe(48)
            await tenant_store.put_setting(tx, SECRET_KEY_SETTING, key)
        if tenant is None:
            names.not_an_address(settings.domain.lower(), "TOWNHALL_DOMAIN")
            tenant = await tenant_store.create_tenant(
                tx, settings.domain, settings.domain.lower(), services.deps.clock.now()
            )
            created = True
        else:
            created = False
    if not created:
        await _register_admin_key(services, settings, tenant)
        await _set_mail_credential(services, settings, tenant)
        return FirstStart(False, tenant.domain)
    generated = settings.admin_password is None
    password = settings.admin_password or secrets.token_urlsafe(12)
    actor = Principal.system(tenant)
    admin = NewPerson(
        ADMIN_USERNAME,
        password,
        name="Administrator",
        email=f"{ADMIN_USERNAME}@{tenant.domain}",
        roles=frozenset({roles.SERVER_ADMIN}),
    )
    await services.people.create(actor, admin)
    await services.on_first_start(actor)
    for set_up in defaults:
        await set_up(services, actor)
    await _register_admin_key(services, settings, tenant)
    await _set_mail_credential(services, settings, tenant)
    return FirstStart(True, tenant.domain, password if generated else None)


async def ignored_settings(
    services: Services, settings: Settings, explicit: Collection[str]
) -> list[str]:
    """Warnings for the settings set (`explicit`) that only the first start applies and
    that differ from what the database holds: the first tenant's domain, the `admin`
    password (verified against its hash, never shown), the stored secret key. Changing
    them later would otherwise be silently ignored."""
    async with services.deps.db.read() as tx:
        tenant = await tenant_store.first_tenant(tx)
        stored_key = await tenant_store.get_setting(tx, SECRET_KEY_SETTING)
        admin = await people_store.login(tx, tenant.id, ADMIN_USERNAME) if tenant else None
    if tenant is None:
        return []
    later = "only the first start applies it"
    warnings: list[str] = []
    if "domain" in explicit and settings.domain.strip().lower() != tenant.domain.lower():
        warnings.append(
            f"TOWNHALL_DOMAIN is {settings.domain} but the first tenant's domain is "
            f"{tenant.domain}: {later} (add a route with `townhall tenants route`)"
        )
    wanted = settings.admin_password if "admin_password" in explicit else None
    stored = admin.password_hash if admin is not None else None
    if wanted and stored and not await services.deps.passwords.verify(stored, wanted):
        warnings.append(
            f"TOWNHALL_ADMIN_PASSWORD is not {ADMIN_USERNAME}'s password: {later} "
            f"(set it with `townhall users reset-password {ADMIN_USERNAME}`)"
        )
    key = settings.secret_key if "secret_key" in explicit else None
    if (
        key
        and stored_key is not None
        and not hmac.compare_digest(key.encode(), stored_key.encode())
    ):
        warnings.append(f"TOWNHALL_SECRET_KEY is not the stored secret key: {later}")
    return warnings


async def _register_admin_key(services: Services, settings: Settings, tenant: Tenant) -> None:
    """`TOWNHALL_ADMIN_PUBLIC_KEY` (a PEM file) becomes the admin's current login key, so a
    bot can sign in as `admin` on a fresh server."""
    if not settings.admin_public_key:
        return
    pem = Path(settings.admin_public_key).read_text()
    changes = PersonChanges(keys={"current": (pem, None)})
    await services.people.update(Principal.system(tenant), ADMIN_USERNAME, changes)


async def _set_mail_credential(services: Services, settings: Settings, tenant: Tenant) -> None:
    """`TOWNHALL_OX_MAIL_CREDENTIAL` (`user:password`) becomes the default brand's mail-read
    credential at every start, so changing it takes effect (unchanged: nothing is written)."""
    if not settings.ox_mail_credential:
        return
    username, _, password = settings.ox_mail_credential.partition(":")
    async with services.deps.db.read() as tx:
        found = await brand_store.mail_credential(tx, username)
    current = found is not None and found[0].id == DEFAULT_BRAND_ID
    if not (current and found and await services.deps.passwords.verify(found[1], password)):
        default = await services.brands.of_default()
        actor = Principal.system(tenant, "TOWNHALL_OX_MAIL_CREDENTIAL")
        await services.brands.set_mail_credential(actor, default.name, username, password)


CHECK_SECONDS = 10.0
"""How long `unreachable` waits for the database to answer."""


async def unreachable(settings: Settings) -> str | None:
    """Why the server cannot start, in one line (None if it can): the database must
    answer, Redis, if configured, too, and the mail listeners' addresses be free.
    Checked before anything is created, so a server that cannot run leaves no tenant
    or admin behind."""
    for name, setting in (
        (smtp_inbound.SETTING, settings.smtp_listen),
        (mta_policy.SETTING, settings.mta_policy_listen),
    ):
        why = listeners.cannot_listen(name, setting)
        if why is not None:
            return why
    if settings.redis_url:
        why = await redis_answers(settings.redis_url)
        if why is not None:
            return f"Redis at {_where(settings.redis_url)} is unreachable ({_line(why)})"
    why = await _database_unreachable(settings.database_url)
    if why is not None:
        return f"the database {_where(settings.database_url)} is unreachable ({_line(why)})"
    return None


async def _database_unreachable(url: str) -> str | None:
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path or path == ":memory:":
            return None
        folder = Path(path).absolute().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            return f"{folder} is not a writable folder"
        return None
    import asyncpg

    # The driver itself, not the store: the store would report "busy, try again" (its
    # answer to a request), where this wants the refusal's own words.
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = await asyncpg.connect(dsn, timeout=CHECK_SECONDS)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


def _where(url: str) -> str:
    """The URL without credentials (what it names, not how to get in)."""
    return make_url(url).render_as_string(hide_password=True)


def _line(text: str) -> str:
    first = text.strip().splitlines()
    return first[0] if first else "no reason given"
