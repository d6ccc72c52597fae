"""`townhall admin` and `townhall users`: administrators and people."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from townhall.cli.common import in_first_tenant

if TYPE_CHECKING:
    from townhall.domain.principal import Principal
    from townhall.services.container import Services

admins = typer.Typer(help="Administrators.", no_args_is_help=True)
users = typer.Typer(help="Users.", no_args_is_help=True)


@admins.command("create")
def admin_create(
    username: Annotated[str, typer.Argument(help="The new administrator's username.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
) -> None:
    """Create an administrator in the first tenant."""
    from townhall.domain import roles
    from townhall.services.people import NewPerson

    async def create(services: Services, actor: Principal) -> None:
        admin = NewPerson(username, password, email=email, roles=frozenset({roles.SERVER_ADMIN}))
        await services.people.create(actor, admin)

    in_first_tenant(create, f"administrator {username} created")


@admins.command("reset-password")
def admin_reset_password(
    username: Annotated[str, typer.Argument(help="Whose password.")] = "admin",
    tenant: Annotated[
        str | None, typer.Option(help="The tenant's domain (default: the first tenant).")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="The new password (default: generated, printed once).")
    ] = None,
) -> None:
    """The way back in: set a new password, unlock the account and forget its failed
    logins (those counted in Redis; a server without Redis forgets them when their
    window ends). The person's sessions and tokens end."""
    import secrets

    from townhall.services.people import PersonChanges

    chosen = password or secrets.token_urlsafe(16)

    async def reset(services: Services, actor: Principal) -> None:
        await services.people.update(actor, username, PersonChanges(password=chosen))
        await services.people.set_locked(actor, username, False)
        await services.auth.forgive_failures(actor.tenant, username)

    shown = "" if password else f"\n  new password (shown once): {chosen}"
    in_first_tenant(reset, f"password of {username} reset and account unlocked{shown}", tenant)


@users.command("set-key")
def users_set_key(
    username: Annotated[str, typer.Argument(help="Whose key.")],
    pemfile: Annotated[Path, typer.Argument(help="PEM file with an RSA public key.")],
    previous: Annotated[
        bool, typer.Option("--previous", help="Set the previous key instead of the current one.")
    ] = False,
) -> None:
    """Register the RSA public key a user (e.g. a Symphony bot) signs its logins with."""
    pem = pemfile.read_text()
    kind = "previous" if previous else "current"

    from townhall.services.people import PersonChanges

    async def set_key(services: Services, actor: Principal) -> None:
        await services.people.update(actor, username, PersonChanges(keys={kind: (pem, None)}))

    in_first_tenant(set_key, f"key registered for {username}")
