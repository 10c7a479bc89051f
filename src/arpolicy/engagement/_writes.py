"""Part of the repository room: the bulk writes of a run. The email rows, their documents,
outbox rows (due when the send window opens), tasks and audit events, in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor, Entry, record_many
from arpolicy.engagement._snapshot import CHUNK
from arpolicy.engagement.policy import Outcome
from arpolicy.kit.bulk import insert_many
from arpolicy.models import (
    Email,
    EmailDocument,
    EmailMode,
    EmailStatus,
    EngagementTask,
    OutboxMessage,
    OutboxStatus,
    Tenant,
)


@dataclass
class PlannedEmail:
    outcome: Outcome
    mode: EmailMode
    key: str
    message_id: str
    to: list[str]
    cc: list[str]
    from_address: str
    reply_to: str | None
    subject: str
    text: str
    html: str | None
    language: str
    send_after: datetime
    customer_external_id: str
    day: date
    """The day of the run (in the tenant's zone): the invoices' last email."""


def write(
    session: Session,
    tenant: Tenant,
    actor: Actor,
    planned: Sequence[PlannedEmail],
    tasks: Sequence[dict[str, Any]],
    now: datetime,
) -> int:
    """The emails, their documents, outbox rows, tasks and audit events, in the caller's
    transaction. Keys another run already wrote are skipped (they are unique)."""
    if not planned and not tasks:
        return 0
    keys = [p.key for p in planned]
    existing: set[str] = set()
    for k in range(0, len(keys), CHUNK):
        existing |= set(
            session.scalars(
                select(Email.key).where(
                    Email.tenant_id == tenant.id, Email.key.in_(keys[k : k + CHUNK])
                )
            )
        )
    fresh = [p for p in planned if p.key not in existing]
    if fresh:
        _insert_emails(session, tenant, actor, fresh, now)
    task_keys = [t["key"] for t in tasks]
    have = (
        set(
            session.scalars(
                select(EngagementTask.key).where(
                    EngagementTask.tenant_id == tenant.id, EngagementTask.key.in_(task_keys)
                )
            )
        )
        if task_keys
        else set()
    )
    new_tasks = [t for t in tasks if t["key"] not in have]
    insert_many(
        session,
        EngagementTask,
        [
            "tenant_id",
            "customer_id",
            "user_id",
            "key",
            "kind",
            "cycle",
            "reminder",
            "detail",
            "status",
            "due_on",
        ],
        [
            (
                tenant.id,
                t["customer_id"],
                t["user_id"],
                t["key"],
                "no_address",
                t["cycle"],
                t["reminder"],
                t["detail"],
                "open",
                t["due_on"],
            )
            for t in new_tasks
        ],
    )
    decided = (
        Entry(
            "email.decided",
            "customer",
            p.outcome.customer_id,
            after={"key": p.key, "message_id": p.message_id, "to": p.to, "mode": p.mode.value},
            reason=p.outcome.reason,
        )
        for p in fresh
    )
    created = (
        Entry(
            "task.created",
            "customer",
            t["customer_id"],
            after={"key": t["key"], "kind": "no_address", "user_id": t["user_id"]},
            reason=t["detail"],
        )
        for t in new_tasks
    )
    record_many(session, actor, [*decided, *created], at=now)
    return len(fresh)


def _insert_emails(
    session: Session, tenant: Tenant, actor: Actor, fresh: Sequence[PlannedEmail], now: datetime
) -> None:
    cols = [
        "tenant_id",
        "customer_id",
        "key",
        "message_id",
        "mode",
        "status",
        "cycle_id",
        "cycle",
        "reminder",
        "occurrence",
        "due_on",
        "decided_at",
        "send_after",
        "language",
        "from_address",
        "reply_to",
        "to",
        "cc",
        "subject",
        "text_body",
        "html_body",
        "documents",
        "reason",
        "in_doubt",
        "attempts",
    ]
    rows = []
    for p in fresh:
        o = p.outcome
        assert o.cycle is not None and o.reminder is not None
        rows.append(
            (
                tenant.id,
                o.customer_id,
                p.key,
                p.message_id,
                p.mode,
                EmailStatus.QUEUED,
                o.cycle.id,
                o.cycle.cycle.name,
                o.reminder.name,
                o.occurrence,
                o.due_on,
                now,
                p.send_after,
                p.language,
                p.from_address,
                p.reply_to,
                p.to,
                p.cc,
                p.subject,
                p.text,
                p.html,
                [inv.id for inv, _ in o.invoices],
                o.reason,
                False,
                0,
            )
        )
    insert_many(session, Email, cols, rows)
    ids: dict[str, int] = {}
    keys = [p.key for p in fresh]
    for k in range(0, len(keys), CHUNK):
        ids.update(
            session.connection()
            .execute(
                select(Email.key, Email.id).where(
                    Email.tenant_id == tenant.id, Email.key.in_(keys[k : k + CHUNK])
                )
            )
            .all()
        )
    insert_many(
        session,
        EmailDocument,
        [
            "tenant_id",
            "email_id",
            "document_id",
            "cycle_id",
            "mode",
            "reminder",
            "due_on",
            "decided_on",
        ],
        [
            (
                tenant.id,
                ids[p.key],
                inv.id,
                p.outcome.cycle.id,  # type: ignore[union-attr]
                p.mode,
                p.outcome.cycle.cycle.reminders[s.reminder].name,  # type: ignore[union-attr]
                s.on,
                p.day,
            )
            for p in fresh
            for inv, s in p.outcome.invoices
        ],
    )
    insert_many(
        session,
        OutboxMessage,
        [
            "tenant_id",
            "kind",
            "event_type",
            "event_id",
            "dedupe_key",
            "endpoint_id",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
        ],
        [
            (
                tenant.id,
                "email",
                "email",
                p.message_id,
                p.key,
                None,
                {"email_id": ids[p.key]},
                OutboxStatus.PENDING,
                0,
                p.send_after,
            )
            for p in fresh
        ],
    )
