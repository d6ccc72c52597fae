"""Mail routing: forwards (an alias address and its recipients) and each person's
black and white lists of senders.

A forward's id is generated, so on SQLite its table is AUTOINCREMENT like every other
such table (0006): an id handed out is never handed out again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_aliases",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("alias", sa.String(length=254), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_mail_aliases_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_aliases")),
        sa.UniqueConstraint("alias", "recipient", name="uq_mail_aliases_alias_recipient"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("mail_aliases", schema=None) as batch_op:
        batch_op.create_index("ix_mail_aliases_alias", ["alias"], unique=False)
        batch_op.create_index("ix_mail_aliases_tenant", ["tenant_id"], unique=False)

    op.create_table(
        "mail_sender_rules",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("list", sa.String(length=5), nullable=False),
        sa.Column("pattern", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "list IN ('black', 'white')", name=op.f("ck_mail_sender_rules_known_list")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mail_sender_rules_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "list", "pattern", name=op.f("pk_mail_sender_rules")),
    )


def downgrade() -> None:
    op.drop_table("mail_sender_rules")
    with op.batch_alter_table("mail_aliases", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_aliases_tenant")
        batch_op.drop_index("ix_mail_aliases_alias")
    op.drop_table("mail_aliases")
