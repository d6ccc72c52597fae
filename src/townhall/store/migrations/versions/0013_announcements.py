"""Announcements (OX Cloud-Plugins): per brand, versioned, enabled or not, shown within a
time window, and the brands whose people see each.

`announcements.id` is generated, so on SQLite the table is AUTOINCREMENT like every
other such table (0006): an id handed out is never handed out again.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("owner_brand_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("discardable", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_brand_id"],
            ["brands.id"],
            name=op.f("fk_announcements_owner_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.create_index("ix_announcements_owner", ["owner_brand_id"], unique=False)

    op.create_table(
        "announcement_brands",
        sa.Column("announcement_id", ID, nullable=False),
        sa.Column("brand_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_brands_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_announcement_brands_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("announcement_id", "brand_id", name=op.f("pk_announcement_brands")),
    )
    with op.batch_alter_table("announcement_brands", schema=None) as batch_op:
        batch_op.create_index("ix_announcement_brands_brand", ["brand_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("announcement_brands", schema=None) as batch_op:
        batch_op.drop_index("ix_announcement_brands_brand")
    op.drop_table("announcement_brands")
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.drop_index("ix_announcements_owner")
    op.drop_table("announcements")
