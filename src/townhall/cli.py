"""`townhall`: serve the APIs, migrate the database, manage admins."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from townhall import __version__
from townhall.config import Settings, load_settings

if TYPE_CHECKING:
    from townhall.domain.principal import Principal
    from townhall.services.container import Services

app = typer.Typer(help="Townhall: one back office, four admin APIs.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
admin_app = typer.Typer(help="Administrators.", no_args_is_help=True)
users_app = typer.Typer(help="Users.", no_args_is_help=True)
disclaimers_app = typer.Typer(help="Compliance disclaimers.", no_args_is_help=True)
barriers_app = typer.Typer(help="Information barriers: groups and policies.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants (the operator's).", no_args_is_help=True)
brands_app = typer.Typer(
    help="Brands (resellers, OX's brands): the operator's.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(users_app, name="users")
app.add_typer(disclaimers_app, name="disclaimers")
app.add_typer(barriers_app, name="barriers")
app.add_typer(tenants_app, name="tenants")
app.add_typer(brands_app, name="brands")
mail_app = typer.Typer(help="Production mail (Postfix + Dovecot).", no_args_is_help=True)
app.add_typer(mail_app, name="mail")


def _prepare(settings: Settings) -> None:
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

    _refusing_domain_errors(lambda: asyncio.run(bootstrap()))


def _refusing_domain_errors(run: Callable[[], None]) -> None:
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


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
STOP_GRACE_SECONDS = 10
"""How long a stopping worker may finish its requests before it is killed."""


def _stop_later() -> threading.Event:
    """From now until Granian takes over, SIGTERM and SIGINT only ask for a stop, which
    `serve` honours between steps: a migration or the first start is never cut in half,
    and a stop asked for while Granian starts is not lost (see `_granian`)."""
    asked = threading.Event()
    for stop in STOP_SIGNALS:
        signal.signal(stop, lambda *_: asked.set())
    return asked


ALONE_WARNING = (
    "townhall: warning: {workers} workers without Redis (TOWNHALL_REDIS_URL): each keeps "
    "its own WebSocket events and failed-login counts (up to {workers} x the limits) and "
    "sees the others' changes to cached settings only when its cache expires; the read "
    "cache of resources, users, calendars and free/busy is off"
)
"""Several workers share events, login counts and cache invalidation only through Redis."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(help="Server processes.", min=1)] = 1,
) -> None:
    """Start the server (checking its database and Redis, then migrating and
    initialising the database first)."""
    from townhall.services.bootstrap import unreachable

    os.environ["TOWNHALL_WORKERS"] = str(workers)  # each worker sizes its pools by it
    stop = _stop_later()
    settings = load_settings()
    problem = asyncio.run(unreachable(settings))
    if problem is not None:
        typer.echo(f"townhall: cannot start: {problem}", err=True)
        raise typer.Exit(1)
    if not stop.is_set():
        _prepare(settings)
    if stop.is_set():
        typer.echo("Townhall stopped before serving.")
        return
    typer.echo(f"Townhall {__version__} listening on http://{host}:{port} ({workers} worker(s))")
    typer.echo(f"  database: {settings.database_url.split('@')[-1]}")
    typer.echo(f"  Openfire REST API: http://{host}:{port}/plugins/restapi/v1  docs: /docs")
    if settings.smtp_listen.strip().lower() not in ("", "off"):
        typer.echo(f"  mail (SMTP): {settings.smtp_listen}  mailboxes: {settings.mail_folder}")
    if settings.mta_policy_listen.strip().lower() not in ("", "off"):
        typer.echo(f"  Postfix policy service: {settings.mta_policy_listen}")
    if workers > 1 and not settings.redis_url:
        typer.echo(ALONE_WARNING.format(workers=workers), err=True)
    _granian(host, port, workers, stop).serve()


