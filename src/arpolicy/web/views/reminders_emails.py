"""Emails by state (queued, sent, in doubt, failed, bounced, suppressed) and each one with
the exact message that went out; the replies and bounces received; the tasks, closed in
place by those who may (``emails:send``, as ``POST /v1/tasks/{id}/done``). The rows come
from the queries of ``/v1/emails``, ``/v1/inbound-emails`` and ``/v1/tasks``
(``api.email_queries``), 50 to a page by cursor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from arpolicy.api.email_queries import (
    EMAIL_SORT,
    INBOUND_SORT,
    TASK_SORT,
    close_task,
    email_of,
    emails_query,
    inbound_query,
    tasks_query,
)
from arpolicy.api.listing import rows
from arpolicy.models import Email as EmailRow
from arpolicy.models import EngagementTask, InboundEmail, TaskStatus
from arpolicy.models.engagement import EmailStatus, InboundKind
from arpolicy.web.context import Caller, signed_in
from arpolicy.web.render import page
from arpolicy.web.views.reminders_support import PAGE, TABS, customers_of

router = APIRouter(include_in_schema=False)
STATES = ("queued", "sent", "in_doubt", "failed", "bounced", "suppressed")
KINDS = tuple(k.value for k in InboundKind)


def _cursor(cursor: str | None) -> str | None:
    return cursor or None


@router.get("/reminders/emails", response_class=HTMLResponse)
def emails(
    request: Request,
    state: str = "",
    cycle: str = "",
    cursor: str | None = None,
    me: Caller = Depends(signed_in()),
) -> Any:
    """Emails newest first, by state (in doubt: handed to the transport again after a
    crash) and cycle."""
    status = EmailStatus(state) if state in STATES and state != "in_doubt" else None
    stmt = emails_query(
        me.tenant_id,
        status=status,
        cycle=cycle.strip() or None,
        in_doubt=True if state == "in_doubt" else None,
    )
    return page(
        request,
        me,
        "reminders/emails.html",
        fragment="rows",
        tabs=TABS,
        **_newest(me, stmt, EmailRow, EMAIL_SORT, cursor),
        states=STATES,
        state=state,
        cycle=cycle,
        first=cursor is None,
    )


@router.get("/reminders/emails/{email_id}", response_class=HTMLResponse)
def email(request: Request, email_id: int, me: Caller = Depends(signed_in())) -> Any:
    """One email as it went out: headers, state, why it was decided, both bodies; the
    replies and bounces it got."""
    with me.read() as session:
        found = email_of(session, me.tenant_id, email_id)
        answers, _ = rows(
            session,
            inbound_query(me.tenant_id, email_id=found.id),
            InboundEmail,
            sort="-id",
            cursor=None,
            limit=PAGE,
            sortable=INBOUND_SORT,
            default="-id",
        )
        names = customers_of(session, me.tenant_id, [found.customer_id])
        session.expunge(found)
        answers = list(answers)
    return page(
        request, me, "reminders/email.html", tabs=TABS, e=found, answers=answers, names=names
    )


@router.get("/reminders/replies", response_class=HTMLResponse)
def replies(
    request: Request, kind: str = "", cursor: str | None = None, me: Caller = Depends(signed_in())
) -> Any:
    """Messages received, newest first: replies, bounces, automatic answers, unmatched."""
    chosen = InboundKind(kind) if kind in KINDS else None
    stmt = inbound_query(me.tenant_id, kind=chosen)
    return page(
        request,
        me,
        "reminders/replies.html",
        fragment="rows",
        tabs=TABS,
        **_newest(me, stmt, InboundEmail, INBOUND_SORT, cursor),
        kinds=KINDS,
        kind=kind,
        first=cursor is None,
    )


def _tasks(me: Caller, status: str, cursor: str | None) -> dict[str, Any]:
    chosen = TaskStatus(status) if status in ("open", "done") else None
    return _newest(me, tasks_query(me.tenant_id, status=chosen), EngagementTask, TASK_SORT, cursor)


def _newest(me: Caller, stmt: Any, model: Any, sortable: Any, cursor: str | None) -> dict[str, Any]:
    """A page of ``stmt``'s rows, newest first, with the names of their customers (the
    emails, replies and tasks lists): ``items``, ``names``, ``next_cursor``."""
    with me.read() as session:
        found, nxt = rows(
            session,
            stmt,
            model,
            sort="-id",
            cursor=_cursor(cursor),
            limit=PAGE,
            sortable=sortable,
            default="-id",
        )
        names = customers_of(session, me.tenant_id, [x.customer_id for x in found])
        return {"items": list(found), "names": names, "next_cursor": nxt}


@router.get("/reminders/tasks", response_class=HTMLResponse)
def tasks(
    request: Request,
    status: str = "open",
    cursor: str | None = None,
    me: Caller = Depends(signed_in()),
) -> Any:
    """Work for a person instead of an email (a customer the cycle could not email)."""
    return page(
        request,
        me,
        "reminders/tasks.html",
        fragment="rows",
        tabs=TABS,
        task_status=status,
        first=cursor is None,
        can_close=me.can("emails:send"),
        **_tasks(me, status, cursor),
    )


@router.post("/reminders/tasks/{task_id}/done", response_class=HTMLResponse)
async def task_done(
    request: Request, task_id: int, me: Caller = Depends(signed_in("emails:send"))
) -> Response:
    def work() -> None:
        with me.write() as session:
            close_task(session, me, task_id)

    await run_in_threadpool(work)
    return RedirectResponse("/reminders/tasks?closed=1", status_code=303)
