"""`townhall config show|check`, and the checks every command makes of its settings.

A mistake is found before anything is opened or created, and told as one line naming
the setting (`ConfigError`); the CLI's entry point prints it and exits 2.
"""

from __future__ import annotations

import asyncio
from dataclasses import fields
from pathlib import Path
from typing import Any

import typer

from townhall.config import (
    SECRETS,
    SOURCE_FILE,
    URL_SETTINGS,
    ConfigError,
    Loaded,
    Settings,
    env_name,
)

commands = typer.Typer(help="The effective configuration.", no_args_is_help=True)

CHOICES = {
    "cache": ("auto", "off"),
    "mail_store": ("maildir", "dovecot"),
    "file_store": ("local", "database"),
    "log_level": ("debug", "info", "warning", "error", "critical"),
    "log_format": ("text", "json"),
}
"""Settings that take one of a few words."""
URL_SCHEMES = {
    "redis_url": ("redis", "rediss", "unix"),
    "smtp_url": ("smtp", "smtps"),
    "doveadm_url": ("http", "https"),
}


def label(loaded: Loaded, name: str) -> str:
    """How the operator wrote the setting: its variable, or its key in the file."""
    if loaded.sources.get(name) == SOURCE_FILE and loaded.config_file is not None:
        return f"{name} in {loaded.config_file}"
    return env_name(name)


def problems(loaded: Loaded) -> list[ConfigError]:
    """Every mistake in the settings that can be found without the database: words
    outside their choices, URLs of the wrong kind, files that are missing or do not
    hold what they must (the admin's PEM key, the plan catalogue)."""
    settings = loaded.settings
    found: list[ConfigError] = []
    for name, allowed in CHOICES.items():
        value = str(getattr(settings, name)).strip().lower()
        if value not in allowed:
            found.append(ConfigError(label(loaded, name), f"must be one of {', '.join(allowed)}"))
    for name, schemes in URL_SCHEMES.items():
        url = getattr(settings, name)
        if url and url.partition("://")[0].lower() not in schemes:
            wanted = " or ".join(f"{s}://" for s in schemes)
            found.append(ConfigError(label(loaded, name), f"must start with {wanted}"))
    if settings.mail_store == "dovecot" and not (
        settings.doveadm_url and settings.doveadm_key and settings.lmtp
    ):
        found.append(
            ConfigError(
                label(loaded, "mail_store"),
                "dovecot needs TOWNHALL_DOVEADM_URL, TOWNHALL_DOVEADM_KEY and TOWNHALL_LMTP",
            )
        )
    if loaded.explicit("data_dir") and not settings.data_folder.is_dir():
        found.append(ConfigError(label(loaded, "data_dir"), f"{settings.data_dir} is no folder"))
    found.extend(_admin_key(loaded))
    found.extend(_plans(loaded))
    return found


def _admin_key(loaded: Loaded) -> list[ConfigError]:
    source = loaded.settings.admin_public_key
    if not source:
        return []
    setting = label(loaded, "admin_public_key")
    path = Path(source)
    try:
        pem = path.read_text()
    except FileNotFoundError:
        return [ConfigError(setting, f"no file at {path.absolute()}")]
    except (OSError, UnicodeDecodeError) as exc:
        return [ConfigError(setting, f"cannot read {path.absolute()}: {exc}")]
    from townhall.domain.errors import Invalid
    from townhall.domain.keys import public_key

    try:
        public_key(pem, setting)
    except Invalid as exc:
        return [ConfigError(setting, f"{path.absolute()} {exc.reason}")]
    return []


def _plans(loaded: Loaded) -> list[ConfigError]:
    from townhall.domain import plans

    try:
        plans.load(loaded.settings.saas_plans)
    except ValueError as exc:
        reason = str(exc).removeprefix(f"{plans.SETTING}: ")
        return [ConfigError(label(loaded, "saas_plans"), reason)]
    return []


def shown(name: str, value: Any) -> str:
    """A setting's value as `config show` prints it: secrets masked, URLs without
    their password."""
    if value is None or value == "" or value == ():
        return "(unset)"
    if name in SECRETS:
        return "********"
    if name in URL_SETTINGS and isinstance(value, str):
        from sqlalchemy import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(value).render_as_string(hide_password=True)
        except ArgumentError:
            return value.split("@")[-1]
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, dict):
        return "(a table of the configuration file)"
    return str(value)


@commands.command("show")
def config_show() -> None:
    """Print every setting's effective value (secrets masked) and where it came from:
    default, file (TOWNHALL_CONFIG) or environment."""
    from townhall.config import load

    loaded = load()
    settings = loaded.settings
    where = f" ({loaded.config_file})" if loaded.config_file else ""
    width = max(len(env_name(f.name)) for f in fields(Settings))
    for f in fields(Settings):
        value = shown(f.name, getattr(settings, f.name))
        source = loaded.sources[f.name]
        suffix = where if source == SOURCE_FILE else ""
        typer.echo(f"{env_name(f.name):<{width}}  {value}  [{source}{suffix}]")
    typer.echo(f"{'(mailboxes)':<{width}}  {settings.mail_folder}")
    typer.echo(f"{'(files)':<{width}}  {settings.files_folder}")


@commands.command("check")
def config_check() -> None:
    """Check every setting, the files they name, and that the database answers: one
    line per mistake and exit status 2, or `configuration ok` and 0."""
    from townhall.config import load

    loaded = load()  # a mistake here is one line and exit 2 (townhall.cli.main)
    found = [str(p) for p in problems(loaded)]
    found.extend(_listeners(loaded.settings))
    for name in loaded.unknown_environment:
        typer.echo(f"warning: {name}: no such setting (ignored)", err=True)
    if not found:
        from townhall.cli.common import database_state

        try:
            state = asyncio.run(database_state(loaded.settings))
        except ConfigError as exc:
            found.append(str(exc))
        else:
            typer.echo(f"database: {state}")
    for problem in found:
        typer.echo(f"error: {problem}", err=True)
    if found:
        raise typer.Exit(2)
    typer.echo(f"data directory: {loaded.settings.data_dir}")
    typer.echo("configuration ok")


def _listeners(settings: Settings) -> list[str]:
    """Listener addresses that are not host:port or off (whether the port is free is
    `serve`'s to find: a running server holds it)."""
    from townhall.infrastructure import listeners

    found = []
    for name in ("smtp_listen", "mta_policy_listen"):
        try:
            listeners.address(env_name(name), getattr(settings, name))
        except ValueError as exc:
            found.append(str(exc))
    return found
