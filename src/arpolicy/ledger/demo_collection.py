"""Collection outcomes of a demo account: when each document gets paid, by the customer's
habits (manual payers) or by charging its card or bank account on the due date (auto
collection, with the billing system's retry schedule, failures, recoveries, timeouts and
voided charges as payment attempts), and the promises to pay made along the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from arpolicy.ledger import demo_data as cat
from arpolicy.ledger.demo_accounts import Account, Context
from arpolicy.ledger.demo_personas import Row, chance, instant, pick
from arpolicy.models import (
    AttemptStatus,
    DocumentType,
    DunningStatus,
    PaymentMethod,
    PromiseStatus,
    SourceKind,
    SourceStatus,
)

DELAYS = {
    "prompt": (-10, 4),
    "late": (3, 45),
    "chronic": (25, 140),
    "partial": (0, 40),
    "disputer": (-5, 15),
    "defaulted": (0, 30),
}
"""Days between due date and payment, by payment profile."""
RETRY_DAYS = (0, 3, 7, 14)
"""The billing system charges on the due date, then retries; after the last it gives up."""


@dataclass(slots=True)
class Doc:
    row: Row
    ref: int
    amount: int
    balance: int
    on: date
    due: date
    pay_on: date | None = None
    not_before: date | None = None
    """A payment cannot come before this (a dispute was settled that day)."""
    paid_by: str = "manual"
    script: str | None = None
    attempts: list[Row] = field(default_factory=list)
    credited: int = 0
    """Credit notes applied to it (``documents.credited_minor``)."""

    @property
    def debit(self) -> bool:
        return self.row["doc_type"] != DocumentType.CREDIT_NOTE

    @property
    def chargeable(self) -> bool:
        return self.debit and self.row["transaction_type"] != "late_fee"


def manual_pay_on(ctx: Context, acct: Account, doc: Doc, profile: str | None = None) -> date | None:
    """The day a manual payer settles ``doc`` (may be after today: not paid yet), or None
    for a customer that stopped paying before the document was issued."""
    p = acct.persona
    profile = profile or p.profile
    if profile == "defaulted" and (
        p.ladder or doc.on >= ctx.today - timedelta(days=130 + acct.index % 170)
    ):
        return None
    low, high = DELAYS[profile]
    on = max(doc.on, doc.due + timedelta(days=acct.rng.randint(low, high)))
    return max(on, doc.not_before) if doc.not_before else on


def _failure(acct: Account, doc: Doc) -> str | None:
    rng, p = acct.rng, acct.persona
    card = p.source == SourceKind.CARD
    if acct.problem_on and doc.due >= acct.problem_on:
        if p.source_status == SourceStatus.EXPIRED:
            return "expired_card"
        return pick(
            rng,
            (("card_declined", 2), ("do_not_honor", 1))
            if card
            else (("account_closed", 1), ("debit_not_authorized", 1)),
        )
    if doc.script or (p.profile in ("chronic", "defaulted", "partial") and chance(rng, 60)):
        return pick(rng, cat.CARD_FAILURES if card else cat.BANK_FAILURES)
    return None


def charge(ctx: Context, acct: Account, doc: Doc) -> None:
    """Auto collection: charge on the due date; a failed charge is retried on the
    schedule, and the customer sometimes pays by transfer in the meantime."""
    rng, p, today = acct.rng, acct.persona, ctx.today
    doc.paid_by = "card" if p.source == SourceKind.CARD else "direct_debit"
    if doc.due > today:
        return
    reason = _failure(acct, doc)
    if reason is None and chance(rng, 8):
        reason = pick(rng, cat.CARD_FAILURES if p.source == SourceKind.CARD else cat.BANK_FAILURES)
        retry = doc.due + timedelta(days=RETRY_DAYS[1])
        doc.attempts = _failures(acct, doc, reason, min(retry - timedelta(days=1), today))
        if retry <= today:
            doc.pay_on = retry
            doc.attempts.append(
                _attempt(acct, doc, retry, AttemptStatus.SUCCESS, 2, dunning=DunningStatus.SUCCESS)
            )
        return
    if reason is None:
        doc.pay_on = doc.due
        doc.attempts = [_attempt(acct, doc, doc.due, AttemptStatus.SUCCESS, 1)]
        return
    profile = "late" if p.profile in ("prompt", "disputer") else None
    recovered = None if doc.script or chance(rng, 15) else manual_pay_on(ctx, acct, doc, profile)
    if recovered and recovered <= today:
        doc.paid_by, doc.pay_on = "manual", recovered
        doc.attempts = _failures(acct, doc, reason, recovered - timedelta(days=1))
        if doc.attempts:
            doc.attempts[-1].update(dunning_status=DunningStatus.STOPPED, next_retry_at=None)
        return
    doc.attempts = _failures(acct, doc, reason, today)
    _unpaid_tail(ctx, acct, doc)


def _failures(acct: Account, doc: Doc, reason: str, last_day: date) -> list[Row]:
    rows = []
    for n, offset in enumerate(RETRY_DAYS, start=1):
        on = doc.due + timedelta(days=offset)
        if on > last_day:
            break
        last = n == len(RETRY_DAYS)
        rows.append(
            _attempt(
                acct,
                doc,
                on,
                AttemptStatus.FAILURE,
                n,
                reason,
                dunning=DunningStatus.EXHAUSTED if last else DunningStatus.IN_PROGRESS,
                retry_on=None if last else doc.due + timedelta(days=RETRY_DAYS[n]),
            )
        )
    return rows


def _unpaid_tail(ctx: Context, acct: Account, doc: Doc) -> None:
    """A charge still in dunning ends in a timeout now and then, or is running right now."""
    rng, today, last = acct.rng, ctx.today, doc.attempts[-1]
    if last["dunning_status"] != DunningStatus.IN_PROGRESS and not doc.script:
        return
    script = doc.script or pick(rng, (("timeout", 5), ("in_progress", 5), ("", 90)))
    if script == "timeout":
        last.update(
            status=AttemptStatus.TIMEOUT,
            failure_reason="gateway_timeout",
            dunning_status=DunningStatus.IN_PROGRESS,
            next_retry_at=instant(today + timedelta(days=1), 6 * 60),
        )
    elif script == "in_progress":
        last.update(dunning_status=DunningStatus.IN_PROGRESS, next_retry_at=None)
        running = _attempt(
            acct,
            doc,
            today,
            AttemptStatus.IN_PROGRESS,
            last["attempt_number"] + 1,
            dunning=DunningStatus.IN_PROGRESS,
        )
        running["attempted_at"] = max(
            running["attempted_at"], last["attempted_at"] + timedelta(hours=1)
        )
        doc.attempts.append(running)


def _attempt(
    acct: Account,
    doc: Doc,
    on: date,
    status: AttemptStatus,
    number: int,
    reason: str | None = None,
    *,
    dunning: DunningStatus | None = None,
    retry_on: date | None = None,
    amount: int | None = None,
) -> Row:
    minutes = 5 * 60 + acct.rng.randrange(6 * 60)
    p = acct.persona
    card = p.source == SourceKind.CARD
    return {
        "customer_ref": acct.index,
        "document_ref": doc.ref,
        "attempted_at": instant(on, minutes),
        "status": status,
        "currency": p.currency,
        "amount_minor": doc.balance if amount is None else amount,
        "method": PaymentMethod.CARD if card else PaymentMethod.DIRECT_DEBIT,
        "gateway": acct.gateway,
        "failure_reason": reason,
        "dunning_status": dunning,
        "attempt_number": number,
        "next_retry_at": instant(retry_on, minutes) if retry_on else None,
    }


def record_attempts(ctx: Context, acct: Account, docs: list[Doc]) -> None:
    """Every attempt of the account, in document order; a voided or disputed document
    that came due under auto collection has its charge voided."""
    if not acct.persona.auto:
        return
    for doc in docs:
        attempts = doc.attempts
        stopped = doc.row["voided"] or doc.row["disputed"]
        if stopped and doc.chargeable and doc.due <= ctx.today:
            attempts = [
                _attempt(
                    acct,
                    doc,
                    doc.due,
                    AttemptStatus.VOIDED,
                    1,
                    dunning=DunningStatus.STOPPED,
                    amount=doc.amount,
                )
            ]
        for row in attempts:
            row["external_id"] = f"TXN{len(ctx.data.payment_attempts) + 1:08d}"
            ctx.data.payment_attempts.append(row)


PROMISE_PERCENT = {"chronic": 60, "late": 35, "partial": 50, "defaulted": 40}
PROMISE_KINDS = (
    ("open_future", 35),
    ("open_past", 15),
    ("broken", 25),
    ("kept", 20),
    ("account", 5),
    ("cancelled", 3),
)
PROMISE_NOTES = (
    "Promised on a call with accounts payable",
    "Promised by e-mail reply",
    "Waiting for the next payment run",
    "CFO approval pending",
    None,
)


def promises(ctx: Context, acct: Account, docs: list[Doc]) -> None:
    rng, p, today = acct.rng, acct.persona, ctx.today
    overdue = [
        d for d in docs if d.debit and d.balance > 0 and not d.row["voided"] and d.due < today
    ]
    kinds = list(p.promises)
    if not kinds and overdue and chance(rng, PROMISE_PERCENT.get(p.profile, 10)):
        kinds = [pick(rng, PROMISE_KINDS) for _ in range(rng.randint(1, 2))]
    paid = [d for d in docs if d.debit and d.pay_on and d.pay_on <= today and not d.balance]
    for kind in kinds:
        pool = paid if kind == "kept" else overdue
        if not pool:
            continue
        late = [d for d in pool if d.pay_on and d.pay_on > d.due]
        doc = rng.choice(late or pool) if kind != "account" else None
        amount, status, on = _promise_terms(rng, today, kind, doc, overdue)
        ctx.data.promises.append(
            {
                "external_id": f"PTP{len(ctx.data.promises) + 1:07d}",
                "customer_ref": acct.index,
                "document_ref": doc.ref if doc else None,
                "currency": p.currency,
                "amount_minor": amount,
                "base_amount_minor": ctx.convert(amount, p.currency, on)[0],
                "promised_on": on,
                "status": status,
                "note": rng.choice(PROMISE_NOTES),
            }
        )


def _promise_terms(
    rng: Random, today: date, kind: str, doc: Doc | None, overdue: list[Doc]
) -> tuple[int, PromiseStatus, date]:
    if doc is None:
        return (
            sum(d.balance for d in overdue),
            PromiseStatus.OPEN,
            today + timedelta(days=rng.randint(3, 14)),
        )
    if kind == "kept" and doc.pay_on:
        return (
            doc.amount,
            PromiseStatus.KEPT,
            max(doc.on, doc.pay_on - timedelta(days=rng.randint(0, 5))),
        )
    if kind == "open_future":
        return doc.balance, PromiseStatus.OPEN, today + timedelta(days=rng.randint(1, 21))
    if kind == "open_past":
        return (
            doc.balance,
            PromiseStatus.OPEN,
            max(doc.due, today - timedelta(days=rng.randint(1, 10))),
        )
    return (
        doc.balance,
        PromiseStatus.CANCELLED if kind == "cancelled" else PromiseStatus.BROKEN,
        max(doc.due, today - timedelta(days=rng.randint(15, 75))),
    )
