"""Import kinds for what is billed: documents (invoices, debit and credit notes),
subscriptions and sales orders."""

from __future__ import annotations

from typing import Any

from arpolicy.ledger.allocations import AllocatedChange, check_held
from arpolicy.ledger.importing import parsers as p
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.kinds_parties import custom
from arpolicy.ledger.importing.report import FieldError
from arpolicy.ledger.importing.specs import (
    Builder,
    Column,
    Kind,
    Row,
    Values,
    choice,
    currency,
    customer_ref,
    day,
    external_id,
    flag,
    money,
    ref,
    text,
)
from arpolicy.models import (
    Document,
    DocumentType,
    OrderStatus,
    SalesOrder,
    Subscription,
    SubscriptionStatus,
)

DOC_ALWAYS = (
    "balance_minor",
    "reported_balance_minor",
    "base_amount_minor",
    "base_balance_minor",
    "fx_rate",
    "fx_rate_on",
)


def _document(alias: str | None) -> Builder:
    def build(ctx: Context, v: Values) -> Row:
        given_type = v.get("type")
        doc_type = alias if alias and given_type in (None, alias) else _doc_type(given_type, alias)
        code, text = v["currency"], v["amount"]
        amount = p.to_minor(text, code, "amount")
        if amount < 0:
            raise FieldError(
                "is negative; document amounts are positive",
                "give the amount without a minus sign (a credit is a credit_note with a "
                "positive amount)",
                column="amount",
            )
        customer_id = ctx.refs("customers").get(v["customer"]) or ctx.lookup(
            "customers", v["customer"], "customer"
        )
        held = ctx.refs("documents.held").get((doc_type, v["number"]))
        if held is not None:
            check_held_row(
                f"{doc_type.replace('_', ' ')} {v['number']}", held, v, customer_id, amount
            )
        given = v.get("balance")
        reported = (
            None
            if given is None
            else amount
            if given == text
            else p.to_minor(given, code, "balance")
        )
        if reported is not None and not 0 <= reported <= amount:
            raise FieldError(
                f"must be between 0 and the amount ({v['amount']})",
                "give what is still open (credit notes: the unused credit), or leave it empty "
                "for the full amount",
                column="balance",
            )
        # The ledger's balance (arpolicy.ledger.balances): amount - credited - allocations once
        # any allocation is recorded; until then the reported balance opens it (default: the
        # full amount).
        if held is not None:
            balance = amount - held.minor - held.credited
        else:
            balance = amount if reported is None else reported
        on, due = v["document_date"], v["due_date"]
        if due < on:
            raise FieldError(
                f"is before the document date {on.isoformat()}",
                "check the two dates",
                column="due_date",
            )
        base, rate, rate_on = ctx.to_base(amount, code, on, "currency")
        base_balance = base if balance == amount else ctx.to_base(balance, code, on, "currency")[0]
        sub = v.get("subscription")
        row = {
            "tenant_id": ctx.tenant_id,
            "doc_type": doc_type,
            "number": v["number"],
            "customer_id": customer_id,
            "currency": code,
            "amount_minor": amount,
            "balance_minor": balance,
            "reported_balance_minor": reported,
            "credited_minor": 0,  # new documents only: the import never writes it
            "base_amount_minor": base,
            "base_balance_minor": base_balance,
            "fx_rate": rate,
            "fx_rate_on": rate_on,
            "document_date": on,
            "due_date": due,
            "posting_date": v.get("posting_date"),
            "transaction_type": v.get("transaction_type"),
            "location": v.get("location"),
            "business_unit": v.get("business_unit"),
            "disputed": v.get("disputed") is True,
            "voided": v.get("voided") is True,
            "subscription_id": None
            if sub is None
            else ctx.lookup("subscriptions", sub, "subscription"),
            "custom_fields": None,
            "custom_fields__patch": None,
        }
        custom(v, row)
        return row

    return build


def check_held_row(
    record: str, held: Any, v: Values, customer_id: int, amount: int, payment: bool = False
) -> None:
    """The ledger's guard on a record with allocations (arpolicy.ledger.allocations), as a
    row error of the column concerned."""
    try:
        check_held(
            record,
            held,
            customer_id=customer_id,
            customer=v["customer"],
            currency=v["currency"],
            amount_minor=amount,
            payment=payment,
        )
    except AllocatedChange as exc:
        raise FieldError(exc.message, exc.fix or "", column=exc.column) from None


def _doc_type(given: str | None, alias: str | None) -> str:
    if alias is None:
        if given is None:
            raise FieldError("is empty", "give invoice, debit_note or credit_note", column="type")
        return given
    if given is not None and given != alias:
        raise FieldError(
            f"is {given} but this import is for {alias} documents",
            "remove the type column, or import the file as `documents`",
            column="type",
        )
    return alias


