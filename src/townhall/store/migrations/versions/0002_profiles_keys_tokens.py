"""Profile attributes on users, users' RSA public keys, API session tokens, stream
attributes on rooms, presence, features, delegates,
avatars and application entitlements.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROFILE = [
    ("first_name", 255),
    ("last_name", 255),
    ("title", 255),
    ("company_name", 255),
    ("department", 255),
    ("division", 255),
    ("location", 255),
    ("job_function", 255),
    ("work_phone", 64),
    ("mobile_phone", 64),
    ("sms_number", 64),
]
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ROOM_FLAGS = [
    ("active", "1"),
    ("read_only", "0"),
    ("copy_protected", "0"),
    ("cross_pod", "0"),
    ("view_history", "0"),
    ("multilateral", "0"),
]


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name, length in PROFILE:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))
        batch.add_column(
            sa.Column("account_type", sa.String(10), nullable=False, server_default="NORMAL")
        )
    op.create_table(
        "user_keys",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('current', 'previous')", name=op.f("ck_user_keys_known_kind")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_user_keys")),
    )
    op.create_table(
        "session_tokens",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_session_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_session_tokens")),
    )
    op.create_index("ix_session_tokens_user", "session_tokens", ["user_id"])
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("stream_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("keywords", sa.JSON(), nullable=True))
        for flag, default in ROOM_FLAGS:
            batch.add_column(sa.Column(flag, sa.Boolean(), nullable=False, server_default=default))
        batch.add_column(sa.Column("sub_type", sa.String(32), nullable=True))
        batch.add_column(sa.Column("created_by", Id, nullable=True))
        batch.create_unique_constraint(op.f("uq_rooms_stream_id"), ["stream_id"])
        batch.create_foreign_key(
            op.f("fk_rooms_created_by_users"), "users", ["created_by"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("room_affiliations") as batch:
        batch.add_column(sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "user_presence",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_presence_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_presence")),
    )
    _entitlement_tables()


def _user_fk(table: str, column: str = "user_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="CASCADE"
    )


def _entitlement_tables() -> None:
    op.create_table(
        "user_features",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _user_fk("user_features"),
        sa.PrimaryKeyConstraint("user_id", "feature", name=op.f("pk_user_features")),
    )
    op.create_table(
        "user_delegates",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("delegate_id", Id, nullable=False),
        _user_fk("user_delegates"),
        _user_fk("user_delegates", "delegate_id"),
        sa.PrimaryKeyConstraint("user_id", "delegate_id", name=op.f("pk_user_delegates")),
    )
    op.create_table(
        "app_entitlements",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("app_id", sa.String(256), nullable=False),
        sa.Column("app_name", sa.String(50), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("install", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_app_entitlements_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "app_id", name=op.f("pk_app_entitlements")),
    )
    op.create_table(
        "user_avatars",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _user_fk("user_avatars"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_avatars")),
    )
    op.create_table(
        "user_app_entitlements",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("app_id", sa.String(256), nullable=False),
        sa.Column("app_name", sa.String(50), nullable=True),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("install", sa.Boolean(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=True),
        _user_fk("user_app_entitlements"),
        sa.PrimaryKeyConstraint("user_id", "app_id", name=op.f("pk_user_app_entitlements")),
    )


def downgrade() -> None:
    for table in (
        "user_app_entitlements",
        "user_avatars",
        "app_entitlements",
        "user_delegates",
        "user_features",
    ):
        op.drop_table(table)
    op.drop_table("user_presence")
    with op.batch_alter_table("room_affiliations") as batch:
        batch.drop_column("joined_at")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_constraint(op.f("fk_rooms_created_by_users"), type_="foreignkey")
        batch.drop_constraint(op.f("uq_rooms_stream_id"), type_="unique")
        for column in ("created_by", "sub_type", *(f for f, _ in reversed(ROOM_FLAGS))):
            batch.drop_column(column)
        batch.drop_column("keywords")
        batch.drop_column("stream_id")
    op.drop_index("ix_session_tokens_user", table_name="session_tokens")
    op.drop_table("session_tokens")
    op.drop_table("user_keys")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("account_type")
        for name, _ in reversed(PROFILE):
            batch.drop_column(name)
