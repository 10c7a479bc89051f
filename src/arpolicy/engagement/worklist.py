"""A collector's worklist: what needs a person today, for one user (docs/web/worklist.md).

The items are derived, never stored: replies waiting for an answer (received after the
customer's last email), promises to pay due today or not kept, open tasks that are due,
open disputes, and customers whose cycle sent its last reminder and who still owe. Each
belongs to the customer's finance owner (a task to its own user), unless a mark
(models.worklist) handed it to someone else; a mark also hides an item done or snoozed.

Ordered by what the customer owes overdue (base currency), then by how late its oldest
overdue item is. One statement per kind (at most :data:`CAP` items each) and one for what
the customers owe; no query per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from arpolicy.engagement.repository import stored_cycles
from arpolicy.kit.money import Money
from arpolicy.models import (
    Customer,
    Dispute,
    DisputeStatus,
    Document,
    DocumentType,
    Email,
    EmailMode,
    EmailStatus,
    EngagementTask,
    InboundEmail,
    InboundKind,
    PromiseStatus,
    PromiseToPay,
    TaskStatus,
    Tenant,
    User,
    WorklistMark,
    open_items_clause,
)

KINDS = ("reply", "promise", "task", "dispute", "cycle_end")
CAP = 500
"""Items of one kind at most (the most recent first); a worklist longer than that is a
staffing question, not a page to scroll."""
BROKEN_DAYS = 30
"""A broken promise stays on the worklist this many days after its date."""


@dataclass(slots=True)
class Item:
    kind: str
    object_id: int
    customer_id: int
    customer: str
    external_id: str
    since: date
    """When it fell due: the reply's day, the promise's date, the task's due day..."""
    amount: Money | None = None
    note: str | None = None
    state: str | None = None
    handed_over: bool = False
    """In this worklist by a mark, not as the customer's finance owner."""
    owed: Money | None = None
    """The customer's overdue debit balance in the base currency."""
    oldest_due: date | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.object_id}"

    def days_late(self, today: date) -> int:
        return (today - self.oldest_due).days if self.oldest_due else 0


@dataclass(slots=True)
class Worklist:
    user_id: int
    today: date
    items: list[Item]
    """Every item, in order (at most CAP of each kind)."""
    counts: dict[str, int]


def _mark_join(stmt: Select[Any], kind: str, id_col: Any, tenant_id: int) -> Select[Any]:
    m = WorklistMark
    return stmt.outerjoin(m, and_(m.tenant_id == tenant_id, m.kind == kind, m.object_id == id_col))


@dataclass(frozen=True, slots=True)
class Who:
    """Whose worklist: the user, and whether items nobody owns go to them too (the
    admins', like the tasks of customers without a finance owner)."""

    user_id: int
    unowned: bool = False


def _for_user(owner: Any, who: Who, today: date) -> list[Any]:
    """The item is this user's (by owner or by a mark) and neither done nor snoozed."""
    m = WorklistMark
    mine = [
        and_(m.assigned_user_id.is_(None), owner == who.user_id),
        m.assigned_user_id == who.user_id,
    ]
    if who.unowned:
        mine.append(and_(m.assigned_user_id.is_(None), owner.is_(None)))
    return [
        or_(*mine),
        m.done_at.is_(None),
        or_(m.snoozed_until.is_(None), m.snoozed_until <= today),
    ]


def _customer_join(
    stmt: Select[Any], model: Any, tenant_id: int, only: int | None = None
) -> Select[Any]:
    stmt = stmt.join(
        Customer, and_(Customer.tenant_id == model.tenant_id, Customer.id == model.customer_id)
    ).where(model.tenant_id == tenant_id)
    return stmt if only is None else stmt.where(model.id == only)


def _head(model: Any) -> list[Any]:
    return [
        model.id,
        model.customer_id,
        Customer.name,
        Customer.external_id,
        WorklistMark.assigned_user_id.is_not(None),
    ]


def _replies(
    session: Session, tenant: Tenant, who: Who, today: date, only: int | None = None
) -> list[Item]:
    i = InboundEmail
    stmt: Select[Any] = select(*_head(i), i.received_at, i.from_address, i.subject)
    stmt = _mark_join(_customer_join(stmt, i, tenant.id, only), "reply", i.id, tenant.id)
    stmt = stmt.where(
        i.kind == InboundKind.REPLY,
        or_(Customer.last_email_at.is_(None), i.received_at > Customer.last_email_at),
        *_for_user(Customer.finance_owner_id, who, today),
    )
    rows = session.execute(stmt.order_by(i.received_at.desc()).limit(CAP))
    return [
        Item("reply", r[0], r[1], r[2], r[3], r[5].date(), None, r[7] or "(no subject)", r[6], r[4])
        for r in rows
    ]


