"""The append-only audit log: every configuration change and policy decision."""

from arpolicy.audit.service import (
    Actor,
    Entry,
    describe,
    list_events,
    record,
    record_many,
    snapshot,
)

__all__ = ["Actor", "Entry", "describe", "list_events", "record", "record_many", "snapshot"]
