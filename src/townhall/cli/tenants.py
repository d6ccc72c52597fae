"""`townhall tenants` and `townhall brands`: the operator's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from townhall.cli.common import in_first_tenant

if TYPE_CHECKING:
    from townhall.domain.principal import Principal
    from townhall.services.container import Services

tenants = typer.Typer(help="Tenants (the operator's).", no_args_is_help=True)
brands = typer.Typer(help="Brands (resellers, OX's brands): the operator's.", no_args_is_help=True)


@tenants.command("create")
def tenants_create(
    domain: Annotated[str, typer.Argument(help="The tenant's primary domain (routes to it).")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the domain).")] = None,
    admin: Annotated[str, typer.Option(help="The first administrator's username.")] = "admin",
    brand: Annotated[
        str | None, typer.Option(help="The brand that owns it (default: the default brand).")
    ] = None,
) -> None:
    """Create a tenant with its first administrator and print the admin's credentials."""
    from townhall.services.tenants import NewTenant

    async def create(services: Services, actor: Principal) -> None:
        made = await services.tenants.create(actor, NewTenant(domain, name, admin, brand))
        typer.echo(f"tenant {made.tenant.domain} created (context {made.tenant.id})")
        typer.echo(f"  admin username: {made.admin}")
        typer.echo(f"  admin password (shown once): {made.password}")

    in_first_tenant(create, "")


@tenants.command("list")
def tenants_list() -> None:
    """List the tenants: primary domain, display name, routing names."""

    async def show(services: Services, actor: Principal) -> None:
        for info in await services.tenants.list(actor):
            mark = " (default)" if info.default else ""
            routes = ",".join(info.routes)
            typer.echo(f"{info.tenant.domain}\t{info.tenant.name}\t{routes}{mark}")

    in_first_tenant(show, "")


@tenants.command("delete")
def tenants_delete(
    domain: Annotated[str, typer.Argument(help="The tenant's primary domain.")],
) -> None:
    """Delete a tenant and everything it holds (never the first tenant)."""

    async def remove(services: Services, actor: Principal) -> None:
        await services.tenants.delete(actor, domain)

    in_first_tenant(remove, f"tenant {domain} deleted")


@tenants.command("route")
def tenants_route(
    domain: Annotated[str, typer.Argument(help="The tenant's primary domain.")],
    name: Annotated[str, typer.Argument(help="A further host name that routes to it.")],
) -> None:
    """Make requests whose Host is NAME (and RMP logins naming it) reach the tenant."""

    async def add(services: Services, actor: Principal) -> None:
        await services.tenants.add_route(actor, domain, name)

    in_first_tenant(add, f"{name} routes to {domain}")


@brands.command("create")
def brands_create(
    name: Annotated[str, typer.Argument(help="The brand's name, unique.")],
    parent: Annotated[
        str | None, typer.Option(help="The brand it is a sub-brand of, by name.")
    ] = None,
) -> None:
    """Create a brand (a reseller) that tenants can belong to."""

    async def create(services: Services, actor: Principal) -> None:
        made = await services.brands.create(actor, name, parent)
        typer.echo(f"brand {made.name} created (id {made.id})")

    in_first_tenant(create, "")


@brands.command("list")
def brands_list() -> None:
    """List the brands: id, name, parent, mail-read username."""

    async def show(services: Services, actor: Principal) -> None:
        found = await services.brands.all(actor)
        names = {b.id: b.name for b in found}
        for brand in found:
            parent = names.get(brand.parent_id, "-") if brand.parent_id else "-"
            typer.echo(f"{brand.id}\t{brand.name}\t{parent}\t{brand.mail_username or '-'}")

    in_first_tenant(show, "")


@brands.command("add-admin")
def brands_add_admin(
    brand: Annotated[str, typer.Argument(help="The brand, by name.")],
    username: Annotated[str, typer.Argument(help="The reseller admin's username (unique).")],
    password: Annotated[
        str | None, typer.Option(help="Their password (default: a generated one, shown once).")
    ] = None,
) -> None:
    """Add a reseller administrator to a brand and print the credentials."""

    async def add(services: Services, actor: Principal) -> None:
        made = await services.brands.add_admin(actor, brand, username, password)
        typer.echo(f"brand admin {made.admin.username} added to {brand}")
        if password is None:
            typer.echo(f"  password (shown once): {made.password}")

    in_first_tenant(add, "")


@brands.command("set-mail-credential")
def brands_set_mail_credential(
    brand: Annotated[str, typer.Argument(help="The brand, by name.")],
    credential: Annotated[str, typer.Argument(help="USER:PASSWORD for its mail reads.")],
) -> None:
    """Set the Basic credential that reads the mail counters of the brand's people."""
    username, _, password = credential.partition(":")

    async def apply(services: Services, actor: Principal) -> None:
        await services.brands.set_mail_credential(actor, brand, username, password)

    in_first_tenant(apply, f"mail credential of {brand} set")
