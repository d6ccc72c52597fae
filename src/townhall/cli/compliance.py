"""`townhall disclaimers` and `townhall barriers`: Symphony's compliance objects, which
its API cannot create."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from townhall.cli.common import in_first_tenant

if TYPE_CHECKING:
    from townhall.domain.principal import Principal
    from townhall.services.container import Services

disclaimers = typer.Typer(help="Compliance disclaimers.", no_args_is_help=True)
barriers = typer.Typer(help="Information barriers: groups and policies.", no_args_is_help=True)


@disclaimers.command("create")
def disclaimers_create(
    name: Annotated[str, typer.Argument(help="The disclaimer's name, unique in the tenant.")],
    content: Annotated[str | None, typer.Option(help="The text users must accept.")] = None,
    content_file: Annotated[
        Path | None, typer.Option(help="Read the text from this file instead.")
    ] = None,
    format: Annotated[str, typer.Option(help="TEXT or XML (MessageML).")] = "TEXT",
    frequency_hours: Annotated[
        int, typer.Option(help="Hours before users are asked again (0: once).")
    ] = 0,
    default: Annotated[
        bool, typer.Option("--default", help="Make it the tenant's default disclaimer.")
    ] = False,
    inactive: Annotated[
        bool, typer.Option("--inactive", help="Create it switched off (not assignable).")
    ] = False,
) -> None:
    """Create a disclaimer (Symphony has no API for it) and print its id."""
    if content is not None and content_file is None:
        text = content
    elif content_file is not None and content is None:
        text = content_file.read_text()
    else:
        raise typer.BadParameter("give exactly one of --content and --content-file")

    async def create(services: Services, actor: Principal) -> None:
        made = await services.disclaimers.create(
            actor, name, text, format.upper(), frequency_hours, default, not inactive
        )
        typer.echo(f"disclaimer {made.id} created")

    in_first_tenant(create, "")


@barriers.command("create-group")
def barriers_create_group(
    name: Annotated[str, typer.Argument(help="The group's name, unique in the tenant.")],
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it switched off.")] = False,
) -> None:
    """Create an information-barrier group and print its id; add members through the
    Symphony API (`/pod/v1/admin/group/{gid}/membership/add`)."""

    async def create(services: Services, actor: Principal) -> None:
        made = await services.barriers.create_group(actor, name, not inactive)
        typer.echo(f"group {made.id} created")

    in_first_tenant(create, "")


@barriers.command("create-policy")
def barriers_create_policy(
    first: Annotated[str, typer.Argument(help="One group, by id or name.")],
    second: Annotated[str, typer.Argument(help="The other group, by id or name.")],
    type: Annotated[str, typer.Option(help="BLOCK or ALLOW contact between them.")] = "BLOCK",
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it switched off.")] = False,
) -> None:
    """Create a policy between two information-barrier groups and print its id."""

    async def create(services: Services, actor: Principal) -> None:
        made = await services.barriers.create_policy(
            actor, type.upper(), [first, second], not inactive
        )
        typer.echo(f"policy {made.id} created")

    in_first_tenant(create, "")
