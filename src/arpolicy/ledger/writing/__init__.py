"""The ledger write service: create, update and void of every kind of ledger record, and
imports, with the same validation, lock, audit trail, webhooks and hooks on every path
(REST API, CLI, jobs, policies). See service.py."""

from arpolicy.ledger.writing.resources import RESOURCES, Ref, Resource, resource
from arpolicy.ledger.writing.rows import Exists, RowsInvalid
from arpolicy.ledger.writing.service import Guard, LedgerWrites

__all__ = [
    "RESOURCES",
    "Exists",
    "Guard",
    "LedgerWrites",
    "Ref",
    "Resource",
    "RowsInvalid",
    "resource",
]
