"""The money side of one demo customer: invoices and debit notes on its billing schedule,
disputes and credit notes, when each document gets paid (by the customer's habits or by
its card), the payments and allocations that pay them, and promises to pay.

Every amount is integer minor units of the customer's currency; base-currency amounts are
converted once, at the end, with the rate on or before each record's date.
"""

from __future__ import annotations

from datetime import date, timedelta

from arpolicy.ledger import demo_data as cat
from arpolicy.ledger.demo_accounts import Account, Context, plan, seat_price
from arpolicy.ledger.demo_collection import Doc, charge, manual_pay_on, promises, record_attempts
from arpolicy.ledger.demo_personas import Row, add_months, chance, instant, pick
from arpolicy.models import DisputeStatus, DocumentType, PaymentMethod


def book(ctx: Context, acct: Account) -> None:
    first_payment = len(ctx.data.payments)
    docs = _invoices(ctx, acct)
    if not docs:
        return
    _voids(acct, docs)
    docs += _disputes(ctx, acct, docs)
    docs += _credit_notes(ctx, acct, docs)
    _script(ctx, acct, docs)
    for doc in docs:
        _decide(ctx, acct, doc)
    for doc in _late_fees(ctx, acct, docs):
        docs.append(doc)
        _decide(ctx, acct, doc)
    _pay(ctx, acct, docs)
    record_attempts(ctx, acct, docs)
    promises(ctx, acct, docs)
    _finish(ctx, acct, docs)
    _reported_balance(ctx, acct, docs, ctx.data.payments[first_payment:])


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


def _invoices(ctx: Context, acct: Account) -> list[Doc]:
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


def _voids(acct: Account, docs: list[Doc]) -> None:
    if acct.persona.ladder:
        return
    for doc in docs:
        if chance(acct.rng, 2):
            doc.row["voided"] = True
            doc.balance = 0


def _disputes(ctx: Context, acct: Account, docs: list[Doc]) -> list[Doc]:
    """Disputed documents: open ones block collection, resolved ones end in a credit note,
    rejected ones are paid after all. Returns the credit notes."""
    rng, p, today = acct.rng, acct.persona, ctx.today
    candidates = [d for d in docs if d.due <= today and d.balance and d.on < today]
    statuses: list[str] = list(p.disputes)
    credits = []
    if statuses:
        chosen = candidates[: len(statuses)]
    else:
        per_doc = 15 if p.profile == "disputer" else 1
        statuses = [
            pick(rng, (("open", 45), ("resolved", 35), ("rejected", 20)))
            for d in candidates
            if chance(rng, per_doc)
        ]
        chosen = rng.sample(candidates, min(len(statuses), len(candidates)))
    for doc, status in zip(sorted(chosen, key=lambda d: d.ref), statuses, strict=False):
        opened = min(
            today, max(doc.on + timedelta(days=2), doc.due + timedelta(days=rng.randint(-10, 25)))
        )
        amount = doc.amount if chance(rng, 50) else max(1, doc.amount * rng.randint(10, 50) // 100)
        resolved = opened + timedelta(days=rng.randint(5, 40))
        if resolved > today:
            status = "open"
        if status == "open":
            doc.row["disputed"] = True
        else:
            doc.not_before = resolved
        if status == "resolved":
            credit = new_doc(
                ctx,
                acct,
                DocumentType.CREDIT_NOTE,
                amount,
                resolved,
                resolved,
                "dispute_resolution",
                doc.row["business_unit"],
            )
            credit.balance = 0
            doc.balance -= amount
            doc.credited += amount
            credits.append(credit)
        base, _, _ = ctx.convert(amount, p.currency, opened)
        ctx.data.disputes.append(
            {
                "external_id": f"DSP{len(ctx.data.disputes) + 1:07d}",
                "customer_ref": acct.index,
                "document_ref": doc.ref,
                "currency": p.currency,
                "amount_minor": amount,
                "base_amount_minor": base,
                "reason": rng.choice(cat.DISPUTE_REASONS),
                "status": DisputeStatus(status),
                "opened_on": opened,
                "resolved_on": None if status == "open" else resolved,
            }
        )
    return credits


def _credit_notes(ctx: Context, acct: Account, docs: list[Doc]) -> list[Doc]:
    """Service credits and adjustments: most applied to their invoice, some left open."""
    rng, credits = acct.rng, []
    for doc in docs:
        on = doc.on + timedelta(days=rng.randint(1, 20))
        if not doc.debit or doc.balance <= 1 or on > ctx.today or not chance(rng, 7):
            continue
        amount = max(1, doc.balance * rng.randint(5, 25) // 100)
        credit = new_doc(
            ctx,
            acct,
            DocumentType.CREDIT_NOTE,
            amount,
            on,
            on,
            rng.choice(cat.CREDIT_REASONS),
            doc.row["business_unit"],
        )
        credits.append(credit)
        if chance(rng, 70) and not doc.row["disputed"]:
            credit.balance = 0
            doc.balance -= amount
            doc.credited += amount
    return credits


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


def _late_fees(ctx: Context, acct: Account, docs: list[Doc]) -> list[Doc]:
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


def _pay(ctx: Context, acct: Account, docs: list[Doc]) -> None:
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
