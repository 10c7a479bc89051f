"""The queries behind ``/v1/emails``, ``/v1/inbound-emails`` and ``/v1/tasks``, shared by
the API's routes and the web app's reminders screens (one place that says which rows a
filter selects, and how a task is closed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from arpolicy.api.context import Api
from arpolicy.api.listing import equal
from arpolicy.engagement.worklist_actions import close_task as close_engagement_task
from arpolicy.exceptions import NotFoundError
from arpolicy.models import Email as EmailRow
from arpolicy.models import EngagementTask, InboundEmail, TaskStatus
from arpolicy.models.engagement import EmailMode, EmailStatus, InboundKind

EMAIL_SORT = {"id": EmailRow.id, "decided_at": EmailRow.decided_at, "sent_at": EmailRow.sent_at}
INBOUND_SORT = {"id": InboundEmail.id, "received_at": InboundEmail.received_at}
TASK_SORT = {
    "id": EngagementTask.id,
    "due_on": EngagementTask.due_on,
    "created_at": EngagementTask.created_at,
}


def not_found(what: str, ident: int, path: str) -> NotFoundError:
    return NotFoundError(f"no {what} {ident}", where="path", fix=f"list them with GET {path}")


def emails_query(
    tenant_id: int,
    customer_id: int | None = None,
    status: EmailStatus | None = None,
    cycle: str | None = None,
    mode: EmailMode | None = None,
    in_doubt: bool | None = None,
) -> Select[Any]:
    e = EmailRow
    return equal(
        select(e).where(e.tenant_id == tenant_id),
        {
            e.customer_id: customer_id,
            e.status: status,
            e.cycle: cycle,
            e.mode: mode,
            e.in_doubt: in_doubt,
        },
    )


def email_of(session: Session, tenant_id: int, email_id: int) -> EmailRow:
    found = session.scalar(
        select(EmailRow).where(EmailRow.tenant_id == tenant_id, EmailRow.id == email_id)
    )
    if found is None:
        raise not_found("email", email_id, "/v1/emails")
    return found


def inbound_query(
    tenant_id: int,
    customer_id: int | None = None,
    email_id: int | None = None,
    kind: InboundKind | None = None,
) -> Select[Any]:
    i = InboundEmail
    return equal(
        select(i).where(i.tenant_id == tenant_id),
        {i.customer_id: customer_id, i.email_id: email_id, i.kind: kind},
    )


def tasks_query(
    tenant_id: int,
    status: TaskStatus | None = None,
    customer_id: int | None = None,
    user_id: int | None = None,
    kind: str | None = None,
) -> Select[Any]:
    t = EngagementTask
    return equal(
        select(t).where(t.tenant_id == tenant_id),
        {t.status: status, t.customer_id: customer_id, t.user_id: user_id, t.kind: kind},
    )


def close_task(session: Session, api: Api, task_id: int) -> EngagementTask:
    """Close the task (closing a closed task changes nothing); audited as ``task.done``
    (engagement.worklist_actions.close_task, which the worklist calls too). 404 when the
    tenant has no such task."""
    task = close_engagement_task(session, api.actor, task_id, api.now())
    if task is None:
        raise not_found("task", task_id, "/v1/tasks")
    return task
