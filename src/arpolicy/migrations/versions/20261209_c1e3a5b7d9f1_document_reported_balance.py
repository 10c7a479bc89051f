"""documents: the balance the billing system reports, kept apart from the ledger's

``documents.balance_minor`` is the ledger's own balance (the amount minus what is applied
to the document); ``reported_balance_minor`` is what the billing system last reported,
kept as reported. ``credited_minor`` is what the ledger holds applied to the document other
than from payments (credit notes applied, write-offs): the balance is the amount minus it
and minus the allocations. Existing documents were loaded from the billing system, so their
reported balance is their stored balance, and nothing is credited.

Revision ID: c1e3a5b7d9f1
Revises: b9d1f3a5c7e9
Create Date: 2026-12-09 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c1e3a5b7d9f1"
down_revision: str | None = "b9d1f3a5c7e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("reported_balance_minor", sa.BigInteger(), nullable=True))
    op.add_column(
        "documents",
        sa.Column("credited_minor", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.execute("UPDATE documents SET reported_balance_minor = balance_minor")


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("credited_minor")
        batch_op.drop_column("reported_balance_minor")
