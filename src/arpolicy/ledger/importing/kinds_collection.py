"""Import kinds for collection facts: promises to pay and disputes."""

from __future__ import annotations

from arpolicy.ledger.importing import parsers as p
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.kinds_payments import document_id
from arpolicy.ledger.importing.report import FieldError
from arpolicy.ledger.importing.specs import (
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
    text,
)
from arpolicy.models import Dispute, DisputeStatus, PromiseStatus, PromiseToPay


def _amount(ctx: Context, v: Values, dated: str) -> tuple[int, int]:
    """The row's amount (more than zero) and its base-currency value at the ``dated`` date."""
    amount = p.to_minor(v["amount"], v["currency"], "amount")
    if amount <= 0:
        raise FieldError("must be more than zero", "give the amount concerned", column="amount")
    return amount, ctx.to_base(amount, v["currency"], v[dated], "currency")[0]


def _promise(ctx: Context, v: Values) -> Row:
    customer_id = ctx.lookup("customers", v["customer"], "customer")
    amount, base = _amount(ctx, v, "promised_on")
    return {
        "tenant_id": ctx.tenant_id,
        "external_id": v["external_id"],
        "customer_id": customer_id,
        "document_id": document_id(ctx, v, customer_id),
        "currency": v["currency"],
        "amount_minor": amount,
        "base_amount_minor": base,
        "promised_on": v["promised_on"],
        "status": v.get("status") or PromiseStatus.OPEN.value,
        "note": v.get("note"),
    }


PROMISES = Kind(
    name="promises",
    model=PromiseToPay,
    description="Promises to pay an amount by a date (for one document or the account).",
    columns=(
        external_id("promise"),
        customer_ref(),
        *document_ref(),
        currency(required=True),
        money(
            "amount", "Amount promised; more than zero.", required=True, writes=("amount_minor",)
        ),
        day(
            "promised_on", "Date the customer promised to pay by; dates the FX rate.", required=True
        ),
        choice("status", PromiseStatus, "Status (default open)."),
        text("note", 2000, "Note."),
    ),
    key=("external_id",),
    build=_promise,
    always=("base_amount_minor",),
    order=13,
)


def _dispute(ctx: Context, v: Values) -> Row:
    customer_id = ctx.lookup("customers", v["customer"], "customer")
    amount, base = _amount(ctx, v, "opened_on")
    resolved = v.get("resolved_on")
    if resolved is not None and resolved < v["opened_on"]:
        raise FieldError("is before opened_on", "check the two dates", column="resolved_on")
    return {
        "tenant_id": ctx.tenant_id,
        "external_id": v["external_id"],
        "customer_id": customer_id,
        "document_id": document_id(ctx, v, customer_id),
        "currency": v["currency"],
        "amount_minor": amount,
        "base_amount_minor": base,
        "reason": v.get("reason"),
        "status": v.get("status") or DisputeStatus.OPEN.value,
        "opened_on": v["opened_on"],
        "resolved_on": resolved,
    }


DISPUTES = Kind(
    name="disputes",
    model=Dispute,
    description="Amounts a customer contests.",
    columns=(
        external_id("dispute"),
        customer_ref(),
        *document_ref(),
        currency(required=True),
        money(
            "amount", "Amount disputed; more than zero.", required=True, writes=("amount_minor",)
        ),
        text("reason", 200, "Why."),
        choice("status", DisputeStatus, "Status (default open)."),
        day("opened_on", "Date opened; dates the FX rate.", required=True),
        day("resolved_on", "Date resolved."),
    ),
    key=("external_id",),
    build=_dispute,
    always=("base_amount_minor",),
    order=14,
)
