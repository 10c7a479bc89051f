"""What reduces what a demo account's invoices ask: voided invoices, disputes (open ones
block collection, resolved ones end in a credit note, rejected ones are paid after all) and
service credits or adjustments as credit notes.

Every amount is integer minor units of the customer's currency.
"""

from __future__ import annotations

from datetime import timedelta

from arpolicy.ledger import demo_data as cat
from arpolicy.ledger.demo_accounts import Account, Context
from arpolicy.ledger.demo_collection import Doc
from arpolicy.ledger.demo_invoices import new_doc
from arpolicy.ledger.demo_personas import chance, pick
from arpolicy.models import DisputeStatus, DocumentType


def voids(acct: Account, docs: list[Doc]) -> None:
    if acct.persona.ladder:
        return
    for doc in docs:
        if chance(acct.rng, 2):
            doc.row["voided"] = True
            doc.balance = 0


def disputes(ctx: Context, acct: Account, docs: list[Doc]) -> list[Doc]:
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


def credit_notes(ctx: Context, acct: Account, docs: list[Doc]) -> list[Doc]:
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
