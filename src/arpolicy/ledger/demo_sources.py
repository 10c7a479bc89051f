"""One demo account's payment sources: cards (valid, expiring, expired; some updated with
the same card, some with a new one), bank accounts, and how some customers without either
pay (cash, check, chargeback)."""

from __future__ import annotations

from datetime import date, timedelta
from random import Random
from typing import TYPE_CHECKING, Any

from arpolicy.ledger.demo_personas import Persona, add_months, chance, pick
from arpolicy.models import SourceKind, SourceRole, SourceStatus

if TYPE_CHECKING:
    from arpolicy.ledger.demo_accounts import Account, Context

OFFLINE = (SourceKind.CASH, SourceKind.CHECK, SourceKind.CHARGEBACK, SourceKind.CASH)
"""How every other customer without a card or bank account pays, in turn (no draw from the
account's random stream, so the rest of the demo stays as it was)."""


def add_sources(ctx: Context, acct: Account) -> None:
    """The account's payment sources: its primary one (and sometimes a backup) under auto
    collection, sometimes one on file otherwise, or the way it pays without one."""
    rng, p, today = acct.rng, acct.persona, ctx.today
    if p.source is None:
        if acct.index % 2:
            ctx.data.payment_sources.append(_offline(ctx, acct))
        return
    kinds = [(p.source, p.source_status, SourceRole.PRIMARY if p.auto else SourceRole.NONE)]
    if p.auto and chance(rng, 20):
        kinds.append(
            (
                SourceKind.BANK_ACCOUNT if p.source == SourceKind.CARD else SourceKind.CARD,
                SourceStatus.VALID,
                SourceRole.BACKUP,
            )
        )
    for kind, status, role in kinds:
        month, year = _expiry(rng, today, status) if kind == SourceKind.CARD else (None, None)
        if role == SourceRole.PRIMARY and status == SourceStatus.EXPIRED and month and year:
            acct.problem_on = add_months(date(year, month, 1), 1, day=1)
        elif role == SourceRole.PRIMARY and status == SourceStatus.INVALID:
            acct.problem_on = today - timedelta(days=rng.randint(20, 120))
        gateway = _gateway(rng, p, kind)
        if role == SourceRole.PRIMARY:
            acct.gateway = gateway
        ctx.data.payment_sources.append(
            {
                "external_id": f"PM{len(ctx.data.payment_sources) + 1:07d}",
                "customer_ref": acct.index,
                "kind": kind,
                "status": status,
                "role": role,
                "gateway": gateway,
                "brand": _card_brand(rng, p) if kind == SourceKind.CARD else None,
                "last4": (last4 := f"{rng.randrange(10000):04d}"),
                "previous_last4": _previous(acct.index, last4) if kind == SourceKind.CARD else None,
                "expiry_month": month,
                "expiry_year": year,
            }
        )


def _offline(ctx: Context, acct: Account) -> dict[str, Any]:
    ctx.offline += 1
    return {
        "external_id": f"PM{len(ctx.data.payment_sources) + 1:07d}",
        "customer_ref": acct.index,
        "kind": OFFLINE[(ctx.offline - 1) % len(OFFLINE)],
        "status": SourceStatus.VALID,
        "role": SourceRole.PRIMARY,
        **dict.fromkeys(("gateway", "brand", "last4", "previous_last4")),
        **dict.fromkeys(("expiry_month", "expiry_year")),
    }


def _previous(index: int, last4: str) -> str | None:
    """The card's digits before its last update: a third were updated with the same card, a
    third with a new one, a third never (by the account's index, no random draw)."""
    if index % 3 == 0:
        return last4
    if index % 3 == 1:
        return f"{(int(last4) + 1111) % 10000:04d}"
    return None


def _expiry(rng: Random, today: date, status: SourceStatus) -> tuple[int, int]:
    """A card expires at the end of its expiry month: this month is 'expiring' (within the
    next 30 days), earlier months 'expired', later ones valid."""
    offset = {SourceStatus.EXPIRING: 0, SourceStatus.EXPIRED: -rng.randint(2, 5)}.get(
        status, rng.randint(2, 48)
    )
    d = add_months(today, offset, day=1)
    return d.month, d.year


def _gateway(rng: Random, p: Persona, kind: SourceKind) -> str:
    if kind == SourceKind.BANK_ACCOUNT:
        return "stripe" if p.country.code in ("US", "CA") else "gocardless"
    if p.country.region == "EMEA":
        return pick(rng, (("adyen", 3), ("stripe", 2)))
    return pick(rng, (("stripe", 3), ("braintree", 2)))


def _card_brand(rng: Random, p: Persona) -> str:
    if p.country.code == "JP":
        return pick(rng, (("jcb", 3), ("visa", 2), ("mastercard", 1)))
    return pick(rng, (("visa", 5), ("mastercard", 4), ("amex", 1)))
