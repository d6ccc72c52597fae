"""What every command shares: its settings checked, the database it needs found (or
refused), the first start, one-line refusals, a run inside a tenant, a progress bar."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from townhall.config import ConfigError, Loaded, Settings, env_name

if TYPE_CHECKING:
    from townhall.domain.principal import Principal
    from townhall.services.container import Services


@dataclass
class Options:
    """The top-level options (`townhall --create ...`), set by the app's callback."""

    create: bool = False


OPTIONS = Options()


class Unreachable(Exception):
    """The database did not answer (exit status 1: the configuration may be right)."""


def configured() -> Loaded:
    """The settings, every mistake that can be found without the database refused
    as a ConfigError (one line, exit 2, from `townhall.cli.main`)."""
    from townhall.cli.configuration import problems
    from townhall.config import load

    loaded = load()
    found = problems(loaded)
    if found:
        raise found[0]
    return loaded


def database_where(settings: Settings) -> str:
    """The database as the operator should read it: the SQLite file, or the URL
    without its password."""
    if settings.sqlite_file is not None:
        return str(settings.sqlite_file)
    from sqlalchemy import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


async def inspect_database(settings: Settings) -> tuple[bool, str | None]:
    """Whether a Townhall database is there (the SQLite file; on PostgreSQL, its
    schema) and its schema revision. A PostgreSQL database that does not exist is a
    ConfigError naming it; one that does not answer is Unreachable."""
    path = settings.sqlite_file
    if settings.is_sqlite:
        if path is None:  # in memory
            return True, None
        if not path.exists():
            return False, None
        import sqlite3

        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return True, None
        return True, row[0] if row else None
    import asyncpg
    from sqlalchemy import make_url

    url = make_url(settings.database_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = await asyncpg.connect(dsn, timeout=10)
    except asyncpg.InvalidCatalogNameError:
        where = f"{url.host or 'localhost'}:{url.port or 5432}"
        raise ConfigError(
            env_name("database_url"),
            f"the PostgreSQL database {url.database} does not exist on {where} "
            f"(create it: createdb {url.database})",
        ) from None
    except Exception as exc:  # refused, timed out, wrong password: one line, whatever it is
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise Unreachable(
            f"the database {database_where(settings)} is unreachable ({reason})"
        ) from None
    try:
        if await connection.fetchval("SELECT to_regclass('public.alembic_version')") is None:
            return False, None
        revision = await connection.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    return True, revision


async def database_state(settings: Settings) -> str:
    """One line on the database for `config check`."""
    exists, revision = await inspect_database(settings)
    if not exists:
        return f"none yet at {database_where(settings)} (`townhall serve` creates it)"
    return f"{database_where(settings)} (revision {revision or 'none'})"


def require_database(settings: Settings) -> None:
    """Refuse (exit 2) to go on where no Townhall database is unless `--create` was
    given: a command run from the wrong folder, or with a mistyped database URL,
    would otherwise silently create a new one, with a new tenant and admin password."""
    exists, _ = asyncio.run(inspect_database(settings))
    if not exists and not OPTIONS.create:
        typer.echo(
            f"error: no Townhall database at {database_where(settings)}: "
            "run `townhall serve` first, or pass --create",
            err=True,
        )
        raise typer.Exit(2)


def prepare(settings: Settings, warn_for: Collection[str] | None = None) -> None:
    """Migrate, then create the first tenant and admin if the database is new. With
    `warn_for` (the settings set on purpose), warn of those of them that only the
    first start applies and that differ from what is stored."""
    from townhall.app import TENANT_DEFAULTS
    from townhall.services.bootstrap import ensure_initialised, ignored_settings
    from townhall.services.container import Services
    from townhall.store.migrate import upgrade

    upgrade(settings.database_url)

    async def bootstrap() -> None:
        services = Services.build(settings)
        try:
            first = await ensure_initialised(services, settings, TENANT_DEFAULTS)
            ignored = (
                await ignored_settings(services, settings, warn_for)
                if warn_for is not None and not first.created
                else []
            )
        finally:
            await services.close()
        if first.created:
            typer.echo(f"Created tenant {first.domain} with administrator 'admin'.")
            if first.admin_password:
                typer.echo(f"  admin password (shown once): {first.admin_password}")
        for warning in ignored:
            typer.echo(f"townhall: warning: {warning}", err=True)

    refusing_domain_errors(lambda: asyncio.run(bootstrap()))


def refusing_domain_errors(run: Callable[[], None]) -> None:
    """A refused setting or argument is one line on stderr and exit status 1, not a
    traceback; the line says which case it is ("user alice already exists", "no user
    alice") and names the field or setting."""
    from townhall.domain.errors import AlreadyExists, DomainError, Forbidden, Invalid, NotFound

    try:
        run()
    except DomainError as exc:
        named = str(exc)
        if isinstance(exc, Invalid):
            reads = exc.reason.startswith(exc.field)
            named = exc.reason if reads else f"{exc.field}: {exc.reason}"
        elif exc.detail:
            named = exc.detail
        elif isinstance(exc, AlreadyExists):
            named = f"{exc.kind} {exc.subject} already exists"
        elif isinstance(exc, NotFound):
            named = f"no {exc.kind} {exc.subject}"
        elif isinstance(exc, Forbidden):
            named = f"{exc.kind} {exc.subject}: not allowed"
        typer.echo(f"error: {named}", err=True)
        raise typer.Exit(1) from None


def open_database_of(loaded: Loaded | None = None) -> Settings:
    """The settings of a command that works on an existing database: checked, the
    database found (or `--create` given), migrated and initialised."""
    settings = (loaded or configured()).settings
    require_database(settings)
    prepare(settings)
    return settings


def in_first_tenant(
    action: Callable[[Services, Principal], Awaitable[None]], done: str, domain: str | None = None
) -> None:
    """Run `action` as the CLI in the first tenant (or the one with `domain`); a domain
    error exits with status 1."""
    from townhall.app import TENANT_DEFAULTS
    from townhall.domain.principal import Principal
    from townhall.services.container import Services

    settings = open_database_of()

    async def run() -> None:
        services = Services.build(settings, tenant_defaults=TENANT_DEFAULTS)
        try:
            tenant = (
                await services.tenants.by_domain(domain)
                if domain
                else await services.tenants.first()
            )
            if tenant is None:
                raise typer.Exit(1)
            await action(services, Principal.system(tenant, "cli"))
        finally:
            await services.close()

    refusing_domain_errors(lambda: asyncio.run(run()))
    if done:
        typer.echo(done)


class ProgressBar:
    """The CLI's progress bar for a backup or restore (on stderr, so the answer on
    stdout stays a plain line)."""

    def __init__(self, title: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[step]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self._title = title
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def start(self, total: int) -> None:
        self._task = self._progress.add_task(self._title, total=total, step="")

    def advance(self, label: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, advance=1, step=label)
