"""figure snapshots: the dashboard's tenant-wide figures, computed once and read many times

The web app's dashboard (issue 14; ADR 0008, ledger/snapshot.py). A tenant table under
row-level security like the others (see c3e5a7b9d1f3).

Revision ID: c5e7a9b1d3f6
Revises: 078ffb1a8ba4
Create Date: 2026-12-07 23:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import arpolicy.kit.types

revision: str = "c5e7a9b1d3f6"
down_revision: str | None = "078ffb1a8ba4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "figure_snapshots",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", arpolicy.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            arpolicy.kit.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            arpolicy.kit.types.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_figure_snapshots_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figure_snapshots")),
        sa.UniqueConstraint("tenant_id", "as_of", name=op.f("uq_figure_snapshots_tenant_id_as_of")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in ROW_LEVEL_SECURITY_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} AS PERMISSIVE FOR ALL TO PUBLIC "
                f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
            )


ROW_LEVEL_SECURITY_TABLES = ("figure_snapshots",)
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::integer"


def downgrade() -> None:
    op.drop_table("figure_snapshots")
