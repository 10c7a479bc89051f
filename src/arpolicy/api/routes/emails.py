"""Emails (every one decided, with its delivery status), inbound messages, tasks, and
emails sent by hand.

Reading needs ``ledger:read``; recording a hand-sent email and closing a task need
``emails:send``. A customer's last email and last reply dates are the rule fields
``last_email_at`` and ``last_reply_at``: a reply received (``POST /v1/inbound-email``) or an
email recorded here moves them, and the reminders pause after them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.api.context import Api, require
from arpolicy.api.email_queries import (
    EMAIL_SORT,
    INBOUND_SORT,
    TASK_SORT,
    close_task,
    email_of,
    emails_query,
    inbound_query,
    not_found,
    tasks_query,
)
from arpolicy.api.listing import page, rows, sort_by
from arpolicy.api.manual_emails import ManualEmailCreate, manual_email
from arpolicy.api.schemas import Output, Page
from arpolicy.api.types import (
    INT32,
    Cursor,
    Limit,
    PathId,
    QueryId,
    QueryText,
)
from arpolicy.models import Customer, EngagementTask, InboundEmail, TaskStatus
from arpolicy.models import Email as EmailRow
from arpolicy.models.engagement import EmailMode, EmailStatus, InboundKind

router = APIRouter(tags=["emails"])
EmailId = Annotated[int, Path(ge=1, le=INT32, description="The email's id.")]
TaskId = Annotated[int, Path(ge=1, le=INT32, description="The task's id.")]


class EmailRead(Output):
    id: int
    customer_id: int
    key: str = Field(
        description="<cycle id>:<reminder>:<customer id>:<occurrence>, or "
        "manual:<uuid> for an email recorded by hand."
    )
    message_id: str
    mode: EmailMode
    status: EmailStatus
    in_doubt: bool = Field(
        description="Handed to the transport again after a crash: it may "
        "have arrived twice (same Message-ID)."
    )
    cycle_id: int | None
    cycle: str | None
    reminder: str | None
    occurrence: int
    due_on: date | None
    decided_at: datetime
    send_after: datetime | None
    sent_at: datetime | None
    language: str | None
    from_address: str
    reply_to: str | None
    to: list[str]
    cc: list[str]
    subject: str
    documents: list[int] = Field(description="Ids of the documents the email is about.")
    attempts: int
    last_error: str | None
    bounced_at: datetime | None
    replied_at: datetime | None = Field(description="When the first reply arrived.")
    created_at: datetime | None


class EmailDetail(EmailRead):
    reason: str | None = Field(description="Why it was decided: the rules, explained.")
    text_body: str
    html_body: str | None


class CustomerEmails(Page[EmailRead]):
    """The customer's emails, newest first, with its last email and last reply dates."""

    customer_id: int
    last_email_at: datetime | None
    last_reply_at: datetime | None


class InboundEmailRead(Output):
    id: int
    message_id: str
    kind: InboundKind
    received_at: datetime
    from_address: str | None
    subject: str | None
    customer_id: int | None
    email_id: int | None
    matched_by: str | None
    detail: str | None


class TaskRead(Output):
    id: int
    customer_id: int
    user_id: int | None = Field(description="The finance owner it is for (null: the admins).")
    key: str
    kind: str
    cycle: str | None
    reminder: str | None
    detail: str
    status: TaskStatus
    due_on: date | None
    created_at: datetime | None
    updated_at: datetime | None


def _email_read(e: EmailRow) -> EmailRead:
    return EmailRead.model_validate(e)


_not_found = not_found


def _customer(session: Session, api: Api, customer_id: int) -> Customer:
    found = session.scalar(
        select(Customer).where(Customer.tenant_id == api.tenant_id, Customer.id == customer_id)
    )
    if found is None:
        raise _not_found("customer", customer_id, "/v1/customers")
    return found


@router.get("/emails", response_model=Page[EmailRead])
def list_emails(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    status: EmailStatus | None = None,
    cycle: QueryText = None,
    mode: EmailMode | None = None,
    in_doubt: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(EMAIL_SORT, default="-id: newest first"),
) -> Any:
    """Every email decided, sent, bounced or recorded by hand (without bodies: read one
    for them); ``cycle`` is the cycle's name. Sort by id (default -id: newest first),
    decided_at or sent_at."""
    stmt = emails_query(api.tenant_id, customer_id, status, cycle, mode, in_doubt)
    with api.read() as session:
        return page(
            session,
            stmt,
            EmailRow,
            EmailRead,
            _email_read,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=EMAIL_SORT,
            default="-id",
        )


