"""`townhall db`: the schema."""

from __future__ import annotations

import asyncio

import typer

commands = typer.Typer(help="Database schema.", no_args_is_help=True)


@commands.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending schema migration (creating the schema in an empty
    database) and list each one applied."""
    from townhall.cli.common import configured, database_where, inspect_database
    from townhall.store.migrate import upgrade

    settings = configured().settings
    asyncio.run(inspect_database(settings))  # a missing PostgreSQL database is named
    applied = upgrade(settings.database_url)
    for migration in applied:
        typer.echo(f"applied {migration.revision}: {migration.description}")
    if applied:
        typer.echo(f"{database_where(settings)} is at revision {applied[-1].revision}")
        return
    from townhall.store.migrate import head_revision

    typer.echo(f"database is up to date (revision {head_revision()})")
