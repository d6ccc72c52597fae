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


TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="The tenant's domain (default: the first tenant).")
]


@users.command("list")
def users_list(
    tenant: TenantOption = None,
    search: Annotated[
        str | None,
        typer.Option(help="Only people whose username, name or e-mail address contains it."),
    ] = None,
) -> None:
    """List a tenant's people, whichever API made them: username, name, e-mail
    address, state (active or locked), roles."""
    from townhall.domain.queries import PersonFilter

    async def show(services: Services, actor: Principal) -> None:
        found, _ = await services.people.search(actor, PersonFilter(text=search or None))
        for person in found:
            state = "locked" if person.locked else "active"
            roles = ",".join(sorted(person.roles)) or "-"
            typer.echo(f"{person.username}\t{person.name}\t{person.email or '-'}\t{state}\t{roles}")

    in_first_tenant(show, "", tenant)


@users.command("show")
def users_show(
    username: Annotated[str, typer.Argument(help="Whose account.")],
    tenant: TenantOption = None,
) -> None:
    """Show one person's account: id, name, e-mail address, state, roles, dates,
    properties (never a password or key)."""

    async def show(services: Services, actor: Principal) -> None:
        person = await services.people.get(actor, username)
        lines = {
            "username": person.username,
            "id": str(person.id),
            "tenant": actor.tenant.domain,
            "name": person.name or "-",
            "email": person.email or "-",
            "state": "locked" if person.locked else "active",
            "account type": person.account_type,
            "roles": ",".join(sorted(person.roles)) or "-",
            "created": person.created_at.isoformat(timespec="seconds"),
            "updated": person.updated_at.isoformat(timespec="seconds"),
        }
        lines.update({f"property {k}": v or "" for k, v in sorted(person.properties.items())})
        for key, value in lines.items():
            typer.echo(f"{key}: {value}")

    in_first_tenant(show, "", tenant)


@users.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Argument(help="Whose password.")],
    tenant: TenantOption = None,
    password: Annotated[
        str | None, typer.Option(help="The new password (default: generated, printed once).")
    ] = None,
) -> None:
    """Set a new password (the person's sessions and tokens end) and forget the
    account's failed logins; a locked account stays locked (`users unlock`)."""
    import secrets

    from townhall.services.people import PersonChanges

    chosen = password or secrets.token_urlsafe(16)

    async def reset(services: Services, actor: Principal) -> None:
        await services.people.update(actor, username, PersonChanges(password=chosen))
        await services.auth.forgive_failures(actor.tenant, username)

    shown = "" if password else f"\n  new password (shown once): {chosen}"
    in_first_tenant(reset, f"password of {username} reset{shown}", tenant)


@users.command("lock")
def users_lock(
    username: Annotated[str, typer.Argument(help="Whose account.")],
    tenant: TenantOption = None,
) -> None:
    """Lock an account: it can no longer log in through any API, and its live
    connections and session tokens end at once."""

    async def lock(services: Services, actor: Principal) -> None:
        await services.people.set_locked(actor, username, True)

    in_first_tenant(lock, f"{username} locked", tenant)


@users.command("unlock")
def users_unlock(
    username: Annotated[str, typer.Argument(help="Whose account.")],
    tenant: TenantOption = None,
) -> None:
    """Unlock an account, so it can log in again."""

    async def unlock(services: Services, actor: Principal) -> None:
        await services.people.set_locked(actor, username, False)

    in_first_tenant(unlock, f"{username} unlocked", tenant)