@router.get("/emails/{email_id}", response_model=EmailDetail)
def read_email(email_id: EmailId, api: Api = Depends(require("ledger:read"))) -> Any:
    """One email in full: headers, status, the in-doubt flag, why it was decided, bodies."""
    with api.read() as session:
        return EmailDetail.model_validate(email_of(session, api.tenant_id, email_id))


@router.get("/customers/{customer_id}/emails", response_model=CustomerEmails)
def customer_emails(
    customer_id: PathId,
    api: Api = Depends(require("ledger:read")),
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    """The customer's emails, newest first, with its ``last_email_at`` and
    ``last_reply_at`` (the rule fields of those names)."""
    e = EmailRow
    with api.read() as session:
        customer = _customer(session, api, customer_id)
        stmt = select(e).where(e.tenant_id == api.tenant_id, e.customer_id == customer.id)
        found, nxt = rows(
            session,
            stmt,
            e,
            sort="-decided_at",
            cursor=cursor,
            limit=limit,
            sortable={"decided_at": e.decided_at},
        )
        return CustomerEmails(
            items=[_email_read(r) for r in found],
            next_cursor=nxt,
            customer_id=customer.id,
            last_email_at=customer.last_email_at,
            last_reply_at=customer.last_reply_at,
        )


@router.get("/inbound-emails", response_model=Page[InboundEmailRead])
def list_inbound_emails(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    email_id: QueryId = None,
    kind: InboundKind | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(INBOUND_SORT, default="-id: newest first"),
) -> Any:
    """Messages received: replies, bounces, automatic answers and unmatched ones. Sort by
    id (default -id: newest first) or received_at."""
    stmt = inbound_query(api.tenant_id, customer_id, email_id, kind)
    with api.read() as session:
        return page(
            session,
            stmt,
            InboundEmail,
            InboundEmailRead,
            InboundEmailRead.model_validate,
            sort=sort,
            cursor=cursor,
            limit=limit,
            default="-id",
            sortable=INBOUND_SORT,
        )


@router.get("/tasks", response_model=Page[TaskRead])
def list_tasks(
    api: Api = Depends(require("ledger:read")),
    status: TaskStatus | None = None,
    customer_id: QueryId = None,
    user_id: QueryId = None,
    kind: QueryText = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(TASK_SORT),
) -> Any:
    """Work for a person instead of an email (a customer the cycle could not email). Sort
    by id (default), due_on or created_at."""
    stmt = tasks_query(api.tenant_id, status, customer_id, user_id, kind)
    with api.read() as session:
        return page(
            session,
            stmt,
            EngagementTask,
            TaskRead,
            TaskRead.model_validate,
            sort=sort,
            cursor=cursor,
            limit=limit,
            sortable=TASK_SORT,
        )


@router.post("/tasks/{task_id}/done", response_model=TaskRead)
def task_done(task_id: TaskId, api: Api = Depends(require("emails:send"))) -> Any:
    """Close a task (closing a closed task changes nothing)."""

    def work(session: Session) -> Any:
        return TaskRead.model_validate(close_task(session, api, task_id))

    return api.created(work, status=200)


@router.post("/customers/{customer_id}/manual-emails", status_code=201, response_model=EmailDetail)
def record_manual_email(
    customer_id: PathId, body: ManualEmailCreate, api: Api = Depends(require("emails:send"))
) -> Any:
    """Record an email sent by hand outside arpolicy. It is listed with the others (mode
    ``manual``, status ``sent``) and moves the customer's ``last_email_at``, so the
    reminders pause after it as after one of theirs. ``to`` defaults to the customer's
    billing contacts, ``from_address`` to the caller's address."""

    def work(session: Session) -> Any:
        customer = _customer(session, api, customer_id)
        email = manual_email(session, api, customer, body)
        return EmailDetail.model_validate(email)

    return api.created(work)
