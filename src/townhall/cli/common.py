"""What every command shares: one-line refusals, the first start, a run inside a
tenant, a progress bar."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import typer

from townhall.config import Settings, load_settings

if TYPE_CHECKING:
    from townhall.domain.principal import Principal
    from townhall.services.container import Services


def prepare(settings: Settings) -> None:
    """Migrate, then create the first tenant and admin if the database is new."""
    from townhall.app import TENANT_DEFAULTS
    from townhall.services.bootstrap import ensure_initialised
    from townhall.services.container import Services
    from townhall.store.migrate import upgrade

    upgrade(settings.database_url)

    async def bootstrap() -> None:
        services = Services.build(settings)
        try:
            first = await ensure_initialised(services, settings, TENANT_DEFAULTS)
        finally:
            await services.close()
        if first.created:
            typer.echo(f"Created tenant {first.domain} with administrator 'admin'.")
            if first.admin_password:
                typer.echo(f"  admin password (shown once): {first.admin_password}")

    refusing_domain_errors(lambda: asyncio.run(bootstrap()))


def refusing_domain_errors(run: Callable[[], None]) -> None:
    """A refused setting or argument is one line on stderr and exit status 1, not a
    traceback (the refusal names the field or setting)."""
    from townhall.domain.errors import DomainError, Invalid

    try:
        run()
    except DomainError as exc:
        named = str(exc)
        if isinstance(exc, Invalid):
            reads = exc.reason.startswith(exc.field)
            named = exc.reason if reads else f"{exc.field}: {exc.reason}"
        typer.echo(f"error: {named}", err=True)
        raise typer.Exit(1) from None


def in_first_tenant(
    action: Callable[[Services, Principal], Awaitable[None]], done: str, domain: str | None = None
) -> None:
    """Run `action` as the CLI in the first tenant (or the one with `domain`); a domain
    error exits with status 1."""
    from townhall.app import TENANT_DEFAULTS
    from townhall.domain.principal import Principal
    from townhall.services.container import Services

    settings = load_settings()
    prepare(settings)

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
