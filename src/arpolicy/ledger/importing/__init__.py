"""``arpolicy import``: ledger facts from CSV and JSON Lines files (or mappings through the
API), every row validated, upserted by its key in one transaction.

    report = import_file(session, tenant, "invoices", "invoices.csv", partial=False)
    if not report.ok: ...  # nothing was written; report.errors says where, why, how to fix

See docs/import.md for the columns of every kind (generated from :func:`describe`).
"""

from arpolicy.ledger.importing.api import import_file, import_rows
from arpolicy.ledger.importing.registry import KINDS, ColumnInfo, describe, get_kind
from arpolicy.ledger.importing.report import ImportReport, RowError

__all__ = [
    "KINDS",
    "ColumnInfo",
    "ImportReport",
    "RowError",
    "describe",
    "get_kind",
    "import_file",
    "import_rows",
]
