"""What the webhook events of a ledger write carry: the record as the REST API shows it
(``GET /v1/customers/{id}`` without the figures, ``GET /v1/documents/{id}``...), in JSON.

Written here, in the ledger, so that a write announces itself alike on every path (API,
CLI, job, policy); tests/ledger/test_write_shapes.py holds each shape equal to the API's
read of the same record.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.orm import object_session

from arpolicy.kit.money import Money
from arpolicy.ledger.documents import disputed_ids


def money(minor: int | None, currency: str | None) -> dict[str, str] | None:
    """Stored minor units as ``{"amount": "812.40", "currency": "USD"}`` (None: none)."""
    if minor is None or currency is None:
        return None
    return Money.from_minor(int(minor), currency).to_json()


def _json(obj: Any, names: tuple[str, ...], **more: Any) -> dict[str, Any]:
    data = {name: getattr(obj, name) for name in names}
    data.update(more)
    return dict(to_jsonable_python(data))


CUSTOMER = (
    "id",
    "external_id",
    "name",
    "country",
    "language",
    "currency",
    "locale",
    "region",
    "timezone",
    "segment",
    "customer_group",
    "parent_id",
    "finance_owner_id",
    "sales_owner_id",
    "net_term_days",
    "auto_collection",
    "credit_check_exempt",
    "billing_address",
)
STAMPS = ("created_at", "updated_at")


def customer(c: Any, base: str = "") -> dict[str, Any]:
    data = _json(
        c,
        CUSTOMER,
        reported_balance=money(c.reported_balance_minor, c.currency),
        custom_fields=c.custom_fields or {},
        last_email_at=c.last_email_at,
        last_reply_at=c.last_reply_at,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )
    data["figures"] = None
    return data


DOCUMENT = ("id", "number", "customer_id", "currency")


def document(d: Any, base: str) -> dict[str, Any]:
    session = object_session(d)
    assert session is not None, "a document of a session"
    return _json(
        d,
        DOCUMENT,
        type=d.doc_type,
        amount=money(d.amount_minor, d.currency),
        balance=money(d.balance_minor, d.currency),
        reported_balance=money(d.reported_balance_minor, d.currency),
        base_amount=money(d.base_amount_minor, base),
        base_balance=money(d.base_balance_minor, base),
        fx_rate=str(d.fx_rate),
        fx_rate_on=d.fx_rate_on,
        document_date=d.document_date,
        due_date=d.due_date,
        posting_date=d.posting_date,
        transaction_type=d.transaction_type,
        location=d.location,
        business_unit=d.business_unit,
        disputed=d.id in disputed_ids(session, d.tenant_id, [d.id]),
        reported_disputed=d.disputed,
        voided=d.voided,
        subscription_id=d.subscription_id,
        custom_fields=d.custom_fields or {},
        last_email_at=d.last_email_at,
        last_reply_at=d.last_reply_at,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


def payment(p: Any, base: str) -> dict[str, Any]:
    return _json(
        p,
        ("id", "external_id", "customer_id", "currency"),
        amount=money(p.amount_minor, p.currency),
        unallocated=money(p.unallocated_minor, p.currency),
        base_amount=money(p.base_amount_minor, base),
        base_unallocated=money(p.base_unallocated_minor, base),
        fx_rate=str(p.fx_rate),
        fx_rate_on=p.fx_rate_on,
        received_on=p.received_on,
        method=p.method,
        reference=p.reference,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def promise(p: Any, base: str) -> dict[str, Any]:
    return _json(
        p,
        ("id", "external_id", "customer_id", "document_id"),
        amount=money(p.amount_minor, p.currency),
        base_amount=money(p.base_amount_minor, base),
        promised_on=p.promised_on,
        status=p.status,
        note=p.note,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def dispute(d: Any, base: str) -> dict[str, Any]:
    return _json(
        d,
        ("id", "external_id", "customer_id", "document_id"),
        amount=money(d.amount_minor, d.currency),
        base_amount=money(d.base_amount_minor, base),
        reason=d.reason,
        status=d.status,
        opened_on=d.opened_on,
        resolved_on=d.resolved_on,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )
