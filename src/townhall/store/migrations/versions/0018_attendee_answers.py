"""An invited person's copy of a booking's event, with their answer.

A booking writes an event into the calendar of each attendee who is a person of the
tenant, besides the resource's and the organizer's. `partstat` is the calendar owner's
participation status in it (RFC 5545 PARTSTAT: NEEDS-ACTION until they answer); NULL on
the organizer's and the resource's events and on events that are no invitation.

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-03 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partstat", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calendar_events", schema=None) as batch_op:
        batch_op.drop_column("partstat")
