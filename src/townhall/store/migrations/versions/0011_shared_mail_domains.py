"""Shared mail domains: a domain that belongs to a brand rather than to a tenant.

OX's shared mail domains are a reseller's: every context of the brand (and of the
brands below it) hosts mail in them. They stay rows of the one `domains` table, so a
name is still unique across every kind of domain and the mail engines' lookups read one
table: a shared row has no tenant (`tenant_id` NULL), names its brand in `brand_id` and
has kind `shared`. Every other row keeps its tenant and has no brand.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.alter_column("tenant_id", existing_type=_ID, nullable=True)
        batch_op.add_column(sa.Column("brand_id", _ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_domains_brand_id_brands"),
            "brands",
            ["brand_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_domains_brand", ["brand_id"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM domains WHERE tenant_id IS NULL")
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.drop_index("ix_domains_brand")
        batch_op.drop_constraint(batch_op.f("fk_domains_brand_id_brands"), type_="foreignkey")
        batch_op.drop_column("brand_id")
        batch_op.alter_column("tenant_id", existing_type=_ID, nullable=False)
