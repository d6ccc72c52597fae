"""Stored vCards are well-formed XML again: entity references are removed.

Until the Openfire dialect refused vCards that use XML entities, such a card was stored
with its references (`&name;`) but without the DOCTYPE that declared them, so every read
served malformed XML. The references were never expanded (no XXE), so what they stood
for is unknown: each is removed and the rest of the card is kept. Predefined entities
(`&amp;` ...) and character references are XML's own and stay.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 20:00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DECLARED_ELSEWHERE = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)[^\s&;<>]+;")
users = sa.table("users", sa.column("id", sa.Integer), sa.column("vcard", sa.Text))


def upgrade() -> None:
    bind = op.get_bind()
    stored = sa.select(users.c.id, users.c.vcard).where(users.c.vcard.like("%&%"))
    for user_id, vcard in bind.execute(stored).all():
        cleaned = DECLARED_ELSEWHERE.sub("", vcard)
        if cleaned != vcard:
            bind.execute(users.update().where(users.c.id == user_id).values(vcard=cleaned))


def downgrade() -> None:
    """Nothing to undo: what the references stood for was never stored."""
