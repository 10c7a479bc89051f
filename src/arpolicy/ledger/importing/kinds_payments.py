"""Import kinds for money received and tried: payments, their allocations to documents,
payment attempts and payment sources."""

from __future__ import annotations

from typing import Any

from arpolicy.kit.money import Money
from arpolicy.ledger.allocations import AllocatedChange, check_applied
from arpolicy.ledger.balances import refresh_balances
from arpolicy.ledger.importing import parsers as p
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.kinds_documents import check_held_row
from arpolicy.ledger.importing.report import FieldError
from arpolicy.ledger.importing.specs import (
    Column,
    Kind,
    Row,
    Values,
    choice,
    currency,
    customer_ref,
    day,
    document_ref,
    external_id,
    money,
    ref,
    text,
)
from arpolicy.ledger.payments import refresh_unallocated
from arpolicy.models import (
    METHOD_ALIASES,
    Allocation,
    AttemptStatus,
    DocumentType,
    DunningStatus,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    PaymentSource,
    SourceKind,
    SourceRole,
    SourceStatus,
)


def _payment(ctx: Context, v: Values) -> Row:
    code = v["currency"]
    amount = p.to_minor(v["amount"], code, "amount")
    base, rate, rate_on = ctx.to_base(amount, code, v["received_on"], "currency")
    customer_id = ctx.lookup("customers", v["customer"], "customer")
    held = ctx.refs("payments.held").get(v["external_id"])
    if held is not None:
        check_held_row(f"payment {v['external_id']}", held, v, customer_id, amount, True)
    return {
        "tenant_id": ctx.tenant_id,
        "external_id": v["external_id"],
        "customer_id": customer_id,
        "currency": code,
        "amount_minor": amount,
        "unallocated_minor": amount,
        "base_amount_minor": base,
        "base_unallocated_minor": base,
        "fx_rate": rate,
        "fx_rate_on": rate_on,
        "received_on": v["received_on"],
        "method": v.get("method"),
        "reference": v.get("reference"),
    }


def _refresh_payments(ctx: Context, keys: set[Any]) -> None:
    """Payments that already had allocations get their unallocated part recomputed (the
    rows' checks read what each payment holds: a payment holding none is not looked up)."""
    held, stored, allocated = ctx.refs("payments.held"), ctx.refs("payments"), ctx.refs("allocated")
    ids = [
        stored[k[0]][0]
        for k in keys
        if k[0] in held and k[0] in stored and stored[k[0]][0] in allocated
    ]
    refresh_unallocated(ctx.session, ctx.tenant, ids)


PAYMENTS = Kind(
    name="payments",
    model=Payment,
    description="Money received; converted to the base currency at the rate on or before "
    "received_on. Unallocated = amount minus the payment's allocations.",
    columns=(
        external_id("payment"),
        customer_ref(),
        currency(required=True),
        money("amount", "Amount received.", required=True, writes=("amount_minor",)),
        day("received_on", "Date received; dates the FX rate.", required=True),
        choice("method", PaymentMethod, "How it was paid.", METHOD_ALIASES),
        text("reference", 200, "Bank or gateway reference."),
    ),
    key=("external_id",),
    build=_payment,
    always=(
        "unallocated_minor",
        "base_amount_minor",
        "base_unallocated_minor",
        "fx_rate",
        "fx_rate_on",
    ),
    after=_refresh_payments,
    order=10,
)


def _allocation(ctx: Context, v: Values) -> Row:
    pid, pay_currency, pay_amount, received_on = ctx.lookup("payments", v["payment"], "payment")
    doc_type = v.get("document_type") or DocumentType.INVOICE.value
    did, doc_currency, _, doc_amount = ctx.lookup(
        "documents", (doc_type, v["document_number"]), "document_number"
    )
    code = v["currency"]
    for other, what in ((pay_currency, "payment"), (doc_currency, "document")):
        if code != other:
            raise FieldError(
                f"is {code} but the {what} is in {other}",
                f"allocate in {other}: a payment pays documents of its own currency",
                column="currency",
            )
    amount = p.to_minor(v["amount"], code, "amount")
    if amount <= 0:
        raise FieldError(
            "must be more than zero", "give the part of the payment applied", column="amount"
        )
    applied = _applied_total(ctx, pid, did, amount, Money.from_minor(doc_amount, code), v)
    _check_total(ctx, pid, did, amount, pay_amount, v)
    ctx.refs("documents.applied")[did] = applied
    return {
        "tenant_id": ctx.tenant_id,
        "payment_id": pid,
        "document_id": did,
        "amount_minor": amount,
        "allocated_on": v.get("allocated_on") or received_on,
    }


