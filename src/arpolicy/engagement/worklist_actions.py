"""What a user does with a worklist item (engagement/worklist.py): mark it done, snooze it
to a later day, or hand it to a colleague. Each writes the item's mark (one row per item,
models.worklist) and an audit event in the caller's transaction; closing a task item also
closes the task, as ``POST /v1/tasks/{id}/done`` does (:func:`close_task`, which that
route calls too).

A user acts on the items of their own worklist; one who may act for others (the view
passes ``for_others``: a supervisor, a finance manager, an admin) on any item of the
tenant. An item of another tenant, or one that does not exist, is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arpolicy.audit import Actor
from arpolicy.audit import record as audit_record
from arpolicy.engagement.worklist import KINDS
from arpolicy.exceptions import NotFoundError, PermissionDeniedError, ValidationError
from arpolicy.models import (
    Customer,
    Dispute,
    Email,
    EngagementTask,
    InboundEmail,
    PromiseToPay,
    TaskStatus,
    User,
    WorklistMark,
)

MAX_SNOOZE_DAYS = 90
MODELS: dict[str, Any] = {
    "reply": InboundEmail,
    "promise": PromiseToPay,
    "task": EngagementTask,
    "dispute": Dispute,
    "cycle_end": Email,
}


def close_task(session: Session, actor: Actor, task_id: int, at: datetime) -> EngagementTask | None:
    """Close an open task (a closed one stays as it is); None when the tenant has no such
    task. Audited as ``task.done``."""
    task = session.scalar(
        select(EngagementTask).where(
            EngagementTask.tenant_id == actor.tenant_id, EngagementTask.id == task_id
        )
    )
    if task is None:
        return None
    if task.status != TaskStatus.DONE:
        task.status = TaskStatus.DONE
        session.flush()
        audit_record(
            session,
            actor,
            "task.done",
            "engagement_task",
            task.id,
            before={"status": "open"},
            after={"status": "done"},
            at=at,
        )
        session.refresh(task)
    return task


@dataclass(frozen=True, slots=True)
class Target:
    """The item acted on: its customer and whose worklist it is in now."""

    kind: str
    object_id: int
    customer_id: int
    holder: int | None
    mark: WorklistMark | None


def _target(session: Session, tenant_id: int, kind: str, object_id: int) -> Target:
    model = MODELS.get(kind)
    if model is None:
        raise ValidationError(
            f"{kind!r} is not a kind of worklist item",
            where="kind",
            fix=f"use one of {', '.join(KINDS)}",
        )
    owner: Any = Customer.finance_owner_id
    if model is EngagementTask:
        owner = func.coalesce(EngagementTask.user_id, Customer.finance_owner_id)
    found = session.execute(
        select(model.customer_id, owner)
        .join(
            Customer, (Customer.tenant_id == model.tenant_id) & (Customer.id == model.customer_id)
        )
        .where(model.tenant_id == tenant_id, model.id == object_id)
    ).one_or_none()
    if found is None:
        raise NotFoundError(
            f"no {kind.replace('_', ' ')} {object_id} in your organisation",
            where="item",
            fix="reload the worklist: the item may have gone",
        )
    mark = session.scalar(
        select(WorklistMark).where(
            WorklistMark.tenant_id == tenant_id,
            WorklistMark.kind == kind,
            WorklistMark.object_id == object_id,
        )
    )
    holder = mark.assigned_user_id if mark and mark.assigned_user_id else found[1]
    return Target(kind, object_id, found[0], holder, mark)


def _check(target: Target, actor: Actor, for_others: bool) -> None:
    if not for_others and target.holder != actor.user_id:
        raise PermissionDeniedError(
            "this item is not in your worklist",
            fix="ask a supervisor to hand it to you, or to act on it",
        )


def _state(mark: WorklistMark | None) -> dict[str, Any]:
    if mark is None:
        return {}
    return {
        "done_at": mark.done_at.isoformat() if mark.done_at else None,
        "snoozed_until": mark.snoozed_until.isoformat() if mark.snoozed_until else None,
        "assigned_user_id": mark.assigned_user_id,
    }


def _write(
    session: Session, actor: Actor, target: Target, action: str, at: datetime, **values: Any
) -> WorklistMark:
    mark = target.mark
    before = _state(mark)
    if mark is None:
        mark = WorklistMark(
            tenant_id=actor.tenant_id,
            kind=target.kind,
            object_id=target.object_id,
            customer_id=target.customer_id,
            updated_by=actor.label,
        )
        session.add(mark)
    for name, value in values.items():
        setattr(mark, name, value)
    mark.updated_by = actor.label
    session.flush()
    audit_record(
        session,
        actor,
        f"worklist.{action}",
        "worklist_mark",
        mark.id,
        before={"kind": target.kind, "object_id": target.object_id, **before},
        after={"kind": target.kind, "object_id": target.object_id, **_state(mark)},
        at=at,
    )
    return mark


def done(
    session: Session, actor: Actor, kind: str, object_id: int, at: datetime, *, for_others: bool
) -> WorklistMark:
    """Take the item off the worklist for good (a task item also closes the task)."""
    target = _target(session, actor.tenant_id, kind, object_id)
    _check(target, actor, for_others)
    if kind == "task":
        close_task(session, actor, object_id, at)
    return _write(session, actor, target, "done", at, done_at=at, snoozed_until=None)


def snooze(
    session: Session,
    actor: Actor,
    kind: str,
    object_id: int,
    until: date | None,
    today: date,
    at: datetime,
    *,
    for_others: bool,
) -> WorklistMark:
    """Hide the item until ``until`` (a day after ``today``, at most 90 days ahead)."""
    target = _target(session, actor.tenant_id, kind, object_id)
    _check(target, actor, for_others)
    latest = today + timedelta(days=MAX_SNOOZE_DAYS)
    if until is None or not today < until <= latest:
        raise ValidationError(
            "snooze until a day after today",
            where="until",
            fix=f"pick a day from {today + timedelta(days=1)} to {latest}",
        )
    return _write(session, actor, target, "snoozed", at, snoozed_until=until)


def reassign(
    session: Session,
    actor: Actor,
    kind: str,
    object_id: int,
    to_user_id: int | None,
    allowed: set[int],
    at: datetime,
    *,
    for_others: bool,
) -> WorklistMark:
    """Hand the item to ``to_user_id``, one of the ``allowed`` users (the caller's team,
    worklist.team): it leaves this worklist and shows in theirs."""
    target = _target(session, actor.tenant_id, kind, object_id)
    _check(target, actor, for_others)
    user = None
    if to_user_id is not None and to_user_id in allowed:
        user = session.scalar(
            select(User).where(
                User.tenant_id == actor.tenant_id, User.id == to_user_id, User.active
            )
        )
    if user is None:
        raise ValidationError(
            "choose a colleague of your team to hand this item to",
            where="user",
            fix="pick a name from the list",
        )
    return _write(session, actor, target, "reassigned", at, assigned_user_id=user.id)
