"""Disclaimers, information barriers (groups and policies), company certificates, and
addressable, suppressible room messages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:40:45.763148
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "barrier_groups",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_barrier_groups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_barrier_groups")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_barrier_groups_tenant_name"),
    )
    op.create_table(
        "barrier_policies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("policy_type", sa.String(length=5), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "policy_type IN ('BLOCK', 'ALLOW')", name=op.f("ck_barrier_policies_known_type")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_barrier_policies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_barrier_policies")),
    )
    op.create_table(
        "disclaimers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=10), server_default="TEXT", nullable=False),
        sa.Column("frequency_hours", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("format IN ('TEXT', 'XML')", name=op.f("ck_disclaimers_known_format")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_disclaimers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclaimers")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_disclaimers_tenant_name"),
    )
    op.create_table(
        "barrier_group_members",
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["barrier_groups.id"],
            name=op.f("fk_barrier_group_members_group_id_barrier_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_barrier_group_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_barrier_group_members")),
    )
    with op.batch_alter_table("barrier_group_members", schema=None) as batch_op:
        batch_op.create_index("ix_barrier_group_members_user", ["user_id"], unique=False)

    op.create_table(
        "barrier_policy_groups",
        sa.Column("policy_id", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["barrier_groups.id"],
            name=op.f("fk_barrier_policy_groups_group_id_barrier_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["barrier_policies.id"],
            name=op.f("fk_barrier_policy_groups_policy_id_barrier_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("policy_id", "group_id", name=op.f("pk_barrier_policy_groups")),
    )
    op.create_table(
        "company_certs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("issuer_fingerprint", sa.String(length=128), nullable=True),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("cert_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("common_name", sa.String(length=1023), server_default="", nullable=False),
        sa.Column("pod_managed", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint(
            "cert_type IN ('USERSIGNING', 'USER', 'OPERATIONSSIGNING', 'OPERATIONSUSER')",
            name=op.f("ck_company_certs_known_type"),
        ),
        sa.CheckConstraint(
            "status IN ('TRUSTED', 'KNOWN', 'REVOKED', 'DISABLED')",
            name=op.f("ck_company_certs_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_company_certs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_company_certs_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_certs")),
        sa.UniqueConstraint("tenant_id", "fingerprint", name="uq_company_certs_tenant_fingerprint"),
    )
    with op.batch_alter_table("company_certs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_company_certs_issuer", ["tenant_id", "issuer_fingerprint"], unique=False
        )

    op.create_table(
        "user_disclaimers",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("disclaimer_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["disclaimer_id"],
            ["disclaimers.id"],
            name=op.f("fk_user_disclaimers_disclaimer_id_disclaimers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_disclaimers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_disclaimers")),
    )
    with op.batch_alter_table("user_disclaimers", schema=None) as batch_op:
        batch_op.create_index("ix_user_disclaimers_disclaimer", ["disclaimer_id"], unique=False)

    with op.batch_alter_table("room_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("suppressed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_room_messages_message_id"), ["message_id"])


def downgrade() -> None:
    with op.batch_alter_table("room_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_room_messages_message_id"), type_="unique")
        batch_op.drop_column("suppressed_at")
        batch_op.drop_column("message_id")

    with op.batch_alter_table("user_disclaimers", schema=None) as batch_op:
        batch_op.drop_index("ix_user_disclaimers_disclaimer")

    op.drop_table("user_disclaimers")
    with op.batch_alter_table("company_certs", schema=None) as batch_op:
        batch_op.drop_index("ix_company_certs_issuer")

    op.drop_table("company_certs")
    op.drop_table("barrier_policy_groups")
    with op.batch_alter_table("barrier_group_members", schema=None) as batch_op:
        batch_op.drop_index("ix_barrier_group_members_user")

    op.drop_table("barrier_group_members")
    op.drop_table("disclaimers")
    op.drop_table("barrier_policies")
    op.drop_table("barrier_groups")
