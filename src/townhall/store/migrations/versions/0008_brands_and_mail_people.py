"""Brands above tenants, and what OX's provisioning knows of a person and their mailbox.

A brand (OX's reseller) owns tenants (OX's contexts) and may have sub-brands; its
administrators act on every tenant under it, and one Basic credential per brand reads
its people's mail counters. Every tenant belongs to a brand: existing ones to the
default brand this migration creates (id 1, which is also the column's default, so a
tenant made without naming a brand lands there).

People gain OX's provisioning attributes (delivery status, legacy reference, custom ids,
class of service; OX's msisdn is the mobile number people already have), and a mailbox
row holds their mail settings (quota, quota mode, spam level, antivirus, anti-phishing).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 19:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    brands = op.create_table(
        "brands",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", _ID, nullable=True),
        sa.Column("mail_username", sa.String(length=255), nullable=True),
        sa.Column("mail_password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["brands.id"],
            name=op.f("fk_brands_parent_id_brands"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brands")),
        sa.UniqueConstraint("mail_username", name=op.f("uq_brands_mail_username")),
        sa.UniqueConstraint("name", name=op.f("uq_brands_name")),
        sqlite_autoincrement=True,
    )
    assert brands is not None
    op.bulk_insert(brands, [{"name": "default", "created_at": datetime.now(UTC)}])
    op.create_table(
        "brand_admins",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("brand_id", _ID, nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_brand_admins_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brand_admins")),
        sa.UniqueConstraint("username", name=op.f("uq_brand_admins_username")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "mailboxes",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=True),
        sa.Column("quota_mode", sa.String(length=16), nullable=True),
        sa.Column("spam_level", sa.String(length=16), nullable=True),
        sa.Column("antivirus", sa.Boolean(), nullable=True),
        sa.Column("anti_phishing", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mailboxes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_mailboxes")),
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_id", _ID, server_default="1", nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_tenants_brand_id_brands"),
            "brands",
            ["brand_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("legacy_ref", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("custom_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("class_of_service", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("class_of_service")
        batch_op.drop_column("custom_ids")
        batch_op.drop_column("legacy_ref")
        batch_op.drop_column("delivery_status")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tenants_brand_id_brands"), type_="foreignkey")
        batch_op.drop_column("brand_id")
    op.drop_table("mailboxes")
    op.drop_table("brand_admins")
    op.drop_table("brands")
