"""Renamed to :mod:`arpolicy.ownership.admin` (docs/adr/0004-module-shape.md).

Kept only for the callers of the ledger-write paths that still import these names from
here; they move to ``ownership/hooks.py`` (ledger hooks), and this module then goes.
"""

from arpolicy.ownership.admin import after_import, assign_customers, mark_set_by_hand

__all__ = ["after_import", "assign_customers", "mark_set_by_hand"]
