"""The mail engines' contract: read-only views for Postfix and Dovecot, and the Sieve
scripts Townhall renders from each person's sender lists for Dovecot to run before
delivery (what only shows after alias expansion: ../shared/design/mail.md §4.2.4).

`mail_sieve_scripts` is keyed by person, so a script follows its owner's address
change; `mda_sieve_scripts` publishes it under the current address. The views are
defined in `townhall.store.mail_views` (one place, so a later migration that rebuilds a
table they name on SQLite can drop and re-create them).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from townhall.store.mail_views import create_views, drop_views

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_sieve_scripts",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("script_id", sa.String(length=64), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mail_sieve_scripts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "name", name=op.f("pk_mail_sieve_scripts")),
    )
    create_views(op.get_bind())


def downgrade() -> None:
    drop_views(op.get_bind())
    op.drop_table("mail_sieve_scripts")
