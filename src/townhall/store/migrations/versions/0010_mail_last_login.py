"""When each mailbox last logged in to read mail: the table Dovecot's `last_login`
plugin writes through dict-sql in production, and Townhall itself writes in embedded
mode (the last password login to a user-facing API). "New since last login" counts
mail delivered after it (../shared/design/mail.md §4.2.5-4.2.6).

Keyed by the mailbox address, the `%u` Dovecot knows the user by; the time is epoch
seconds because that is what the plugin writes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_last_login",
        sa.Column("username", sa.String(length=254), nullable=False),
        sa.Column("last_login", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_mail_last_login")),
    )


def downgrade() -> None:
    op.drop_table("mail_last_login")
