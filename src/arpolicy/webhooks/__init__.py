"""Webhooks: tenants register endpoints for events; :func:`emit` writes one outbox message
per subscribed endpoint in the caller's transaction; the worker delivers them, signed per
the Standard Webhooks spec, with retries."""

from arpolicy.webhooks.events import EVENTS, emit

__all__ = ["EVENTS", "emit"]
