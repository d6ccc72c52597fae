"""Nothing silently lost: ids are never reused on SQLite (AUTOINCREMENT).

SQLite gives a new row the highest rowid + 1 unless the table is AUTOINCREMENT, so the
id of the newest deleted person, room, calendar event ... went to the next one. SQLite
cannot change that on an existing table: each is rebuilt (Alembic's batch copy) with its
rows, indexes and constraints. The ids a table has handed out and since deleted are
unknown; from now on the sequence starts above the highest id present. PostgreSQL's
sequences never reuse, so it has nothing to do.

Revision ID: 0005c
Revises: 0004
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005c"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table with a generated integer id, parents before children.
WITH_IDS = (
    "tenants",
    "domains",
    "users",
    "groups",
    "group_members",
    "roster_items",
    "chat_services",
    "rooms",
    "room_affiliations",
    "room_messages",
    "live_sessions",
    "audit_log",
    "company_certs",
    "resources",
    "calendars",
    "calendar_events",
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in WITH_IDS:
        with op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
