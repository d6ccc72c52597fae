"""Jobs outlive a restore: `jobs.tenant_id` no longer refers to `tenants`.

Why: a restore (services/backup.py) deletes and refills every tenant in one
transaction. With the foreign key's ON DELETE CASCADE that deleted every job row too,
the restore's own running row among them, and on PostgreSQL it held that row locked, so
the job's progress could not be stored while it ran. Jobs are the server's record of its
work, not the data's (they are kept out of archives), so they keep the tenant id as a
plain number; deleting a tenant deletes its jobs explicitly (store/tenants.py).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_jobs_tenant_id_tenants", type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM jobs WHERE tenant_id NOT IN (SELECT id FROM tenants)")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_jobs_tenant_id_tenants", "tenants", ["tenant_id"], ["id"], ondelete="CASCADE"
        )
