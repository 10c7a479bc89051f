"""The payments of a demo account and their allocations: charges one by one, manual
payers in weekly pay runs, instalments on overdue documents, short payments (bank charges),
overpayments and payments on account.

Every amount is integer minor units of the customer's currency; a payment's base-currency
amount is converted with the rate on or before the day it was received.
"""

from __future__ import annotations

from datetime import date, timedelta

from arpolicy.ledger import demo_data as cat
from arpolicy.ledger.demo_accounts import Account, Context
from arpolicy.ledger.demo_collection import Doc
from arpolicy.ledger.demo_personas import chance
from arpolicy.models import PaymentMethod


def pay(ctx: Context, acct: Account, docs: list[Doc]) -> None:
    """Turn the decisions into payments: charges one by one, manual payers in pay runs
    (one transfer for everything due that week), some in instalments, some short by the
    bank's charges, a few with more than they owed, and a few payments on account."""
    rng, today, p = acct.rng, ctx.today, acct.persona
    weekday, runs = acct.index % 5, dict[date, list[Doc]]()
    for doc in docs:
        if doc.pay_on is None or doc.pay_on > today:
            _instalment(ctx, acct, doc)
            continue
        if doc.paid_by != "manual":
            method = PaymentMethod.CARD if doc.paid_by == "card" else PaymentMethod.DIRECT_DEBIT
            _payment(
                ctx,
                acct,
                doc.pay_on,
                method,
                f"txn_{rng.getrandbits(48):012x}",
                [(doc, doc.balance)],
            )
            continue
        run = doc.pay_on + timedelta(days=(weekday - doc.pay_on.weekday()) % 7)
        runs.setdefault(min(run, today), []).append(doc)
    fee = dict(cat.WIRE_FEES)[p.currency]
    for on in sorted(runs):
        parts = []
        for doc in runs[on]:
            short = (
                fee if p.currency != ctx.base and doc.balance > 4 * fee and chance(rng, 5) else 0
            )
            parts.append((doc, doc.balance - short))
        extra = sum(a for _, a in parts) * rng.randint(1, 5) // 100 if chance(rng, 3) else 0
        _payment(
            ctx, acct, on, _manual_method(acct), f"REM-{rng.randrange(10**8):08d}", parts, extra
        )
    if docs and chance(rng, 4):
        on = today - timedelta(days=rng.randint(1, 25))
        amount = max(1, docs[-1].amount * rng.randint(20, 100) // 100)
        _payment(ctx, acct, on, _manual_method(acct), f"REM-{rng.randrange(10**8):08d}", [], amount)


def _payment(
    ctx: Context,
    acct: Account,
    on: date,
    method: PaymentMethod,
    reference: str,
    parts: list[tuple[Doc, int]],
    extra: int = 0,
) -> None:
    currency = acct.persona.currency
    ref = len(ctx.data.payments)
    allocated = sum(amount for _, amount in parts)
    amount = allocated + extra
    base, rate, rate_on = ctx.convert(amount, currency, on)
    ctx.data.payments.append(
        {
            "external_id": f"PAY{ref + 1:07d}",
            "customer_ref": acct.index,
            "currency": currency,
            "amount_minor": amount,
            "unallocated_minor": extra,
            "base_amount_minor": base,
            "base_unallocated_minor": ctx.at_rate(extra, currency, rate),
            "fx_rate": rate,
            "fx_rate_on": rate_on,
            "received_on": on,
            "method": method,
            "reference": reference,
        }
    )
    for doc, part in parts:
        doc.balance -= part
        ctx.data.allocations.append(
            {"payment_ref": ref, "document_ref": doc.ref, "amount_minor": part, "allocated_on": on}
        )


def _manual_method(acct: Account) -> PaymentMethod:
    p = acct.persona
    if p.country.code == "US" and chance(acct.rng, 25):
        return PaymentMethod.CHECK
    if p.segment == "SMB" and chance(acct.rng, 15):
        return PaymentMethod.PAYPAL
    return PaymentMethod.BANK_TRANSFER


def _instalment(ctx: Context, acct: Account, doc: Doc) -> None:
    """Part of an overdue document paid: the partial profile often, chronic payers sometimes."""
    rng, today = acct.rng, ctx.today
    odds = {"partial": 60, "chronic": 15}.get(acct.persona.profile, 0)
    if not doc.debit or not doc.balance or doc.row["disputed"] or doc.due >= today:
        return
    if doc.attempts or not chance(rng, odds):
        return
    on = doc.due + timedelta(days=rng.randint(1, (today - doc.due).days))
    part = max(1, doc.balance * rng.randint(20, 60) // 100)
    _payment(ctx, acct, on, _manual_method(acct), f"REM-{rng.randrange(10**8):08d}", [(doc, part)])
