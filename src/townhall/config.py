"""Settings, read once from the environment and an optional TOML file.

The environment wins over the file so that a container or a CI job can override any
value without editing files. Every process (the CLI and each server worker) reads the
same sources, which is how workers started by Granian agree on their configuration.

A mistake in either (an unknown key in the file, a value of the wrong type, a file that
does not parse, a database URL of an unsupported kind) is a `ConfigError`: one line
naming the setting, which the CLI prints and exits 2 on, never a traceback.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
import types
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

ENV_PREFIX = "TOWNHALL_"
DATABASE_FILE = "townhall.db"
"""The SQLite file's name in the data directory (the default database)."""
SECRETS = frozenset(
    {"admin_password", "secret_key", "doveadm_key", "mail_events_token", "ox_mail_credential"}
)
"""Settings whose values are never shown (`config show`, refusals)."""
URL_SETTINGS = frozenset({"database_url", "redis_url", "smtp_url", "doveadm_url"})
"""Settings that are URLs: shown without their password."""


class ConfigError(ValueError):
    """A configuration mistake, as one line naming the setting (`setting: reason`)."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


@dataclass(frozen=True)
class Settings:
    # Empty: `sqlite:///<data_dir>/townhall.db`. A relative SQLite path is relative to
    # the working directory.
    database_url: str = ""
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
    # it), or `off`; and the folder of the mailboxes (empty: `mail/` in the data
    # directory).
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
    # `files_dir`; empty: `files/` in the data directory) or `database` (chunks in the
    # database, so every host of a
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
    # Long work as jobs (services/jobs.py): an import of more rows, or of a larger file,
    # than these runs as a job (202 Accepted and a progress URL); 0: never by that measure.
    import_job_rows: int = 500
    import_job_bytes: int = 1024**2
    # The one folder of this deployment's state: the SQLite database (unless
    # `database_url` says otherwise), `mail/` and `files/`. Empty: the folder of the
    # SQLite file `database_url` names, else the working directory; always made absolute,
    # so a command run from another folder never silently starts a new deployment.
    data_dir: str = ""
    # Log lines: `text` (one readable line each) or `json` (one object per line).
    log_format: str = "text"
    # A restore (RMP's POST /admin/restore) of a larger archive than this runs as a job
    # (services/jobs.py: 202 Accepted and a progress URL); 0: never a job.
    restore_job_bytes: int = 64 * 1024**2

    @property
    def data_folder(self) -> Path:
        return Path(self.data_dir)

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database's file (absolute), None on PostgreSQL or in memory."""
        return _sqlite_file(self.database_url)

    @property
    def mail_folder(self) -> Path:
        if self.mail_dir:
            return Path(self.mail_dir)
        return self.data_folder / "mail"

    @property
    def files_folder(self) -> Path:
        """Where the `local` file store keeps people's files (defaulted as `mail_folder`)."""
        if self.files_dir:
            return Path(self.files_dir)
        return self.data_folder / "files"

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
        """Resolve the data directory once, to an absolute path, and the default
        database inside it: every later use (mail, files, backups) agrees on it, and a
        worker started in the same folder resolves it alike."""
        if self.data_dir:
            data = Path(self.data_dir).expanduser().absolute()
        else:
            beside = _sqlite_file(self.database_url) if self.database_url else None
            data = beside.parent if beside is not None else Path.cwd()
        object.__setattr__(self, "data_dir", str(data))
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{data / DATABASE_FILE}")
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


def _sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names, made absolute (relative to the working directory,
    as SQLite itself reads it); None for PostgreSQL or memory."""
    for prefix in ("sqlite:///", "sqlite+aiosqlite:///"):
        if url.startswith(prefix):
            path = url.removeprefix(prefix).split("?", 1)[0]
            if not path or path == ":memory:":
                return None
            return Path(path).absolute()
    return None


DATABASE_SCHEMES = ("sqlite", "sqlite+aiosqlite", "postgresql", "postgres", "postgresql+asyncpg")


def database_url_problem(url: str) -> str | None:
    """Why `url` cannot be Townhall's database (None if it can), before any driver sees it."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        return "is not a database URL; use sqlite:///PATH or postgresql://HOST/DB"
    if scheme.lower() not in DATABASE_SCHEMES:
        kind = scheme.split("+", 1)[0]
        return f"{kind} is not supported; use sqlite:/// or postgresql://"
    if scheme.startswith("sqlite") and not rest.startswith("/"):
        return "an SQLite URL has three slashes: sqlite:///PATH (relative) or sqlite:////PATH"
    if scheme.startswith("postgres"):
        _, slash, database = rest.split("?", 1)[0].partition("/")
        if not slash or not database:
            return "names no database: postgresql://USER@HOST/DATABASE"
    return None


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