def document_columns(type_required: bool) -> tuple[Column, ...]:
    return (
        choice(
            "type",
            DocumentType,
            "Document type (implied by the invoices, debit-notes and credit-notes kinds).",
            required=type_required,
            writes=(),
        ),
        text("number", 100, "Document number (upsert key with type).", required=True),
        customer_ref(),
        currency(required=True),
        money(
            "amount",
            "Total of the document; positive (credit notes too).",
            required=True,
            writes=("amount_minor",),
        ),
        money(
            "balance",
            "What the billing system reports still open, 0 to amount (credit notes: unused "
            "credit); kept as reported_balance. It opens the ledger's balance while nothing is "
            "applied to the document; default: the amount.",
            writes=(),
        ),
        day("document_date", "Issue date; dates the FX rate.", required=True),
        day("due_date", "Due date (not before the document date).", required=True),
        day("posting_date", "Posting date."),
        text("transaction_type", 64, "Transaction type of the billing system."),
        text("location", 100, "Location."),
        text("business_unit", 100, "Business unit."),
        flag("disputed", "Under dispute (default false)."),
        flag("voided", "Voided (default false)."),
        ref(
            "subscription",
            "subscriptions",
            "External id of the subscription billed.",
            writes=("subscription_id",),
        ),
    )


def _document_kind(name: str, alias: str | None, description: str) -> Kind:
    return Kind(
        name=name,
        model=Document,
        description=description,
        columns=document_columns(alias is None),
        key=("doc_type", "number"),
        build=_document(alias),
        always=DOC_ALWAYS,
        custom_fields="document",
        merge_json=("custom_fields",),
        order=8,
        aliases={"type": alias} if alias else {},
        file_key=(lambda v: v["number"]) if alias else lambda v: (v.get("type"), v["number"]),
    )


DOCUMENTS = _document_kind(
    "documents",
    None,
    "AR documents of every type; amounts are converted to the base "
    "currency at the rate on or before document_date.",
)
INVOICES = _document_kind("invoices", "invoice", "Invoices (documents of type invoice).")
DEBIT_NOTES = _document_kind("debit-notes", "debit_note", "Debit notes (type debit_note).")
CREDIT_NOTES = _document_kind("credit-notes", "credit_note", "Credit notes (type credit_note).")


def _subscription(ctx: Context, v: Values) -> Row:
    code = v.get("currency")
    mrr = v.get("mrr")
    if mrr is not None:
        if code is None:
            raise FieldError("needs a currency", "fill in the currency column", column="mrr")
        mrr = p.to_minor(mrr, code, "mrr")
    return {
        "tenant_id": ctx.tenant_id,
        "external_id": v["external_id"],
        "customer_id": ctx.lookup("customers", v["customer"], "customer"),
        "status": v["status"],
        "plan": v.get("plan"),
        "currency": code,
        "mrr_minor": mrr,
        **{d: v.get(d) for d in ("started_on", "trial_end_on", "next_billing_on", "cancelled_on")},
    }


SUBSCRIPTIONS = Kind(
    name="subscriptions",
    model=Subscription,
    description="Subscriptions of the billing system.",
    columns=(
        external_id("subscription"),
        customer_ref(),
        choice("status", SubscriptionStatus, "Status.", required=True),
        text("plan", 100, "Plan name or id."),
        currency(),
        money("mrr", "Monthly recurring revenue (needs currency).", writes=("mrr_minor",)),
        day("started_on", "Start date."),
        day("trial_end_on", "End of the trial."),
        day("next_billing_on", "Next billing date."),
        day("cancelled_on", "Cancellation date."),
    ),
    key=("external_id",),
    build=_subscription,
    order=7,
)


def _order(ctx: Context, v: Values) -> Row:
    amount = p.to_minor(v["amount"], v["currency"], "amount")
    if amount < 0:
        raise FieldError("is negative", "order amounts are zero or more", column="amount")
    return {
        "tenant_id": ctx.tenant_id,
        "external_id": v["external_id"],
        "customer_id": ctx.lookup("customers", v["customer"], "customer"),
        "currency": v["currency"],
        "amount_minor": amount,
        "status": v["status"],
        "ordered_on": v["ordered_on"],
        "expected_ship_on": v.get("expected_ship_on"),
    }


ORDERS = Kind(
    name="orders",
    model=SalesOrder,
    description="Sales orders (credit checks hold or release them).",
    columns=(
        external_id("order"),
        customer_ref(),
        currency(required=True),
        money("amount", "Order total.", required=True, writes=("amount_minor",)),
        choice("status", OrderStatus, "Status.", required=True),
        day("ordered_on", "Order date.", required=True),
        day("expected_ship_on", "Expected shipping date."),
    ),
    key=("external_id",),
    build=_order,
    order=9,
)