def _granian(host: str, port: int, workers: int, stop: threading.Event) -> Any:
    """Granian's server, closing two gaps where a SIGTERM was lost, after which the
    server ran on and ignored every later one:

    - a stop asked for before Granian installed its handlers is honoured as soon as it
      has (a startup hook asks it to stop, before its workers start);
    - a worker is forked with Granian's main-process handler, which in the worker only
      sets a flag nobody reads, until the worker installs its own. Granian stops a
      worker with SIGTERM; one that arrives in that gap (while the worker imports and
      builds the application) now ends the worker as the default action would."""
    from granian.constants import Interfaces, Loops
    from granian.server import Server

    class Townhall(Server):  # type: ignore[misc, valid-type]
        def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
            if os.getpid() != self.pid:  # a worker not yet serving: die as by default
                signum = args[0] if args else signal.SIGTERM
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                return
            super().signal_handler_interrupt(*args, **kwargs)

    server = Townhall(
        "townhall.app:create_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        loop=Loops.auto,
        log_access=False,
        # A worker that lost its SIGTERM anyway (one arriving as it installs its own
        # handlers) would be waited for forever; after this grace it is killed.
        workers_kill_timeout=STOP_GRACE_SECONDS,
    )

    def stop_if_asked() -> None:
        if stop.is_set():
            server.signal_handler_interrupt()

    server.on_startup(stop_if_asked)
    return server


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending schema migration."""
    from townhall.store.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    typer.echo("database is up to date")


def _in_first_tenant(
    action: Callable[[Services, Principal], Awaitable[None]], done: str, domain: str | None = None
) -> None:
    """Run `action` as the CLI in the first tenant (or the one with `domain`); a domain
    error exits with status 1."""
    from townhall.app import TENANT_DEFAULTS
    from townhall.domain.principal import Principal
    from townhall.services.container import Services

    settings = load_settings()
    _prepare(settings)

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

    _refusing_domain_errors(lambda: asyncio.run(run()))
    if done:
        typer.echo(done)


@admin_app.command("create")
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

    _in_first_tenant(create, f"administrator {username} created")


@admin_app.command("reset-password")
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
    _in_first_tenant(reset, f"password of {username} reset and account unlocked{shown}", tenant)


@users_app.command("set-key")
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

    _in_first_tenant(set_key, f"key registered for {username}")


@disclaimers_app.command("create")
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

    _in_first_tenant(create, "")


@barriers_app.command("create-group")
def barriers_create_group(
    name: Annotated[str, typer.Argument(help="The group's name, unique in the tenant.")],
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it switched off.")] = False,
) -> None:
    """Create an information-barrier group and print its id; add members through the
    Symphony API (`/pod/v1/admin/group/{gid}/membership/add`)."""

    async def create(services: Services, actor: Principal) -> None:
        made = await services.barriers.create_group(actor, name, not inactive)
        typer.echo(f"group {made.id} created")

    _in_first_tenant(create, "")


@barriers_app.command("create-policy")
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

    _in_first_tenant(create, "")


@tenants_app.command("create")
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

    _in_first_tenant(create, "")


@tenants_app.command("list")
def tenants_list() -> None:
    """List the tenants: primary domain, display name, routing names."""

    async def show(services: Services, actor: Principal) -> None:
        for info in await services.tenants.list(actor):
            mark = " (default)" if info.default else ""
            routes = ",".join(info.routes)
            typer.echo(f"{info.tenant.domain}\t{info.tenant.name}\t{routes}{mark}")

    _in_first_tenant(show, "")


@tenants_app.command("delete")
def tenants_delete(
    domain: Annotated[str, typer.Argument(help="The tenant's primary domain.")],
) -> None:
    """Delete a tenant and everything it holds (never the first tenant)."""

    async def remove(services: Services, actor: Principal) -> None:
        await services.tenants.delete(actor, domain)

    _in_first_tenant(remove, f"tenant {domain} deleted")


@tenants_app.command("route")
def tenants_route(
    domain: Annotated[str, typer.Argument(help="The tenant's primary domain.")],
    name: Annotated[str, typer.Argument(help="A further host name that routes to it.")],
) -> None:
    """Make requests whose Host is NAME (and RMP logins naming it) reach the tenant."""

    async def add(services: Services, actor: Principal) -> None:
        await services.tenants.add_route(actor, domain, name)

    _in_first_tenant(add, f"{name} routes to {domain}")


@brands_app.command("create")
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

    _in_first_tenant(create, "")


@brands_app.command("list")
def brands_list() -> None:
    """List the brands: id, name, parent, mail-read username."""

    async def show(services: Services, actor: Principal) -> None:
        found = await services.brands.all(actor)
        names = {b.id: b.name for b in found}
        for brand in found:
            parent = names.get(brand.parent_id, "-") if brand.parent_id else "-"
            typer.echo(f"{brand.id}\t{brand.name}\t{parent}\t{brand.mail_username or '-'}")

    _in_first_tenant(show, "")


@brands_app.command("add-admin")
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

    _in_first_tenant(add, "")


@brands_app.command("set-mail-credential")
def brands_set_mail_credential(
    brand: Annotated[str, typer.Argument(help="The brand, by name.")],
    credential: Annotated[str, typer.Argument(help="USER:PASSWORD for its mail reads.")],
) -> None:
    """Set the Basic credential that reads the mail counters of the brand's people."""
    username, _, password = credential.partition(":")

    async def apply(services: Services, actor: Principal) -> None:
        await services.brands.set_mail_credential(actor, brand, username, password)

    _in_first_tenant(apply, f"mail credential of {brand} set")


