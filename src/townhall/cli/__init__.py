"""`townhall`: serve the APIs, migrate the database, manage people, tenants and backups.

One module per area of commands; each imports what its commands need only when they
run, so `townhall --help` and every short command start quickly.
"""

from __future__ import annotations

import typer

from townhall import __version__
from townhall.cli import backup, compliance, db, imports, mail, people, serve, tenants

app = typer.Typer(help="Townhall: one back office, four admin APIs.", no_args_is_help=True)
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


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
