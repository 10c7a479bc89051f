"""Who a demo customer is (a :class:`Persona`: country, segment, payment habits, payment
source, subscription) and the showcase that opens every demo; plus the small helpers the
demo modules share (integer-weighted choices, month arithmetic, ASCII slugs)."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Any, TypeVar

from arpolicy.ledger import demo_data as cat
from arpolicy.models import OrderStatus, SourceKind, SourceStatus, SubscriptionStatus

T = TypeVar("T")
Row = dict[str, Any]
"""A generated row: the model's column names, with ``<name>_ref`` for references."""

MAX_TENURE_MONTHS = 24
"""The oldest customer was invoiced this many months before ``today``."""


def pick(rng: Random, weighted: Sequence[tuple[T, int]]) -> T:
    """A weighted choice with integer weights (no floats, so the same on every platform)."""
    r = rng.randrange(sum(w for _, w in weighted))
    for item, weight in weighted:
        if r < weight:
            return item
        r -= weight
    raise AssertionError("unreachable")


def chance(rng: Random, percent: int) -> bool:
    return rng.randrange(100) < percent


def add_months(d: date, months: int, day: int | None = None) -> date:
    """``d`` moved by whole months, on ``day`` (default: the same day), at most the 28th."""
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, min(day or d.day, 28))


def instant(d: date, minutes: int) -> datetime:
    """``minutes`` after midnight UTC of ``d``."""
    return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(minutes=minutes)


_UMLAUTS = (
    ("ä", "ae"),
    ("ö", "oe"),
    ("ü", "ue"),
    ("Ä", "Ae"),
    ("Ö", "Oe"),
    ("Ü", "Ue"),
    ("ß", "ss"),
)


def ascii_slug(text: str, sep: str = "-") -> str:
    """``"Schäfer Feinmechanik"`` -> ``"schaefer-feinmechanik"`` (for e-mail addresses)."""
    for a, b in _UMLAUTS:
        text = text.replace(a, b)
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return sep.join("".join(c if c.isalnum() else " " for c in plain.replace("'", "")).split())


@dataclass(frozen=True, slots=True)
class Persona:
    """The traits that decide a customer's data; the generator draws everything else."""

    country: cat.Country
    city: cat.City
    currency: str
    language: str
    locale: str
    segment: str
    group: str
    profile: str
    """Payment habits, one of :data:`demo_data.PROFILES`."""
    terms: int
    auto: bool
    """Auto collection: the primary source is charged on the due date."""
    source: SourceKind | None
    source_status: SourceStatus
    subscription: SubscriptionStatus | None
    months: int
    """Months of invoicing before today (0: not invoiced yet)."""
    ladder: bool = False
    """Invoices exactly 30 days apart, the latest 15 days old, never voided: with net 30 one
    falls in every ageing bucket (all stay open for a defaulted payer)."""
    scripts: tuple[str, ...] = ()
    """How the latest charge that came due plays out ("timeout", "in_progress")."""
    promises: tuple[str, ...] = ()
    disputes: tuple[str, ...] = ()
    orders: tuple[OrderStatus, ...] = ()


S = SubscriptionStatus
O = OrderStatus  # noqa: E741


