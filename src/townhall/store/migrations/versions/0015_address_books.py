"""Address books: each person's named books of vCard contacts and contact groups (RMP's
contacts folder, address books and contact groups).

Both tables have generated ids, so on SQLite they are AUTOINCREMENT like every other
such table (0006).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "address_books",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_address_books_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_books")),
        sa.UniqueConstraint("user_id", "name", name="uq_address_books_user_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "address_cards",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("book_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=1023), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_key", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("organization", sa.String(length=1023), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=True),
        sa.Column("person_id", ID, nullable=True),
        sa.Column("link_domain", sa.String(length=253), nullable=True),
        sa.Column("vcard", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('contact', 'group')", name=op.f("ck_address_cards_known_kind")
        ),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["address_books.id"],
            name=op.f("fk_address_cards_book_id_address_books"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_address_cards_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["users.id"],
            name=op.f("fk_address_cards_person_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_cards")),
        sa.UniqueConstraint("user_id", "uid", name="uq_address_cards_user_uid"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("address_cards", schema=None) as batch_op:
        batch_op.create_index("ix_address_cards_book", ["book_id"], unique=False)
        batch_op.create_index("ix_address_cards_person", ["person_id"], unique=False)
        batch_op.create_index("ix_address_cards_email_key", ["email_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("address_cards", schema=None) as batch_op:
        batch_op.drop_index("ix_address_cards_email_key")
        batch_op.drop_index("ix_address_cards_person")
        batch_op.drop_index("ix_address_cards_book")
    op.drop_table("address_cards")
    op.drop_table("address_books")