def _promises(
    session: Session, tenant: Tenant, who: Who, today: date, only: int | None = None
) -> list[Item]:
    p = PromiseToPay
    stmt: Select[Any] = select(
        *_head(p), p.promised_on, p.amount_minor, p.currency, p.status, p.note
    )
    stmt = _mark_join(_customer_join(stmt, p, tenant.id, only), "promise", p.id, tenant.id)
    stmt = stmt.where(
        or_(
            and_(p.status == PromiseStatus.OPEN, p.promised_on <= today),
            and_(
                p.status == PromiseStatus.BROKEN,
                p.promised_on <= today,
                p.promised_on >= today - timedelta(days=BROKEN_DAYS),
            ),
        ),
        *_for_user(Customer.finance_owner_id, who, today),
    )
    items = []
    for r in session.execute(stmt.order_by(p.promised_on.desc()).limit(CAP)):
        state = "broken" if r[8] == PromiseStatus.BROKEN else "due" if r[5] == today else "late"
        money = Money.from_minor(r[6], r[7])
        items.append(Item("promise", r[0], r[1], r[2], r[3], r[5], money, r[9], state, r[4]))
    return items


def _tasks(
    session: Session, tenant: Tenant, who: Who, today: date, only: int | None = None
) -> list[Item]:
    t = EngagementTask
    stmt: Select[Any] = select(
        *_head(t), func.coalesce(t.due_on, func.date(t.created_at)), t.detail, t.kind
    )
    stmt = _mark_join(_customer_join(stmt, t, tenant.id, only), "task", t.id, tenant.id)
    owner = func.coalesce(t.user_id, Customer.finance_owner_id)
    stmt = stmt.where(
        t.status == TaskStatus.OPEN,
        or_(t.due_on.is_(None), t.due_on <= today),
        *_for_user(owner, who, today),
    )
    items = []
    for r in session.execute(stmt.order_by(t.id.desc()).limit(CAP)):
        since: date = r[5] if isinstance(r[5], date) else date.fromisoformat(str(r[5])[:10])
        items.append(Item("task", r[0], r[1], r[2], r[3], since, None, r[6], r[7], r[4]))
    return items


def _disputes(
    session: Session, tenant: Tenant, who: Who, today: date, only: int | None = None
) -> list[Item]:
    d = Dispute
    stmt: Select[Any] = select(*_head(d), d.opened_on, d.amount_minor, d.currency, d.reason)
    stmt = _mark_join(_customer_join(stmt, d, tenant.id, only), "dispute", d.id, tenant.id)
    stmt = stmt.where(
        d.status == DisputeStatus.OPEN, *_for_user(Customer.finance_owner_id, who, today)
    )
    rows = session.execute(stmt.order_by(d.opened_on.desc()).limit(CAP))
    return [
        Item(
            "dispute",
            r[0],
            r[1],
            r[2],
            r[3],
            r[5],
            Money.from_minor(r[6], r[7]),
            r[8],
            "open",
            r[4],
        )
        for r in rows
    ]


def last_steps(session: Session, tenant: Tenant) -> list[tuple[int, str, int]]:
    """Per cycle that ends (its last reminder does not repeat for ever): the cycle's id,
    the last reminder's name and the occurrence that ends it."""
    found = []
    for stored in stored_cycles(session, tenant):
        last = stored.cycle.reminders[-1]
        if last.times is not None:
            found.append((stored.row.id, last.name, last.times))
    return found


def _cycle_ends(
    session: Session, tenant: Tenant, who: Who, today: date, only: int | None = None
) -> list[Item]:
    ends = last_steps(session, tenant)
    if not ends:
        return []
    e = Email
    stmt: Select[Any] = select(*_head(e), e.sent_at, e.cycle, e.reminder)
    stmt = _mark_join(_customer_join(stmt, e, tenant.id, only), "cycle_end", e.id, tenant.id)
    stmt = stmt.where(
        e.mode == EmailMode.LIVE,
        e.status == EmailStatus.SENT,
        or_(*(and_(e.cycle_id == c, e.reminder == n, e.occurrence >= k) for c, n, k in ends)),
        e.sent_at >= Customer.last_email_at,  # no email since: the cycle has not resumed
        *_for_user(Customer.finance_owner_id, who, today),
    )
    rows = session.execute(stmt.order_by(e.sent_at.desc()).limit(CAP))
    return [
        Item("cycle_end", r[0], r[1], r[2], r[3], r[5].date(), None, r[6], r[7], r[4]) for r in rows
    ]


