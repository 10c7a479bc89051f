"""open items index for dunning-style selections

A partial covering index over the documents with a balance, by tenant, currency and id,
carrying the due date, the balance and the dispute flag: what a dunning-style rule
(``balance > 500 USD and due_date < 30 days ago and not disputed``) reads, in the id order
select_invoices returns, so that it scans only those index entries and sorts nothing. See
docs/benchmarks.md, "Rule language".

Revision ID: a1c3e5f7b9d2
Revises: 1f66d6d3044a
Create Date: 2026-11-23 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c3e5f7b9d2"
down_revision: str | None = "1f66d6d3044a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_documents_balance_due"
WHERE = {
    "sqlite_where": sa.text("balance_minor != 0"),
    "postgresql_where": sa.text("balance_minor <> 0"),
}


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            NAME,
            ["tenant_id", "currency", "id", "due_date", "balance_minor", "disputed"],
            unique=False,
            **WHERE,
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(NAME, **WHERE)
