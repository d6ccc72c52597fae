"""Tenant routing, home domains and unguessable avatar URLs (issue 12).

- `domains.routes`: whether a Host (or RMP login `server`) naming the domain reaches
  its tenant. Only the operator sets it; primary domains route, every other domain a
  tenant made stays false.
- `users.home_domain_id`: the domain whose admins may act on the person (NULL: the
  tenant's primary domain).
- `user_avatars.token`: the random name of the picture in its URL, new with each upload.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:10:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routes", sa.Boolean(), server_default="0", nullable=False))
    op.execute(sa.text("UPDATE domains SET routes = (kind = 'primary')"))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home_domain_id", _ID, nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_users_home_domain_id_domains"),
            "domains",
            ["home_domain_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("user_avatars", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token", sa.String(length=43), nullable=True))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.text("SELECT user_id FROM user_avatars")).all():
        connection.execute(
            sa.text("UPDATE user_avatars SET token = :token WHERE user_id = :user_id"),
            {"token": secrets.token_urlsafe(16), "user_id": user_id},
        )
    with op.batch_alter_table("user_avatars", schema=None) as batch_op:
        batch_op.alter_column("token", existing_type=sa.String(length=43), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_user_avatars_token"), ["token"])


def downgrade() -> None:
    with op.batch_alter_table("user_avatars", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_user_avatars_token"), type_="unique")
        batch_op.drop_column("token")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_users_home_domain_id_domains"), type_="foreignkey")
        batch_op.drop_column("home_domain_id")
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.drop_column("routes")
