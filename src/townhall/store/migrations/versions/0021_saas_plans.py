"""SaaS customers: a tenant's subscription and its plan history (services/plans.py).

Revision ID: 0021
Revises: 0014
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saas_subscriptions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("email_domain", sa.String(length=253), nullable=False),
        sa.Column("deployment", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_saas_subscriptions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saas_subscriptions")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_saas_subscriptions_tenant_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_saas_subscriptions_public_id")),
        sa.UniqueConstraint("email_domain", name=op.f("uq_saas_subscriptions_email_domain")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "saas_plan_history",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("plan", sa.String(length=40), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("max_users", sa.BigInteger(), nullable=True),
        sa.Column("max_resources", sa.BigInteger(), nullable=True),
        sa.Column("max_storage_bytes", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["saas_subscriptions.id"],
            name=op.f("fk_saas_plan_history_subscription_id_saas_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saas_plan_history")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_saas_plan_history_subscription", "saas_plan_history", ["subscription_id"])


def downgrade() -> None:
    op.drop_index("ix_saas_plan_history_subscription", table_name="saas_plan_history")
    op.drop_table("saas_plan_history")
    op.drop_table("saas_subscriptions")
