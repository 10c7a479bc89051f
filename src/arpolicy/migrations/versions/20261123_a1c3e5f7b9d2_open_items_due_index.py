"""open items index for dunning-style selections

Revision ID: a1c3e5f7b9d2
Revises: 1f66d6d3044a
Create Date: 2026-11-23 08:40:00
"""

from collections.abc import Sequence

revision: str = "a1c3e5f7b9d2"
down_revision: str | None = "1f66d6d3044a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
