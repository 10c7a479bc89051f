"""AR documents: invoices, debit notes and credit notes.

A document's key is its ``type`` and ``number``. Amounts are in the document's currency;
``base_amount``, ``base_balance``, ``fx_rate`` and ``fx_rate_on`` are derived by the
server (the tenant's base currency at the rate on or before ``document_date``) and cannot
be set. A body's ``balance`` is what the billing system reports as still open; it reads back
as ``reported_balance``. The read ``balance`` is the ledger's: the amount minus the payments
allocated to it (while none are, the reported balance, or the amount); docs/figures.md.

``disputed`` (read, and the list filter) is true when the billing system flagged the document
or it has an open dispute (POST /v1/disputes, ``arpolicy import disputes``); the flag itself,
which a body's ``disputed`` sets, reads as ``reported_disputed``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from arpolicy.api import ledger
from arpolicy.api.context import Api, require
from arpolicy.api.listing import between, contains, equal, page_of, rows, sort_by
from arpolicy.api.schemas import Input, MoneyValue, NonNegativeMoney, NotNull, Output, Page
from arpolicy.api.types import (
    Cursor,
    CustomFields,
    Day,
    Limit,
    PathId,
    QueryCurrency,
    QueryDay,
    QueryId,
    QueryText,
    RefId,
    Text64,
    Text100,
    money,
    need_money,
)
from arpolicy.ledger.documents import disputed_clause, disputed_ids
from arpolicy.ledger.writing.resources import DOCUMENTS
from arpolicy.models import Document, DocumentType, open_items_clause

router = APIRouter(prefix="/documents", tags=["documents"])


class DocumentFields(Input):
    customer_id: Annotated[RefId | None, NotNull] = None
    amount: Annotated[NonNegativeMoney | None, NotNull] = Field(
        None, description="Total; positive (credit notes too)."
    )
    balance: NonNegativeMoney | None = Field(
        None,
        description="Still open as the billing system reports it, 0 to amount; read back as "
        "reported_balance (the ledger's balance follows from the allocations).",
    )
    document_date: Annotated[Day | None, NotNull] = Field(
        None, description="Issue date; dates the FX rate."
    )
    due_date: Annotated[Day | None, NotNull] = Field(
        None, description="Not before the document date."
    )
    posting_date: Day | None = None
    transaction_type: Text64 | None = None
    location: Text100 | None = None
    business_unit: Text100 | None = None
    disputed: bool | None = Field(
        None,
        description="The billing system's dispute flag (default false); see reported_disputed.",
    )
    voided: bool | None = None
    subscription_id: RefId | None = None
    custom_fields: CustomFields | None = None


class DocumentCreate(DocumentFields):
    type: DocumentType
    number: Text100
    customer_id: RefId
    amount: NonNegativeMoney
    document_date: Day
    due_date: Day


class DocumentUpdate(DocumentFields):
    """Fields to change. ``type`` and ``number`` (the key) cannot change."""

    type: Annotated[DocumentType | None, NotNull] = None
    number: Annotated[Text100 | None, NotNull] = None


class DocumentRead(Output):
    id: int
    type: DocumentType
    number: str
    customer_id: int
    currency: str
    amount: MoneyValue
    balance: MoneyValue = Field(
        description="The ledger's balance: the amount minus the payments allocated to it "
        "(while none are: the balance the billing system reported, or the amount)."
    )
    reported_balance: MoneyValue | None = Field(
        description="The balance the billing system reported, as given (null: none given)."
    )
    base_amount: MoneyValue
    base_balance: MoneyValue
    fx_rate: str
    fx_rate_on: date | None
    document_date: date
    due_date: date
    posting_date: date | None
    transaction_type: str | None
    location: str | None
    business_unit: str | None
    disputed: bool = Field(
        description="Disputed: flagged by the billing system or with an open dispute."
    )
    reported_disputed: bool = Field(description="The billing system's dispute flag, as given.")
    voided: bool
    subscription_id: int | None
    custom_fields: dict[str, Any]
    last_email_at: datetime | None
    last_reply_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None


_SAME = (
    "id",
    "number",
    "customer_id",
    "currency",
    "fx_rate_on",
    "document_date",
    "due_date",
    "posting_date",
    "transaction_type",
    "location",
    "business_unit",
    "voided",
    "subscription_id",
    "last_email_at",
    "last_reply_at",
    "created_at",
    "updated_at",
)


def read(d: Document, base: str, disputed: bool | None = None) -> DocumentRead:
    """The document as the API shows it; ``disputed`` when known (else looked up)."""
    if disputed is None:
        session = object_session(d)
        assert session is not None, "read a document of a session"
        disputed = d.id in disputed_ids(session, d.tenant_id, [d.id])
    return DocumentRead.model_construct(
        **{name: getattr(d, name) for name in _SAME},
        disputed=disputed,
        reported_disputed=d.disputed,
        type=d.doc_type,
        amount=need_money(d.amount_minor, d.currency),
        balance=need_money(d.balance_minor, d.currency),
        reported_balance=money(d.reported_balance_minor, d.currency),
        base_amount=need_money(d.base_amount_minor, base),
        base_balance=need_money(d.base_balance_minor, base),
        fx_rate=str(d.fx_rate),
        custom_fields=d.custom_fields or {},
    )


SORTABLE = {
    "id": Document.id,
    "number": Document.number,
    "document_date": Document.document_date,
    "due_date": Document.due_date,
    "base_amount": Document.base_amount_minor,
    "base_balance": Document.base_balance_minor,
}


@router.get("", response_model=Page[DocumentRead])
def list_documents(
    api: Api = Depends(require("ledger:read")),
    customer_id: QueryId = None,
    type: DocumentType | None = None,
    number: QueryText = None,
    q: QueryText = None,
    currency: QueryCurrency = None,
    open: bool | None = Query(None, description="Only open (true) or settled (false) items."),
    disputed: bool | None = Query(
        None, description="Only disputed (true: flagged or with an open dispute) or not (false)."
    ),
    voided: bool | None = None,
    subscription_id: QueryId = None,
    document_date_from: QueryDay = None,
    document_date_to: QueryDay = None,
    due_date_from: QueryDay = None,
    due_date_to: QueryDay = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: str | None = sort_by(SORTABLE),
) -> Any:
    """Documents, filtered (``q``: part of the number; date ranges inclusive); sort by id,
    number, document_date, due_date, base_amount or base_balance."""
    d = Document
    stmt = equal(
        select(d).where(d.tenant_id == api.tenant_id),
        {
            d.customer_id: customer_id,
            d.doc_type: type,
            d.number: number,
            d.currency: currency,
            d.voided: voided,
            d.subscription_id: subscription_id,
        },
    )
    if disputed is not None:
        flag = disputed_clause(api.tenant_id)
        stmt = stmt.where(flag if disputed else ~flag)
    if q:
        stmt = stmt.where(contains(d.number, text=q))
    if open is not None:
        stmt = stmt.where(open_items_clause() if open else ~open_items_clause())
    stmt = between(stmt, d.document_date, document_date_from, document_date_to)
    stmt = between(stmt, d.due_date, due_date_from, due_date_to)
    with api.read() as session:
        base = ledger.tenant_of(session, api).base_currency
        found, nxt = rows(
            session, stmt, d, sort=sort, cursor=cursor, limit=limit, sortable=SORTABLE
        )
        flagged = disputed_ids(session, api.tenant_id, [r.id for r in found])
        return page_of(DocumentRead, [read(r, base, r.id in flagged) for r in found], nxt)


@router.get("/{document_id}", response_model=DocumentRead)
def read_document(document_id: PathId, api: Api = Depends(require("ledger:read"))) -> Any:
    with api.read() as session:
        found = ledger.get_or_404(session, api, DOCUMENTS, document_id)
        return read(found, ledger.tenant_of(session, api).base_currency)


@router.post("", status_code=201, response_model=DocumentRead)
def create_document(body: DocumentCreate, api: Api = Depends(require("ledger:write"))) -> Any:
    """Create a document (409 if its type and number exist); validated and converted like
    ``arpolicy import documents``."""

    def work(session: Session) -> Any:
        found = ledger.create(session, api, DOCUMENTS, body)
        return read(found, ledger.tenant_of(session, api).base_currency)

    return api.created(work)


@router.patch("/{document_id}", response_model=DocumentRead)
def update_document(
    document_id: PathId, body: DocumentUpdate, api: Api = Depends(require("ledger:write"))
) -> Any:
    """Change the given fields (a new amount, balance or date converts again)."""
    with api.write() as session:
        found = ledger.update(session, api, DOCUMENTS, document_id, body)
        return read(found, ledger.tenant_of(session, api).base_currency)
