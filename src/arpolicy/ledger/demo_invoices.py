"""The documents a demo account is billed: invoices on the customer's billing schedule
(subscription periods, or services at random dates), each with the country's sales tax, and
late-fee debit notes on what was paid late. :func:`new_doc` appends any document's row (the
credit notes of :mod:`arpolicy.ledger.demo_adjustments` too).

Every amount is integer minor units of the customer's currency.
"""

from __future__ import annotations

from datetime import date, timedelta

from arpolicy.ledger import demo_data as cat
from arpolicy.ledger.demo_accounts import Account, Context, plan, seat_price
from arpolicy.ledger.demo_collection import Doc
from arpolicy.ledger.demo_personas import Row, add_months, chance
from arpolicy.models import DocumentType


def new_doc(
    ctx: Context,
    acct: Account,
    kind: DocumentType,
    amount: int,
    on: date,
    due: date,
    transaction_type: str,
    unit: str,
) -> Doc:
    p = acct.persona
    row: Row = {
        "doc_type": kind,
        "number": "",
        "customer_ref": acct.index,
        "currency": p.currency,
        "document_date": on,
        "due_date": due,
        "posting_date": on,
        "transaction_type": transaction_type,
        "location": dict(cat.ENTITY_LOCATIONS)[p.country.region],
        "business_unit": unit,
        "disputed": False,
        "voided": False,
        "subscription_ref": acct.subscription_ref if transaction_type == "subscription" else None,
        "custom_fields": {},
        "last_email_at": None,
        "last_reply_at": None,
    }
    ctx.data.documents.append(row)
    return Doc(row, len(ctx.data.documents) - 1, amount, amount, on, due)


def _taxed(acct: Account, net: int) -> int:
    """``net`` plus the country's sales tax, rounded half up to the minor unit."""
    return (net * (10000 + acct.persona.country.tax_bps) + 5000) // 10000


def _schedule(ctx: Context, acct: Account) -> list[date]:
    p, today = acct.persona, ctx.today
    if p.ladder:
        return [today - timedelta(days=15 + 30 * j) for j in reversed(range(p.months - 1))]
    if p.months == 0 or acct.start_on is None:
        return []
    end = min(today, acct.stop_on or today)
    if p.subscription is None:
        span = max(1, (end - acct.start_on).days)
        count = acct.rng.randint(2, 10)
        return sorted(
            acct.start_on + timedelta(days=acct.rng.randrange(span)) for _ in range(count)
        )
    months = plan(p.segment)[1]
    dates, k = [], 0
    while (d := add_months(acct.start_on, k * months)) <= end:
        dates.append(d)
        k += 1
    return dates


def invoices(ctx: Context, acct: Account) -> list[Doc]:
    rng, p = acct.rng, acct.persona
    price = seat_price(p.currency)
    docs = []
    for on in _schedule(ctx, acct):
        due = on + timedelta(days=p.terms)
        if p.subscription is None:
            net = acct.seats * price * rng.randint(2, 8)
            doc = new_doc(
                ctx,
                acct,
                DocumentType.INVOICE,
                _taxed(acct, net),
                on,
                due,
                "services",
                "Professional Services",
            )
            doc.row["custom_fields"]["project"] = rng.choice(cat.PROJECTS)
        else:
            months = plan(p.segment)[1]
            net = acct.seats * price * months
            if months == 1:
                net += rng.randrange(net // 5 + 1)
            doc = new_doc(
                ctx,
                acct,
                DocumentType.INVOICE,
                _taxed(acct, net),
                on,
                due,
                "subscription",
                "Subscriptions",
            )
        if p.segment in ("Enterprise", "Public Sector"):
            doc.row["custom_fields"]["po_number"] = f"45{rng.randrange(10**8):08d}"
        docs.append(doc)
    return docs


def late_fees(ctx: Context, acct: Account, docs: list[Doc]) -> list[Doc]:
    rng, fees = acct.rng, list[Doc]()
    if acct.persona.profile not in ("late", "chronic", "defaulted", "partial"):
        return fees
    for doc in docs:
        fee_on = doc.due + timedelta(days=30)
        paid_late = doc.pay_on is None or doc.pay_on > fee_on
        if doc.debit and doc.balance and paid_late and fee_on <= ctx.today and chance(rng, 15):
            amount = max(doc.amount * 150 // 10000, seat_price(acct.persona.currency) // 2)
            fees.append(
                new_doc(
                    ctx,
                    acct,
                    DocumentType.DEBIT_NOTE,
                    amount,
                    fee_on,
                    fee_on + timedelta(days=14),
                    "late_fee",
                    "Finance",
                )
            )
    return fees
