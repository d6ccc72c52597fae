"""Calendars: series carry their time zone, occurrences can be overridden, calendars can
be shared with a group.

`calendar_events.timezone` is the IANA zone a series expands in (NULL: UTC, what rows
written before this revision meant). An overridden occurrence is a row of its own with
`series_id` (the series row, same calendar) and `recurrence_id` (the occurrence's
original start), as iCalendar's RECURRENCE-ID. `series_id` has no foreign key: SQLite
cannot add one to an existing table without rebuilding it, and an override never
outlives its series' calendar (that one cascades). `calendar_group_shares` gives the
members of a server group access to a calendar.

Revision ID: 0019
Revises: 0014
Create Date: 2026-12-03 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("calendar_events", sa.Column("timezone", sa.String(length=64), nullable=True))
    op.add_column("calendar_events", sa.Column("series_id", ID, nullable=True))
    op.add_column(
        "calendar_events", sa.Column("recurrence_id", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_calendar_events_series", "calendar_events", ["series_id", "recurrence_id"])
    op.create_table(
        "calendar_group_shares",
        sa.Column("calendar_id", ID, nullable=False),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("access", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "access IN ('read-only', 'read-write')",
            name=op.f("ck_calendar_group_shares_known_access"),
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
            name=op.f("fk_calendar_group_shares_calendar_id_calendars"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_calendar_group_shares_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("calendar_id", "group_id", name=op.f("pk_calendar_group_shares")),
    )
    op.create_index("ix_calendar_group_shares_group", "calendar_group_shares", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_calendar_group_shares_group", table_name="calendar_group_shares")
    op.drop_table("calendar_group_shares")
    op.drop_index("ix_calendar_events_series", table_name="calendar_events")
    with op.batch_alter_table("calendar_events") as batch:
        batch.drop_column("recurrence_id")
        batch.drop_column("series_id")
        batch.drop_column("timezone")