class _Bar:
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

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def start(self, total: int) -> None:
        self._task = self._progress.add_task(self._title, total=total, step="")

    def advance(self, label: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, advance=1, step=label)


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the archive (.tar.gz).")],
) -> None:
    """Write one archive of the whole state (every table, the mail folders) while the
    server may go on serving; `townhall restore` puts it back, on either database."""

    async def run(services: Services, actor: Principal) -> None:
        partial = file.with_name(f".{file.name}.partial")
        with _Bar("backup") as bar:
            made = await services.backup.backup(actor, bar)
            try:
                with partial.open("wb") as out:
                    async for chunk in made.chunks():
                        out.write(chunk)
                partial.replace(file)
            finally:
                partial.unlink(missing_ok=True)
        tables = made.manifest["tables"]
        rows = sum(t["rows"] for t in tables.values())
        typer.echo(f"backup written to {file}: {len(tables)} tables, {rows} rows")

    _in_first_tenant(run, "")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="An archive made by `townhall backup`.")],
) -> None:
    """Replace the whole state by an archive's (checked whole first: a damaged archive,
    or one of a newer format or another schema revision, changes nothing). Restart other
    server processes of the deployment if it runs without Redis (see docs)."""
    if not file.is_file():
        typer.echo(f"error: file: {file} is no file", err=True)
        raise typer.Exit(1)

    async def run(services: Services, actor: Principal) -> None:
        with _Bar("restore") as bar, file.open("rb") as archive:
            done = await services.backup.restore(actor, archive, bar)
        typer.echo(f"restored {file}: {len(done.tables)} tables, {done.rows} rows")

    _in_first_tenant(run, "")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@mail_app.command("engine-role")
def mail_engine_role(
    name: Annotated[str, typer.Argument(help="The role Postfix and Dovecot log in as.")],
    password: Annotated[
        str | None, typer.Option(help="Its password (default: none; trust or peer auth).")
    ] = None,
) -> None:
    """Make (or bring up to date) the PostgreSQL role for the mail engines: it may read
    the views they query (mta_*, mda_*) and write Dovecot's last logins, nothing else."""
    from townhall.store.mail_views import grant_engine_role

    settings = load_settings()
    if settings.is_sqlite:
        typer.echo(
            "error: engine roles are PostgreSQL's; on SQLite give the engines read access "
            "to the database file (and write access for last logins)",
            err=True,
        )
        raise typer.Exit(1)
    from townhall.store.migrate import upgrade

    upgrade(settings.database_url)
    _refusing_domain_errors(
        lambda: asyncio.run(grant_engine_role(settings.database_url, name, password))
    )
    typer.echo(f"role {name} may read the mail views and write mail_last_login")


def main() -> None:
    app()
