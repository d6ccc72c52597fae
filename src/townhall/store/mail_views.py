"""The read-only views Postfix and Dovecot query: the published contract between
Townhall's tables and the mail engines (../shared/design/mail.md §4.2.1, §5.1).

The engines never read internal tables (they could not follow a schema change), only
these views, which say exactly what the routing core (services/mail_routing.py) says:

- `mta_domains(domain)`: every hosted domain, whatever its kind (a name belongs to one
  tenant, or as a shared domain to one brand);
- `mta_mailboxes(address, quota_bytes, quota_rule)`: every person's e-mail address in a
  domain their own tenant holds, or in a shared domain of their tenant's brand or a brand
  above it, lower-case. A lockout does not stop delivery (Openfire's
  lockout is about logging in), so locked people are here. Dovecot's userdb reads it
  too: LMTP must find a locked person to deliver to them;
- `mta_aliases(alias, recipient)`: the forwards whose alias is in a domain the forward's
  tenant holds (another tenant's stale rows route nothing, as in the core);
- `mda_users(username, password, quota_rule)`: who may log in to read mail: the same
  addresses, without locked people, with `{ARGON2ID}` before the stored argon2id hash
  (argon2-cffi's PHC string, which Dovecot's ARGON2ID scheme verifies unchanged);
- `mda_sieve_scripts(username, name, id, script)`: the Sieve scripts Townhall renders
  (`mail_sieve_scripts`, keyed by person) under each person's current address, for
  Dovecot's dict-sql.

`quota_rule` is Dovecot's `*:bytes=<n>`, NULL without a quota (Dovecot skips NULL
fields, so the person has no limit).

An address must have exactly one `@` (the core only routes addresses that parse). Views
pin the tables they name: on SQLite a later migration that rebuilds `users`, `domains`,
`mailboxes`, `credentials`, `mail_aliases` or `mail_sieve_scripts` (batch mode with
recreate) must `drop_views` first and `create_views` after.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from townhall.domain.errors import Invalid
from townhall.store.database import async_url

VIEWS = ("mda_sieve_scripts", "mda_users", "mta_aliases", "mta_mailboxes", "mta_domains")


def _domain_of(column: str, dialect: str) -> str:
    """SQL for the domain part of an address held in `column` (one `@`)."""
    if dialect == "postgresql":
        return f"split_part(lower({column}), '@', 2)"
    return f"substr(lower({column}), instr({column}, '@') + 1)"


def _one_at(column: str) -> str:
    """An address with one `@` and a local part (no `%`: drivers read it as a marker)."""
    one = f"length({column}) - length(replace({column}, '@', '')) = 1"
    return f"{one} AND substr({column}, 1, 1) <> '@'"


LINEAGE = (
    "WITH RECURSIVE lineage(tenant_id, brand_id) AS ("
    "SELECT t.id, t.brand_id FROM tenants t UNION "
    "SELECT l.tenant_id, b.parent_id FROM lineage l JOIN brands b ON b.id = l.brand_id "
    "WHERE b.parent_id IS NOT NULL)"
)
"""Each tenant with its brand and every brand above it: a brand's shared domain (0011)
hosts the mail of its tenants and of its sub-brands' tenants, as the core decides."""


def definitions(dialect: str) -> dict[str, str]:
    """View name -> its SELECT, for this SQL dialect ('sqlite' or 'postgresql')."""
    person_domain = _domain_of("u.email", dialect)
    alias_domain = _domain_of("a.alias", dialect)
    hosts = (
        f"JOIN domains d ON d.name = {person_domain} AND (d.tenant_id = u.tenant_id "
        f"OR d.brand_id IN (SELECT brand_id FROM lineage l WHERE l.tenant_id = u.tenant_id))"
    )
    hosted_person = (
        f"FROM users u {hosts} "
        f"LEFT JOIN mailboxes mb ON mb.user_id = u.id WHERE {_one_at('u.email')}"
    )
    quota_rule = "'*:bytes=' || mb.quota_bytes"
    unlocked = "NOT u.locked" if dialect == "postgresql" else "u.locked = 0"
    return {
        "mta_domains": "SELECT name AS domain FROM domains",
        "mta_mailboxes": (
            f"{LINEAGE} SELECT DISTINCT lower(u.email) AS address, mb.quota_bytes AS quota_bytes, "
            f"{quota_rule} AS quota_rule {hosted_person}"
        ),
        "mta_aliases": (
            "SELECT a.alias AS alias, a.recipient AS recipient FROM mail_aliases a "
            f"JOIN domains d ON d.tenant_id = a.tenant_id AND d.name = {alias_domain}"
        ),
        "mda_users": (
            f"{LINEAGE} SELECT lower(u.email) AS username, "
            f"'{{ARGON2ID}}' || c.password_hash AS password, {quota_rule} AS quota_rule "
            f"FROM users u JOIN credentials c ON c.user_id = u.id {hosts} "
            f"LEFT JOIN mailboxes mb ON mb.user_id = u.id "
            f"WHERE {_one_at('u.email')} AND {unlocked}"
        ),
        "mda_sieve_scripts": (
            "SELECT lower(u.email) AS username, s.name AS name, s.script_id AS id, "
            "s.script AS script FROM mail_sieve_scripts s JOIN users u ON u.id = s.user_id "
            f"WHERE {_one_at('u.email')}"
        ),
    }


def create_views(bind: Connection) -> None:
    for name, select in definitions(bind.dialect.name).items():
        bind.exec_driver_sql(f"CREATE VIEW {name} AS {select}")


def drop_views(bind: Connection) -> None:
    for name in VIEWS:
        bind.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")


ENGINE_READS = VIEWS
"""What the engines' role may read: the views, nothing under them (a PostgreSQL view
runs with its owner's rights, so the role needs none on the tables)."""
ENGINE_WRITES = "mail_last_login"
"""What it may write: Dovecot's last_login plugin, through dict-sql (an upsert, which
PostgreSQL lets only a role that may also read the table do)."""
_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def engine_role_sql(name: str, database: str, password: str | None) -> list[str]:
    """The statements that make (or bring up to date) the engines' least-privilege
    PostgreSQL role. `name` must be a plain lower-case identifier."""
    if not _ROLE.fullmatch(name):
        raise Invalid("name", "name must be a lower-case SQL identifier (a-z, 0-9, _)")
    quoted_db = '"' + database.replace('"', '""') + '"'
    secret = "NULL" if password is None else "'" + password.replace("'", "''") + "'"
    return [
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
        f"CREATE ROLE {name} LOGIN; END IF; END $$",
        f"ALTER ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {secret}",
        f"GRANT CONNECT ON DATABASE {quoted_db} TO {name}",
        f"GRANT USAGE ON SCHEMA public TO {name}",
        f"GRANT SELECT ON {', '.join(ENGINE_READS)} TO {name}",
        f"GRANT SELECT, INSERT, UPDATE ON {ENGINE_WRITES} TO {name}",
    ]


async def grant_engine_role(url: str, name: str, password: str | None) -> None:
    """Make the role on the PostgreSQL database at `url` (as its owner or a superuser)."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            database = (await conn.exec_driver_sql("SELECT current_database()")).scalar_one()
            for statement in engine_role_sql(name, str(database), password):
                await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()