def _check_total(ctx: Context, pid: int, did: int, amount: int, pay_amount: int, v: Values) -> None:
    """Keep a running total per payment (stored allocations plus the file's) and refuse a row
    that would allocate more than the payment."""
    pairs, totals = ctx.refs("allocations"), ctx.refs("allocated")
    total = totals.get(pid, 0) - pairs.get((pid, did), 0) + amount
    if total > pay_amount:
        code = v["currency"]
        raise FieldError(
            f"would bring the allocations of payment {v['payment']} to "
            f"{p.show_minor(total, code)}, more than its amount {p.show_minor(pay_amount, code)}",
            "allocate no more than the payment's amount in total",
            column="amount",
        )
    pairs[(pid, did)] = amount
    totals[pid] = total


def _applied_total(
    ctx: Context, pid: int, did: int, amount: int, doc_amount: Money, v: Values
) -> int:
    """What the document would have applied with this row (stored allocations plus the
    file's), refused past its amount by the ledger's guard."""
    stored = ctx.refs("documents.applied").get(did, 0)
    total = stored - ctx.refs("allocations").get((pid, did), 0) + amount
    record = f"{v.get('document_type') or 'invoice'} {v['document_number']}".replace("_", " ")
    try:
        check_applied(record, doc_amount, total)
    except AllocatedChange as exc:
        raise FieldError(exc.message, exc.fix or "", column=exc.column) from None
    return int(total)


def _refresh_allocated(ctx: Context, keys: set[Any]) -> None:
    """The payments' unallocated parts and the documents' balances follow the allocations."""
    refresh_unallocated(ctx.session, ctx.tenant, {k[0] for k in keys})
    refresh_balances(ctx.session, ctx.tenant, {k[1] for k in keys})


ALLOCATIONS = Kind(
    name="allocations",
    model=Allocation,
    description="Parts of payments applied to documents; the key is (payment, document).",
    columns=(
        ref(
            "payment",
            "payments",
            "External id of the payment.",
            required=True,
            writes=("payment_id",),
        ),
        choice(
            "document_type", DocumentType, "Type of the document paid (default invoice).", writes=()
        ),
        ref(
            "document_number", "documents", "Number of the document paid.", required=True, writes=()
        ),
        currency(
            "Currency of the payment and the document (they must agree).", required=True, writes=()
        ),
        money("amount", "Part applied; more than zero.", required=True, writes=("amount_minor",)),
        day("allocated_on", "Date applied (default: the payment's received_on)."),
    ),
    key=("payment_id", "document_id"),
    file_key=lambda v: (v["payment"], v.get("document_type") or "invoice", v["document_number"]),
    build=_allocation,
    after=_refresh_allocated,
    order=11,
)


def document_id(ctx: Context, v: Values, customer_id: int) -> int | None:
    """The optional document a row concerns (document_type + document_number)."""
    number = v.get("document_number")
    if number is None:
        return None
    doc_type = v.get("document_type") or DocumentType.INVOICE.value
    did, _, owner, _ = ctx.lookup("documents", (doc_type, number), "document_number")
    if owner != customer_id:
        raise FieldError(
            f"belongs to another customer than {v['customer']}",
            "check the customer and the document number",
            column="document_number",
        )
    return did


