"""`townhall db`: the schema."""

from __future__ import annotations

import typer

from townhall.config import load_settings

commands = typer.Typer(help="Database schema.", no_args_is_help=True)


@commands.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending schema migration."""
    from townhall.store.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    typer.echo("database is up to date")