def owed(
    session: Session, tenant: Tenant, today: date, customer_ids: Sequence[int]
) -> dict[int, tuple[int, date]]:
    """Overdue debit balance (base minor units) and oldest overdue due date, by customer:
    the figures' ``overdue`` (figures_sql: debits due before today), one statement."""
    if not customer_ids:
        return {}
    stmt = (
        select(
            Document.customer_id, func.sum(Document.base_balance_minor), func.min(Document.due_date)
        )
        .where(
            Document.tenant_id == tenant.id,
            open_items_clause(),
            Document.doc_type != DocumentType.CREDIT_NOTE,
            Document.due_date < today,
            Document.customer_id.in_(sorted(set(customer_ids))),
        )
        .group_by(Document.customer_id)
    )
    return {r[0]: (int(r[1] or 0), r[2]) for r in session.execute(stmt)}


QUERIES = {
    "reply": _replies,
    "promise": _promises,
    "task": _tasks,
    "dispute": _disputes,
    "cycle_end": _cycle_ends,
}


def _fill(session: Session, tenant: Tenant, today: date, items: list[Item]) -> list[Item]:
    """Set what each item's customer owes; drop the ended cycles of customers who paid."""
    debts = owed(session, tenant, today, [i.customer_id for i in items])
    kept = []
    for item in items:
        minor, oldest = debts.get(item.customer_id, (0, None))
        item.owed, item.oldest_due = Money.from_minor(minor, tenant.base_currency), oldest
        if item.kind == "cycle_end" and minor <= 0:
            continue  # the cycle ended and the customer paid: nothing to do
        kept.append(item)
    return kept


def worklist(
    session: Session, tenant: Tenant, user_id: int, today: date, *, unowned: bool = False
) -> Worklist:
    """Every item of ``user_id``'s worklist on ``today`` (the tenant's day), in order;
    with ``unowned``, also the items of nobody (no owner, not handed to anyone)."""
    who = Who(user_id, unowned)
    items: list[Item] = []
    for query in QUERIES.values():
        items += query(session, tenant, who, today)
    kept = _fill(session, tenant, today, items)
    kept.sort(
        key=lambda i: (
            -(i.owed.minor_units() if i.owed else 0),
            -i.days_late(today),
            i.since,
            i.key,
        )
    )
    counts = {k: sum(1 for i in kept if i.kind == k) for k in KINDS}
    return Worklist(user_id, today, kept, counts)


def item(
    session: Session,
    tenant: Tenant,
    user_id: int,
    today: date,
    kind: str,
    object_id: int,
    *,
    unowned: bool = False,
) -> Item | None:
    """One item of ``user_id``'s worklist, if it is there (to show it again)."""
    query = QUERIES.get(kind)
    if query is None:
        return None
    found = _fill(
        session, tenant, today, query(session, tenant, Who(user_id, unowned), today, object_id)
    )
    return found[0] if found else None


def team(
    session: Session, tenant_id: int, user_id: int, *, everyone: bool = False
) -> list[tuple[int, str, str]]:
    """Active users (id, name, role) by name: ``user_id``, the users of its team, those it
    manages and its manager; every active user of the tenant with ``everyone``. Whose
    worklist one may open, and to whom an item may be handed."""
    stmt = select(User.id, User.name, User.role).where(User.tenant_id == tenant_id, User.active)
    if not everyone:
        me = session.execute(
            select(User.team, User.manager_id).where(
                User.tenant_id == tenant_id, User.id == user_id
            )
        ).one_or_none()
        my_team, my_manager = me if me is not None else (None, None)
        near = [User.id == user_id, User.manager_id == user_id]
        if my_team:
            near.append(User.team == my_team)
        if my_manager:
            near.append(User.id == my_manager)
        stmt = stmt.where(or_(*near))
    rows = session.execute(stmt.order_by(User.name, User.id))
    return [(r[0], r[1], r[2].value) for r in rows]
