"""idempotency records remember who sent the request

A stored response is replayed only to the principal that sent the first request (the same
API key, later the same user of the app); another principal reusing the key is refused.
Rows stored before this revision have no principal and are never replayed (they expire
within the key lifetime, 48 hours by default).

Revision ID: f7b9d1e3a5c7
Revises: e5a7c9e1f3b5
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f7b9d1e3a5c7"
down_revision: str | None = "e5a7c9e1f3b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("principal", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_column("principal")
