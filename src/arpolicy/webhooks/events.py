"""The events a tenant can subscribe to, and :func:`emit`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from arpolicy.kit.db import core
from arpolicy.models import OutboxMessage, OutboxStatus, WebhookEndpoint

EVENTS: dict[str, str] = {
    "customer.created": "A customer was created by a single write (API, CLI or job); an "
    "import announces import.completed instead.",
    "customer.updated": "A customer's stored fields changed.",
    "customer.owner_changed": "A customer's finance or sales owner changed.",
    "document.created": "An invoice, debit note or credit note was created.",
    "document.updated": "A document changed (balance, due date, dispute flag...).",
    "payment.created": "A payment was recorded.",
    "promise.created": "A promise to pay was recorded.",
    "dispute.created": "A dispute was opened.",
    "reminder.sent": "An engagement-cycle reminder e-mail was sent.",
    "email.replied": "A customer replied to an email (matched by In-Reply-To, References or "
    "the sender's address); the customer's last reply date moved.",
    "email.bounced": "An email bounced: the email is marked bounced and the failed contacts too.",
    "order.credit_checked": "An order was checked against the customer's credit.",
    "approval.requested": "An approval was requested.",
    "notification.created": "A user of the tenant was notified (an approval to give, a credit "
    "hold, an override...); the same notification is emailed to the user.",
    "import.completed": "A bulk import finished (API upload, arpolicy import or a job).",
    "webhook.test": "A test ping, sent only to the endpoint it was requested for "
    "(POST /v1/webhooks/endpoints/{id}/test).",
}
TEST_EVENT = "webhook.test"


def emit(
    session: Session,
    tenant_id: int,
    event_type: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    *,
    key: str,
    at: datetime,
) -> list[OutboxMessage]:
    """Queue ``event_type`` for every active endpoint of the tenant that subscribes to it.

    ``key`` identifies the change (e.g. ``customer.created:42``): emitting the same key
    again queues nothing more, so a retried job cannot send an event twice. Nothing is sent
    here; the worker delivers after the transaction commits. ``data`` may be a function
    that makes it, called only when some endpoint wants the event.
    """
    wanted = _receivers(session, tenant_id, event_type)
    if not wanted:
        return []
    if callable(data):
        data = data()
    keys = {f"{key}@{endpoint_id}": endpoint_id for endpoint_id in wanted}
    existing = set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.tenant_id == tenant_id, OutboxMessage.dedupe_key.in_(keys)
            )
        )
    )
    event_id = new_event_id()
    messages = [
        _message(tenant_id, endpoint_id, event_type, data, event_id, dedupe, at)
        for dedupe, endpoint_id in keys.items()
        if dedupe not in existing
    ]
    session.add_all(messages)
    return messages


_ACTIVE = select(WebhookEndpoint).where(
    WebhookEndpoint.tenant_id == bindparam("tenant"), WebhookEndpoint.active.is_(True)
)
"""A tenant's active endpoints (built once: every ledger write asks)."""


def subscribed(session: Session, tenant_id: int, event_type: str) -> list[WebhookEndpoint]:
    """The tenant's active endpoints that receive ``event_type`` (ValueError if unknown)."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown event type {event_type!r}")
    endpoints = session.scalars(_ACTIVE, {"tenant": tenant_id}).all()
    return [e for e in endpoints if "*" in e.events or event_type in e.events]


_RECEIVERS = select(WebhookEndpoint.id, WebhookEndpoint.events).where(
    WebhookEndpoint.tenant_id == bindparam("tenant"), WebhookEndpoint.active.is_(True)
)


def _receivers(session: Session, tenant_id: int, event_type: str) -> list[int]:
    """The ids of :func:`subscribed`, read without loading the endpoints (every single
    ledger write asks, and most tenants' answer is none)."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown event type {event_type!r}")
    rows = core(session).execute(_RECEIVERS, {"tenant": tenant_id})
    return [i for i, events in rows if "*" in events or event_type in events]


def ping(session: Session, endpoint: WebhookEndpoint, *, at: datetime) -> OutboxMessage:
    """Queue a ``webhook.test`` message for ``endpoint`` alone (whatever it subscribes to)."""
    event_id = new_event_id()
    message = _message(
        endpoint.tenant_id,
        endpoint.id,
        TEST_EVENT,
        {"endpoint_id": endpoint.id, "message": "This is a test event from arpolicy."},
        event_id,
        f"{TEST_EVENT}:{event_id}@{endpoint.id}",
        at,
    )
    session.add(message)
    return message


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def _message(
    tenant_id: int,
    endpoint_id: int,
    event_type: str,
    data: dict[str, Any],
    event_id: str,
    dedupe_key: str,
    at: datetime,
) -> OutboxMessage:
    return OutboxMessage(
        tenant_id=tenant_id,
        kind="webhook",
        event_type=event_type,
        event_id=event_id,
        dedupe_key=dedupe_key,
        endpoint_id=endpoint_id,
        payload={"type": event_type, "timestamp": at.isoformat(), "data": data},
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=at,
    )
