"""The money side of one demo customer: invoices and debit notes on its billing schedule
(:mod:`arpolicy.ledger.demo_invoices`), voids, disputes and credit notes
(:mod:`arpolicy.ledger.demo_adjustments`), when each document gets paid (by the customer's
habits or by its card: :mod:`arpolicy.ledger.demo_collection`), the payments and
allocations that pay them (:mod:`arpolicy.ledger.demo_payments`), and promises to pay.

Every amount is integer minor units of the customer's currency; base-currency amounts are
converted once, at the end, with the rate on or before each record's date.
"""

from __future__ import annotations

from datetime import timedelta

from arpolicy.ledger.demo_accounts import Account, Context
from arpolicy.ledger.demo_adjustments import credit_notes, disputes, voids
from arpolicy.ledger.demo_collection import Doc, charge, manual_pay_on, promises, record_attempts
from arpolicy.ledger.demo_invoices import invoices, late_fees
from arpolicy.ledger.demo_invoices import new_doc as new_doc
from arpolicy.ledger.demo_payments import pay
from arpolicy.ledger.demo_personas import Row, chance, instant


def book(ctx: Context, acct: Account) -> None:
    first_payment = len(ctx.data.payments)
    docs = invoices(ctx, acct)
    if not docs:
        return
    voids(acct, docs)
    docs += disputes(ctx, acct, docs)
    docs += credit_notes(ctx, acct, docs)
    _script(ctx, acct, docs)
    for doc in docs:
        _decide(ctx, acct, doc)
    for doc in late_fees(ctx, acct, docs):
        docs.append(doc)
        _decide(ctx, acct, doc)
    pay(ctx, acct, docs)
    record_attempts(ctx, acct, docs)
    promises(ctx, acct, docs)
    _finish(ctx, acct, docs)
    _reported_balance(ctx, acct, docs, ctx.data.payments[first_payment:])


def _script(ctx: Context, acct: Account, docs: list[Doc]) -> None:
    """A showcase account plays its attempt script on its latest document that came due."""
    due = [
        d
        for d in docs
        if d.chargeable and d.due <= ctx.today and d.balance and not d.row["disputed"]
    ]
    if acct.persona.scripts and due:
        due[-1].script = acct.persona.scripts[0]


def _decide(ctx: Context, acct: Account, doc: Doc) -> None:
    """When (if ever) ``doc`` is paid, and how: set ``pay_on`` and ``paid_by``."""
    if not doc.balance or doc.row["disputed"] or not doc.debit:
        return
    if acct.persona.auto and doc.chargeable:
        charge(ctx, acct, doc)
    else:
        doc.pay_on = manual_pay_on(ctx, acct, doc)


def _finish(ctx: Context, acct: Account, docs: list[Doc]) -> None:
    """Balances into the rows, base amounts at each document's rate, last contact times."""
    rng, p, today = acct.rng, acct.persona, ctx.today
    overdue = [d for d in docs if d.debit and d.balance and d.due < today]
    if overdue:
        emailed = today - timedelta(days=rng.randint(1, 25))
        acct.row["last_email_at"] = instant(emailed, rng.randint(13 * 60, 17 * 60))
        if chance(rng, 35):
            acct.row["last_reply_at"] = instant(emailed + timedelta(days=1), rng.randint(0, 600))
        for doc in overdue:
            if chance(rng, 60):
                doc.row["last_email_at"] = acct.row["last_email_at"]
    for doc in docs:
        if doc.balance < 0:
            raise AssertionError(f"document {doc.ref} over-settled")
        base, rate, rate_on = ctx.convert(doc.amount, p.currency, doc.on)
        doc.row.update(
            amount_minor=doc.amount,
            balance_minor=doc.balance,
            reported_balance_minor=doc.balance,
            credited_minor=doc.credited,
            base_amount_minor=base,
            base_balance_minor=ctx.at_rate(doc.balance, p.currency, rate),
            fx_rate=rate,
            fx_rate_on=rate_on,
        )


def _reported_balance(ctx: Context, acct: Account, docs: list[Doc], payments: list[Row]) -> None:
    """What the billing system says the customer owes: open debits less unused credit and
    payments on account; a few disagree with the ledger (a sync gap to find)."""
    owed = sum(d.balance if d.debit else -d.balance for d in docs)
    owed -= sum(p["unallocated_minor"] for p in payments)
    if chance(acct.rng, 2) and docs:
        owed += docs[-1].amount if chance(acct.rng, 50) else -docs[-1].amount // 2
    acct.row["reported_balance_minor"] = owed
