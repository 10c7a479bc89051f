"""Per-document figures: days past due, converted balance, P2P, disputes, attempts; and
what makes a document disputed, and which documents have days past due.

*Days past due* (as-of date - due date) belong to open debit documents only: a settled
document (balance zero), a voided one and a credit note have none (empty, so that
``days_past_due > 90`` never selects them). :func:`owes_clause` in SQL and
:func:`days_past_due` in Python are that one definition, read by the rule field
``days_past_due`` (both compilers) and by these figures.

A document is *disputed* when the billing system flagged it (``documents.disputed``, kept
as reported) or it has an open dispute (a ``disputes`` row for it with status open). That
one definition, :func:`disputed_clause` in SQL and :func:`disputed_ids` for records already
read, is what the rule field ``disputed`` (both compilers), the API's document read and
filter, the engagement stop condition and these figures use; resolving or rejecting the
dispute lifts it (unless the billing system's flag is set).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, func, or_, select
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.models import (
    Dispute,
    DisputeStatus,
    Document,
    DocumentType,
    PaymentAttempt,
    PromiseStatus,
    PromiseToPay,
    Tenant,
    balance_due_clause,
    open_items_clause,
)


def owes_clause() -> ColumnElement[bool]:
    """The document (of the enclosing query's ``documents``) is an open debit: an invoice
    or debit note with a balance, not voided. Only such a document has days past due.
    Written with :func:`~arpolicy.models.balance_due_clause` so that a selection on days
    past due can use ``ix_documents_balance_due``."""
    return and_(
        balance_due_clause(),
        Document.voided == false(),
        Document.doc_type != DocumentType.CREDIT_NOTE,
    )


def days_past_due(
    doc_type: str, balance_minor: int, voided: bool, due_date: date, as_of: date
) -> int | None:
    """As-of date - due date for an open debit document (see :func:`owes_clause`); None
    for a settled, voided or credit document."""
    if balance_minor == 0 or voided or doc_type == DocumentType.CREDIT_NOTE:
        return None
    return (as_of - due_date).days


def open_dispute_clause(tenant_id: Any) -> ColumnElement[bool]:
    """The document (of the enclosing query's ``documents``) has an open dispute.

    Written as ``id IN (the tenant's open disputed document ids)``, not as a correlated
    EXISTS: the list is read once per statement (SQLite keeps it in an ephemeral index,
    PostgreSQL in a hashed subplan) and each document costs one probe of it, whatever the
    planner's statistics say. SQLite planned the correlated form as a scan of the disputes
    table per document once ANALYZE had seen few disputes."""
    d = Dispute
    open_ids = select(d.document_id).where(
        d.tenant_id == tenant_id, d.status == DisputeStatus.OPEN, d.document_id.is_not(None)
    )
    return Document.id.in_(open_ids)


def disputed_clause(tenant_id: Any) -> ColumnElement[bool]:
    """The document is disputed: flagged by the billing system or with an open dispute."""
    return or_(Document.disputed, open_dispute_clause(tenant_id))


def disputed_ids(session: Session, tenant_id: int, ids: Iterable[int]) -> set[int]:
    """Which of the documents ``ids`` are disputed (see :func:`disputed_clause`)."""
    wanted = sorted(set(ids))
    found: set[int] = set()
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        found.update(session.scalars(_DISPUTED, {"tenant": tenant_id, "ids": chunk}))
    return found


_DISPUTED = select(Document.id).where(
    Document.tenant_id == bindparam("tenant"),
    Document.id.in_(bindparam("ids", expanding=True)),
    disputed_clause(bindparam("tenant")),
)
"""Built once: every read of a document asks (building it cost more than running it)."""


@dataclass(slots=True)
class DocumentFigures:
    id: int
    doc_type: str
    number: str
    document_date: date
    due_date: date
    amount: Money
    balance: Money
    base_balance: Money
    disputed: bool
    """Flagged by the billing system or with an open dispute (see :func:`disputed_clause`)."""
    days_past_due: int | None
    """as-of date minus due date: 0 on the due date, negative before it; None for a credit
    note (see :func:`days_past_due`)."""
    p2p_date: date | None
    open_p2p: Money
    open_issue: Money
    payment_attempts: int

    @property
    def has_p2p_date(self) -> bool:
        return self.p2p_date is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.doc_type,
            "number": self.number,
            "document_date": self.document_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "amount": self.amount.to_json(),
            "balance": self.balance.to_json(),
            "base_balance": self.base_balance.to_json(),
            "disputed": self.disputed,
            "days_past_due": self.days_past_due,
            "p2p_date": self.p2p_date.isoformat() if self.p2p_date else None,
            "open_p2p": self.open_p2p.to_json(),
            "open_issue": self.open_issue.to_json(),
            "payment_attempts": self.payment_attempts,
        }


def open_documents(
    session: Session, tenant: Tenant, customer_id: int, as_of: date
) -> list[DocumentFigures]:
    """The customer's open documents, oldest due date first, with their figures."""
    p2p = (
        select(
            PromiseToPay.document_id.label("did"),
            func.min(PromiseToPay.promised_on).label("on"),
            func.sum(PromiseToPay.amount_minor).label("amt"),
        )
        .where(
            PromiseToPay.tenant_id == tenant.id,
            PromiseToPay.customer_id == customer_id,
            PromiseToPay.status == PromiseStatus.OPEN,
            PromiseToPay.promised_on >= as_of,
        )
        .group_by(PromiseToPay.document_id)
        .subquery()
    )
    issues = (
        select(
            Dispute.document_id.label("did"),
            func.sum(Dispute.amount_minor).label("amt"),
            func.count().label("n"),
        )
        .where(
            Dispute.tenant_id == tenant.id,
            Dispute.customer_id == customer_id,
            Dispute.status == DisputeStatus.OPEN,
        )
        .group_by(Dispute.document_id)
        .subquery()
    )
    attempts = (
        select(PaymentAttempt.document_id.label("did"), func.count().label("n"))
        .where(PaymentAttempt.tenant_id == tenant.id, PaymentAttempt.customer_id == customer_id)
        .group_by(PaymentAttempt.document_id)
        .subquery()
    )
    stmt = (
        select(
            Document,
            p2p.c.on,
            func.coalesce(p2p.c.amt, 0),
            func.coalesce(issues.c.amt, 0),
            func.coalesce(issues.c.n, 0),
            func.coalesce(attempts.c.n, 0),
        )
        .outerjoin(p2p, p2p.c.did == Document.id)
        .outerjoin(issues, issues.c.did == Document.id)
        .outerjoin(attempts, attempts.c.did == Document.id)
        .where(
            Document.tenant_id == tenant.id,
            Document.customer_id == customer_id,
            open_items_clause(),
        )
        .order_by(Document.due_date, Document.number)
    )
    result = []
    for doc, p2p_on, p2p_amt, issue_amt, issues_open, n in session.execute(stmt):
        ccy = doc.currency
        result.append(
            DocumentFigures(
                id=doc.id,
                doc_type=doc.doc_type.value,
                number=doc.number,
                document_date=doc.document_date,
                due_date=doc.due_date,
                amount=Money.from_minor(doc.amount_minor, ccy),
                balance=Money.from_minor(doc.balance_minor, ccy),
                base_balance=Money.from_minor(doc.base_balance_minor, tenant.base_currency),
                disputed=doc.disputed or int(issues_open) > 0,
                days_past_due=days_past_due(
                    doc.doc_type, doc.balance_minor, doc.voided, doc.due_date, as_of
                ),
                p2p_date=p2p_on,
                open_p2p=Money.from_minor(int(p2p_amt), ccy),
                open_issue=Money.from_minor(int(issue_amt), ccy),
                payment_attempts=int(n),
            )
        )
    return result
