"""`townhall`: serve the APIs, migrate the database, manage people, tenants and backups.

One module per area of commands; each imports what its commands need only when they
run, so `townhall --help` and every short command start quickly.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from townhall import __version__
from townhall.cli import (
    backup,
    common,
    compliance,
    configuration,
    db,
    imports,
    mail,
    people,
    serve,
    tenants,
)

app = typer.Typer(help="Townhall: one back office, four admin APIs.", no_args_is_help=True)


@app.callback()
def options(
    create: Annotated[
        bool,
        typer.Option(
            "--create",
            help="Let a command create the database (and first tenant) where none is yet; "
            "without it, only `serve` and `db upgrade` do.",
        ),
    ] = False,
) -> None:
    """Townhall: one back office, four admin APIs."""
    common.OPTIONS.create = create


app.command()(serve.serve)
app.command()(backup.backup)
app.command()(backup.restore)
app.command("import")(imports.import_file)
app.add_typer(db.commands, name="db")
app.add_typer(people.admins, name="admin")
app.add_typer(people.users, name="users")
app.add_typer(compliance.disclaimers, name="disclaimers")
app.add_typer(compliance.barriers, name="barriers")
app.add_typer(tenants.tenants, name="tenants")
app.add_typer(tenants.brands, name="brands")
app.add_typer(mail.commands, name="mail")
app.add_typer(configuration.commands, name="config")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    """The `townhall` command: a configuration mistake is one line and exit status 2,
    a database that does not answer one line and 1, never a traceback."""
    from townhall.config import ConfigError

    try:
        app()
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except common.Unreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
