"""tenants: a payment link and bank details for reminders

Two settings a tenant may give so that its reminder emails say how to pay: the URL of an
online payment page (``{customer_number}`` in it stands for the customer's number) and the
bank details for a transfer (account holder, IBAN, BIC, bank name, as JSON). Both are
empty for existing tenants: their emails are unchanged until they are set.

Revision ID: b9d1f3a5c7e9
Revises: a8c0e2f4b6d8
Create Date: 2026-12-08 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b9d1f3a5c7e9"
down_revision: str | None = "a8c0e2f4b6d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("payment_link_url", sa.String(length=500), nullable=True))
    op.add_column("tenants", sa.Column("bank_details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("bank_details")
        batch_op.drop_column("payment_link_url")
