"""The append-only audit log: every configuration change and policy decision."""

from arpolicy.audit.service import Actor, describe, list_events, record, snapshot

__all__ = ["Actor", "describe", "list_events", "record", "snapshot"]
