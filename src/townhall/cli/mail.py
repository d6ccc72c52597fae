"""`townhall mail`: production mail (Postfix + Dovecot)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from townhall.cli.common import configured, refusing_domain_errors, require_database

commands = typer.Typer(help="Production mail (Postfix + Dovecot).", no_args_is_help=True)


@commands.command("engine-role")
def mail_engine_role(
    name: Annotated[str, typer.Argument(help="The role Postfix and Dovecot log in as.")],
    password: Annotated[
        str | None, typer.Option(help="Its password (default: none; trust or peer auth).")
    ] = None,
) -> None:
    """Make (or bring up to date) the PostgreSQL role for the mail engines: it may read
    the views they query (mta_*, mda_*) and write Dovecot's last logins, nothing else."""
    from townhall.store.mail_views import grant_engine_role

    settings = configured().settings
    if settings.is_sqlite:
        typer.echo(
            "error: engine roles are PostgreSQL's; on SQLite give the engines read access "
            "to the database file (and write access for last logins)",
            err=True,
        )
        raise typer.Exit(1)
    from townhall.store.migrate import upgrade

    require_database(settings)
    upgrade(settings.database_url)
    refusing_domain_errors(
        lambda: asyncio.run(grant_engine_role(settings.database_url, name, password))
    )
    typer.echo(f"role {name} may read the mail views and write mail_last_login")
