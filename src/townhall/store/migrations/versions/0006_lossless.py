"""Nothing silently lost: ids are never reused on SQLite (AUTOINCREMENT), and a person
keeps every directory attribute Symphony accepts.

SQLite gives a new row the highest rowid + 1 unless the table is AUTOINCREMENT, so the
id of the newest deleted person, room, calendar event ... went to the next one. SQLite
cannot change that on an existing table: each is rebuilt (Alembic's batch copy) with its
rows, indexes and constraints. The ids a table has handed out and since deleted are
unknown; from now on the sequence starts above the highest id present. PostgreSQL's
sequences never reuse, so it has nothing to do there.

People gain the directory attributes the Symphony API accepted and dropped: a
two-factor phone, a recommended language, six lists of labels and application metadata.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
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


LISTS = (
    "asset_classes",
    "industries",
    "market_coverage",
    "responsibilities",
    "functions",
    "instruments",
)


def _directory() -> list[sa.Column[Any]]:
    return [
        sa.Column("two_factor_phone", sa.String(length=64), nullable=True),
        sa.Column("recommended_language", sa.String(length=255), nullable=True),
        *(sa.Column(name, sa.JSON(), nullable=True) for name in LISTS),
        sa.Column("metadata", sa.JSON(), nullable=True),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        with op.batch_alter_table("users") as batch:
            for column in _directory():
                batch.add_column(column)
        return
    for name in WITH_IDS:
        with op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch:
            if name == "users":
                for column in _directory():
                    batch.add_column(column)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in WITH_IDS if sqlite else ("users",):
        with op.batch_alter_table(
            name,
            recreate="always" if sqlite else "auto",
            table_kwargs={"sqlite_autoincrement": False},
        ) as batch:
            if name == "users":
                for column in reversed(_directory()):
                    batch.drop_column(column.name)
