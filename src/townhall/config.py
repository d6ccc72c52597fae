"""Settings, read once from the environment and an optional TOML file.

The environment wins over the file so that a container or a CI job can override any
value without editing files. Every process (the CLI and each server worker) reads the
same sources, which is how workers started by Granian agree on their configuration.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "TOWNHALL_"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///townhall.db"
    redis_url: str | None = None
    # PostgreSQL connections the whole server may hold: shared by its worker processes
    # and, within each, by its read and its write pool. `db_pool_size` > 0 sets each
    # pool's size instead.
    db_max_connections: int = 20
    db_pool_size: int = 0
    # The read cache (infrastructure/readcache.py): `auto` (Redis where configured, else
    # in process for one worker, else none), or `off`; and the in-process entry limit.
    cache: str = "auto"
    cache_max_entries: int = 10_000
    # Server processes (`townhall serve --workers N` tells its workers N).
    workers: int = 1
    domain: str = "localhost"
    admin_password: str | None = None
    secret_key: str | None = None
    # PEM file with an RSA public key registered for the bootstrap admin at every start.
    admin_public_key: str | None = None
    # How long an API session token (Symphony's sessionToken) lives.
    session_ttl_seconds: int = 3600
    # RMP: how long a JWT access token lives (its `expiresIn`) and a refresh token.
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 7 * 24 * 3600
    # Relay for outgoing mail (iMIP invitations): smtp://host:port or smtps://...
    smtp_url: str | None = None
    max_body_bytes: int = 1024 * 1024
    # Proxies whose forwarding headers (X-Forwarded-For) name the client: addresses or
    # CIDRs, comma-separated. None by default: the peer's address is the client's.
    trusted_proxies: str = ""
    log_level: str = "info"
    # argon2id cost: OWASP's second recommended profile (m=19 MiB, t=2, p=1).
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    # Run as if the wall clock were this much later (negative: earlier); for tests.
    clock_offset_seconds: int = 0
    # Origins whose browser front ends may call the APIs (CORS); "*" for any.
    cors_origins: tuple[str, ...] = ()
    # RMP's event socket: how long a client may take to send its token before it is closed.
    events_auth_timeout_seconds: int = 10
    # Each server process is a node (sessions it holds are "Local" to it).
    node_name: str = field(default_factory=lambda: f"{os.uname().nodename}-{os.getpid()}")
    # What this deployment's keys and channels in a shared Redis start with; empty: a
    # short digest of database_url, so two deployments on one Redis never share state.
    deployment_name: str = ""
    # Failed logins held back per account and per client address in one window (0: no
    # limit); the window starts at the first failure.
    login_failures_per_account: int = 10
    login_failures_per_address: int = 100
    login_failure_window_seconds: int = 15 * 60
    # The shortest password any API may set.
    password_min_length: int = 8
    # OX Cloud-Plugins: the default brand's mail-read credential (`user:password`, OX's
    # tennantAuth), and whether reseller and master admins may use the routes OX keeps
    # for context admins (OX's MASTER_ACCOUNT_OVERRIDE).
    ox_mail_credential: str | None = None
    master_account_override: bool = False
    # The embedded mail receiver: `host:port` to listen for SMTP on (every worker shares
    # it), or `off`; and the folder of the mailboxes (empty: `mail/` beside the SQLite
    # database, else `townhall-mail/` in the working folder).
    smtp_listen: str = "127.0.0.1:2525"
    mail_dir: str = ""
    # Production mail (Postfix + Dovecot): where Postfix's policy-delegation service
    # listens (`host:port`, or `off`).
    mta_policy_listen: str = "off"
    # Where mail is stored and counted: `maildir` (embedded, under mail_dir) or
    # `dovecot` (delivered over LMTP to `lmtp` host:port, counted through doveadm's HTTP
    # API at `doveadm_url` with `doveadm_key`).
    mail_store: str = "maildir"
    lmtp: str = ""
    doveadm_url: str = ""
    doveadm_key: str = ""
    # Dovecot's push events (`ox` driver) to /internal/mail/events: the token it must
    # present (empty: the route is off).
    mail_events_token: str = ""
    # People's files (RMP's /files): where their bytes are kept, `local` (a folder,
    # `files_dir`; empty: `files/` beside the SQLite database, else `townhall-files/` in
    # the working folder) or `database` (chunks in the database, so every host of a
    # PostgreSQL deployment serves the same files); and the largest single upload.
    file_store: str = "local"
    files_dir: str = ""
    file_max_bytes: int = 10 * 1024**3
    # SaaS (services/plans.py): the plan catalogue, a `.toml` or `.json` file or a table
    # of the configuration file (unset: domain/plans.py's DEFAULT); registrations one
    # client address may make per hour (0: no limit); the server name customers are
    # told (empty: their own domain); this deployment's region and location, and how
    # many customers one node is meant to serve.
    saas_plans: str | dict[str, Any] | None = None
    saas_registrations_per_address: int = 20
    saas_server: str = ""
    saas_region: str = "EU"
    saas_location: str = ""
    saas_node_capacity: int = 100
    # Log lines: `text` (one readable line each) or `json` (one object per line).
    log_format: str = "text"

    @property
    def mail_folder(self) -> Path:
        if self.mail_dir:
            return Path(self.mail_dir)
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix("sqlite:///")).absolute().parent / "mail"
        return Path("townhall-mail").absolute()

    @property
    def files_folder(self) -> Path:
        """Where the `local` file store keeps people's files (defaulted as `mail_folder`)."""
        if self.files_dir:
            return Path(self.files_dir)
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix("sqlite:///")).absolute().parent / "files"
        return Path("townhall-files").absolute()

    @property
    def data_folders(self) -> dict[str, Path]:
        """Every folder of state besides the database, by name: what a backup holds and
        a restore replaces (services/backup.py). A new kind of data on disk is one more
        entry here."""
        folders: dict[str, Path] = {}
        if self.mail_store == "maildir":
            folders["mail"] = self.mail_folder
        if self.file_store == "local":
            folders["files"] = self.files_folder
        return folders

    def __post_init__(self) -> None:
        if not self.deployment_name:
            digest = hashlib.sha256(self.database_url.encode()).hexdigest()[:12]
            object.__setattr__(self, "deployment_name", f"townhall-{digest}")

    @property
    def pool_size(self) -> int:
        """Connections in each of a process's two PostgreSQL pools (reads, writes), so
        that all workers together stay within `db_max_connections`."""
        if self.db_pool_size > 0:
            return self.db_pool_size
        return max(1, self.db_max_connections // (2 * max(1, self.workers)))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _coerce(value: str, default: Any) -> Any:
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    if isinstance(default, tuple):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Settings from `TOWNHALL_CONFIG` (a TOML file, optional) overlaid by `TOWNHALL_*`."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    config_file = env.get(f"{ENV_PREFIX}CONFIG")
    if config_file:
        values.update(tomllib.loads(Path(config_file).read_text()))
    defaults = Settings()
    for f in fields(Settings):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is not None and raw != "":
            values[f.name] = _coerce(raw, getattr(defaults, f.name))
    for name, value in values.items():
        if isinstance(value, list):  # TOML arrays, for the tuple settings
            values[name] = tuple(value)
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
    return Settings(**values)
