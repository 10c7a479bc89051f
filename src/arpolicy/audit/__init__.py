"""The append-only audit log: every configuration change and policy decision."""

from arpolicy.audit.service import Actor, list_events, record, snapshot

__all__ = ["Actor", "list_events", "record", "snapshot"]