_HINTS: dict[str, Any] = {}


def _hints() -> dict[str, Any]:
    if not _HINTS:
        _HINTS.update(get_type_hints(Settings))
    return _HINTS


def _conforms(value: Any, hint: Any) -> bool:
    """Whether a TOML value has the type of the setting (TOML's types are JSON's)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_conforms(value, arg) for arg in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        return isinstance(value, list | tuple) and all(
            _conforms(item, get_args(hint)[0]) for item in value
        )
    if origin is dict:
        return isinstance(value, dict)
    return True


def _expected(hint: Any) -> str:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        kinds = [_expected(arg) for arg in get_args(hint) if arg is not type(None)]
        return " or ".join(kinds)
    if hint is bool:
        return "true or false"
    if hint is int:
        return "an integer"
    if hint is str:
        return "a string"
    if origin is tuple:
        return "a list of strings"
    if origin is dict:
        return "a table"
    return str(hint)


def _shown(name: str, value: Any) -> str:
    return "a hidden value" if name in SECRETS else repr(value)


TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def _coerce(name: str, value: str, hint: Any) -> Any:
    """An environment variable's text as the setting's type (ConfigError if it is not)."""
    setting = env_name(name)
    kinds = set(get_args(hint)) or {hint}
    if bool in kinds:
        word = value.strip().lower()
        if word in TRUE | FALSE:
            return word in TRUE
        raise ConfigError(setting, f"must be true or false (1/0, yes/no, on/off), not {value!r}")
    if int in kinds:
        try:
            return int(value.strip())
        except ValueError:
            raise ConfigError(setting, f"must be an integer, not {_shown(name, value)}") from None
    if get_origin(hint) is tuple:
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


SOURCE_DEFAULT, SOURCE_FILE, SOURCE_ENVIRONMENT = "default", "file", "environment"


@dataclass(frozen=True)
class Loaded:
    """Settings and where each came from (`default`, `file` or `environment`), for
    `townhall config show` and for warnings about settings that were set on purpose."""

    settings: Settings
    sources: dict[str, str]
    config_file: Path | None = None
    unknown_environment: tuple[str, ...] = ()

    def explicit(self, name: str) -> bool:
        return self.sources.get(name, SOURCE_DEFAULT) != SOURCE_DEFAULT


def _read_file(path: Path) -> dict[str, Any]:
    setting = f"{ENV_PREFIX}CONFIG"
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(setting, f"no file at {path}") from None
    except OSError as exc:
        raise ConfigError(setting, f"cannot read {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(setting, f"{path} is not valid TOML: {exc}") from None


def load(env: dict[str, str] | None = None) -> Loaded:
    """Settings from `TOWNHALL_CONFIG` (a TOML file, optional) overlaid by `TOWNHALL_*`,
    each checked against its field's type; ConfigError naming the first mistake."""
    env = dict(os.environ if env is None else env)
    hints = _hints()
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    config_file = env.get(f"{ENV_PREFIX}CONFIG")
    path = Path(config_file).absolute() if config_file else None
    if path is not None:
        for name, value in _read_file(path).items():
            where = f"{name} in {path}"
            if name not in known:
                raise ConfigError(where, "unknown setting (see README.md: Configuration)")
            if not _conforms(value, hints[name]):
                expected = _expected(hints[name])
                raise ConfigError(where, f"must be {expected}, not {_shown(name, value)}")
            values[name] = tuple(value) if isinstance(value, list) else value
            sources[name] = SOURCE_FILE
    for name in sorted(known):
        raw = env.get(env_name(name))
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw, hints[name])
            sources[name] = SOURCE_ENVIRONMENT
    url = values.get("database_url")
    if url:
        problem = database_url_problem(url)
        if problem is not None:
            where = env_name("database_url")
            if sources["database_url"] == SOURCE_FILE:
                where = f"database_url in {path}"
            raise ConfigError(where, problem)
    settings = Settings(**values)
    ours = {env_name(name) for name in known} | {f"{ENV_PREFIX}CONFIG"}
    unknown = tuple(
        sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in ours and env[k] != "")
    )
    return Loaded(
        settings, {n: sources.get(n, SOURCE_DEFAULT) for n in sorted(known)}, path, unknown
    )


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Settings from `TOWNHALL_CONFIG` (a TOML file, optional) overlaid by `TOWNHALL_*`."""
    return load(env).settings