def _attempt(ctx: Context, v: Values) -> Row:
    customer_id = ctx.lookup("customers", v["customer"], "customer")
    attempt_number = v.get("attempt_number")
    return {
        "tenant_id": ctx.tenant_id,
        "external_id": v["external_id"],
        "customer_id": customer_id,
        "document_id": document_id(ctx, v, customer_id),
        "attempted_at": v["attempted_at"],
        "status": v["status"],
        "currency": v["currency"],
        "amount_minor": p.to_minor(v["amount"], v["currency"], "amount"),
        "method": v.get("method"),
        "gateway": v.get("gateway"),
        "failure_reason": v.get("failure_reason"),
        "dunning_status": v.get("dunning_status"),
        "attempt_number": 1 if attempt_number is None else attempt_number,
        "next_retry_at": v.get("next_retry_at"),
    }


def instant(name: str, description: str, **kw: Any) -> Column:
    return Column(name, "instant (ISO 8601 with offset)", description, p.instant, **kw)


ATTEMPTS = Kind(
    name="payment-attempts",
    model=PaymentAttempt,
    description="Charges the billing system tried (card declines feed dunning).",
    columns=(
        external_id("attempt"),
        customer_ref(),
        *document_ref(),
        instant(
            "attempted_at", "When it was tried, with offset (2026-01-31T09:30:00Z).", required=True
        ),
        choice("status", AttemptStatus, "Outcome.", required=True),
        currency(required=True),
        money("amount", "Amount tried.", required=True, writes=("amount_minor",)),
        choice("method", PaymentMethod, "Payment method.", METHOD_ALIASES),
        text("gateway", 64, "Gateway."),
        text("failure_reason", 200, "Why it failed."),
        choice("dunning_status", DunningStatus, "Where the billing system's retries stand."),
        Column(
            "attempt_number", "integer", "1 for the first try (default 1).", p.integer(1, 32767)
        ),
        instant("next_retry_at", "Next retry, with offset."),
    ),
    key=("external_id",),
    build=_attempt,
    order=12,
)


def _source(ctx: Context, v: Values) -> Row:
    return {
        "tenant_id": ctx.tenant_id,
        "external_id": v["external_id"],
        "customer_id": ctx.lookup("customers", v["customer"], "customer"),
        "kind": v["kind"],
        "status": v.get("status") or SourceStatus.VALID.value,
        "role": v.get("role") or SourceRole.NONE.value,
        **{c: v.get(c) for c in ("gateway", "brand", "last4", "expiry_month", "expiry_year")},
        "previous_last4": _previous_last4(ctx, v),
    }


def _previous_last4(ctx: Context, v: Values) -> str | None:
    """What ``last4`` was before this update: as the row gives it, else the stored
    ``last4`` when the row gives ``last4`` (each update that states the card records the one
    it replaces; a new source has none). Written only with one of those two columns."""
    if "previous_last4" in v:
        return v["previous_last4"]
    if "last4" not in v:
        return None
    return ctx.refs("payment_sources.last4").get(v["external_id"])


SOURCES = Kind(
    name="payment-sources",
    model=PaymentSource,
    description="Cards and bank accounts on file, or how a customer without one pays (cash, "
    "check, chargeback).",
    columns=(
        external_id("payment source"),
        customer_ref(),
        choice(
            "kind",
            SourceKind,
            "Card or bank account; cash, check (or cheque) or chargeback for a customer who "
            "pays that way.",
            METHOD_ALIASES,
            required=True,
        ),
        choice("status", SourceStatus, "Status (default valid)."),
        choice("role", SourceRole, "Role (default none)."),
        text("gateway", 64, "Gateway."),
        text("brand", 32, "Card brand."),
        Column(
            "last4",
            "4 digits",
            "Last four digits. An update that gives them records the ones they replace as "
            "previous_last4.",
            p.digits(4),
            writes=("last4", "previous_last4"),
        ),
        Column(
            "previous_last4",
            "4 digits",
            "Last four digits before the card's last update (default: recorded by arpolicy).",
            p.digits(4),
            follows="last4",
        ),
        Column("expiry_month", "integer", "1 to 12.", p.integer(1, 12)),
        Column("expiry_year", "integer", "Four-digit year.", p.integer(2000, 2100)),
    ),
    key=("external_id",),
    build=_source,
    order=6,
)
