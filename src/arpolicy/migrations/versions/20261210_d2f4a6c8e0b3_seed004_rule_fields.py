"""seed-004 rule fields: days past due from the index, payment methods, card updates

- ``ix_documents_balance_due`` also carries ``doc_type`` and ``voided``: days past due
  belong to open debit documents only (a paid, voided or credit document has none), so a
  dunning-style rule on them reads those two columns, and the index stays covering.
- Payment sources may be cash, check or chargeback (what the customer pays with when it has
  no card or bank account on file); payment attempts may be chargebacks.
- ``payment_sources.previous_last4``: the card's last four digits before its last update,
  for the rule field ``card_same_as_last_update``. Unknown for existing sources.

Revision ID: d2f4a6c8e0b3
Revises: c1e3a5b7d9f1
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d2f4a6c8e0b3"
down_revision: str | None = "c1e3a5b7d9f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_documents_balance_due"
WHERE = {
    "sqlite_where": sa.text("balance_minor != 0"),
    "postgresql_where": sa.text("balance_minor <> 0"),
}
INDEXED = ["tenant_id", "currency", "id", "due_date", "balance_minor", "disputed"]
KINDS = ("card", "bank_account")
NEW_KINDS = (*KINDS, "cash", "check", "chargeback")
METHODS = ("card", "direct_debit", "bank_transfer", "paypal", "wallet", "check", "cash", "other")
NEW_METHODS = (*METHODS[:-1], "chargeback", "other")


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _check(table: str, column: str, name: str, old: Sequence[str], new: Sequence[str]) -> None:
    """Replace the CHECK constraint of an enum column (SQLite: the table is rebuilt)."""
    constraint = op.f(f"ck_{table}_{name}")
    allowed = ", ".join(f"'{v}'" for v in new)
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.alter_column(column, existing_type=_enum(old, name), type_=_enum(new, name))
        return
    op.drop_constraint(constraint, table, type_="check")
    op.create_check_constraint(constraint, table, f"{column} IN ({allowed})")


def _index(columns: list[str]) -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(INDEX, **WHERE)
        batch_op.create_index(INDEX, columns, unique=False, **WHERE)


def upgrade() -> None:
    _index([*INDEXED, "doc_type", "voided"])
    _check("payment_sources", "kind", "source_kind", KINDS, NEW_KINDS)
    _check("payment_attempts", "method", "payment_method", METHODS, NEW_METHODS)
    op.add_column("payment_sources", sa.Column("previous_last4", sa.String(length=4)))


def downgrade() -> None:
    with op.batch_alter_table("payment_sources", schema=None) as batch_op:
        batch_op.drop_column("previous_last4")
    op.execute("UPDATE payment_attempts SET method = 'other' WHERE method = 'chargeback'")
    _check("payment_attempts", "method", "payment_method", NEW_METHODS, METHODS)
    op.execute("DELETE FROM payment_sources WHERE kind IN ('cash', 'check', 'chargeback')")
    _check("payment_sources", "kind", "source_kind", NEW_KINDS, KINDS)
    _index(INDEXED)