def _show(
    country: str,
    segment: str,
    profile: str,
    subscription: SubscriptionStatus | None,
    months: int = 0,
    *,
    card: SourceStatus | None = None,
    bank: SourceStatus | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Overrides for one showcase persona; a card or bank account means auto collection."""
    o = {"country": country, "segment": segment, "profile": profile, "auto": False}
    o |= {"subscription": subscription, "months": months, **extra}
    for kind, status in ((SourceKind.CARD, card), (SourceKind.BANK_ACCOUNT, bank)):
        if status is not None:
            o |= {"auto": True, "source": kind, "source_status": status}
    return o


SHOWCASE: tuple[dict[str, Any], ...] = (
    _show("US", "Enterprise", "defaulted", S.ACTIVE, 10, ladder=True, terms=30),
    _show("DE", "Mid-Market", "prompt", S.ACTIVE, 12, card=SourceStatus.EXPIRED),
    _show("JP", "SMB", "prompt", S.ACTIVE, 9, card=SourceStatus.EXPIRING),
    _show("KW", "Enterprise", "late", S.NON_RENEWING, 11, currency="KWD"),
    _show(
        "FR",
        "Mid-Market",
        "disputer",
        S.PAUSED,
        12,
        bank=SourceStatus.VALID,
        disputes=("resolved", "rejected", "open"),
    ),
    _show("GB", "SMB", "partial", S.CANCELLED, 14, card=SourceStatus.INVALID),
    _show("CA", "SMB", "prompt", S.IN_TRIAL, card=SourceStatus.VALID),
    _show("AU", "Mid-Market", "prompt", S.FUTURE, orders=(O.APPROVED, O.SUBMITTED, O.DRAFT)),
    _show(
        "CH",
        "Enterprise",
        "chronic",
        None,
        14,
        currency="CHF",
        ladder=True,
        terms=30,
        promises=("open_future", "open_past", "broken", "kept", "account"),
        orders=(O.ON_HOLD, O.FULFILLED, O.CANCELLED),
    ),
    _show("AT", "SMB", "chronic", S.ACTIVE, 8, card=SourceStatus.VALID, scripts=("timeout",)),
    _show("US", "SMB", "chronic", S.ACTIVE, 8, card=SourceStatus.VALID, scripts=("in_progress",)),
    _show("IE", "Public Sector", "late", S.ACTIVE, 6),
)
"""The first customers are these, so even a small demo shows every state the product
knows: every ageing bucket, subscription, attempt, promise and dispute status, valid,
expiring, expired and invalid cards, a zero- and a three-decimal currency."""

SUBSCRIPTION_WEIGHTS = (
    (S.ACTIVE, 62),
    (S.NON_RENEWING, 6),
    (S.PAUSED, 5),
    (S.CANCELLED, 15),
    (S.IN_TRIAL, 7),
    (S.FUTURE, 5),
)
AUTO_PERCENT = (("Enterprise", 5), ("Mid-Market", 35), ("SMB", 75), ("Public Sector", 0))
"""Share of each segment on auto collection."""
CARD_STATES = (
    (SourceStatus.VALID, 76),
    (SourceStatus.EXPIRING, 9),
    (SourceStatus.EXPIRED, 9),
    (SourceStatus.INVALID, 6),
)
AUTO_TERMS = ((0, 6), (15, 2), (30, 2))


def persona(rng: Random, overrides: dict[str, Any] | None = None) -> Persona:
    """A random persona; ``overrides`` (a :data:`SHOWCASE` entry) fix some traits."""
    o = overrides or {}
    if "country" in o:
        country = next(c for c in cat.COUNTRIES if c.code == o["country"])
    else:
        country = pick(rng, [(c, c.weight) for c in cat.COUNTRIES])
    city = rng.choice(country.cities)
    language, locale = country.languages[0]
    if city.language:
        language, locale = next(lang for lang in country.languages if lang[0] == city.language)
    elif len(country.languages) > 1 and chance(rng, 35):
        language, locale = country.languages[1]
    segment = o.get("segment") or pick(rng, cat.SEGMENTS)
    auto = o["auto"] if "auto" in o else chance(rng, dict(AUTO_PERCENT)[segment])
    source, status = _source(rng, segment, auto)
    if "subscription" in o:
        sub = o["subscription"]
    else:
        sub = None if chance(rng, 10) else pick(rng, SUBSCRIPTION_WEIGHTS)
    months = 0 if sub in (S.IN_TRIAL, S.FUTURE) else rng.randint(1, MAX_TENURE_MONTHS)
    terms = pick(rng, AUTO_TERMS if auto else dict(cat.NET_TERMS)[segment])
    p = Persona(
        country=country,
        city=city,
        currency=pick(rng, country.currencies),
        language=language,
        locale=locale,
        segment=segment,
        group=pick(rng, cat.GROUPS),
        profile=pick(rng, cat.PROFILES),
        terms=terms,
        auto=auto,
        source=source,
        source_status=status,
        subscription=sub,
        months=months,
    )
    return dataclasses.replace(p, **{k: v for k, v in o.items() if k != "country"})


def _source(rng: Random, segment: str, auto: bool) -> tuple[SourceKind | None, SourceStatus]:
    """The primary payment source: always one under auto collection, sometimes a bank
    account on file otherwise."""
    if not auto:
        return (SourceKind.BANK_ACCOUNT if chance(rng, 20) else None), SourceStatus.VALID
    if chance(rng, 80 if segment == "SMB" else 50):
        return SourceKind.CARD, pick(rng, CARD_STATES)
    return SourceKind.BANK_ACCOUNT, pick(rng, ((SourceStatus.VALID, 9), (SourceStatus.INVALID, 1)))
