"""One demo customer's account: the customer row, contacts, payment sources
(:mod:`arpolicy.ledger.demo_sources`), subscription and sales orders, and the
:class:`Context` every part of the generator writes into. The money side (documents,
payments, attempts, promises, disputes) is :mod:`arpolicy.ledger.demo_ledger`.

Rows are plain dicts holding the model's column names; a reference to another generated
row is ``<name>_ref``, the index of that row in its :class:`~arpolicy.ledger.demo.DemoData`
list, which :func:`arpolicy.ledger.demo.write` swaps for the database id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from random import Random
from typing import TYPE_CHECKING, Any

from arpolicy.kit.fx import RateTable
from arpolicy.kit.money import Money, exponent, round_amount
from arpolicy.ledger import demo_data as cat
from arpolicy.ledger.demo_personas import (
    SHOWCASE,
    Persona,
    Row,
    add_months,
    ascii_slug,
    chance,
    persona,
    pick,
)
from arpolicy.ledger.demo_sources import add_sources
from arpolicy.models import OrderStatus, SubscriptionStatus

if TYPE_CHECKING:
    from arpolicy.ledger.demo import DemoData

S = SubscriptionStatus
ORDER_STATES = (
    (OrderStatus.DRAFT, 2),
    (OrderStatus.SUBMITTED, 3),
    (OrderStatus.ON_HOLD, 2),
    (OrderStatus.APPROVED, 3),
    (OrderStatus.FULFILLED, 6),
    (OrderStatus.CANCELLED, 1),
)
EMPLOYEES = (
    ("Enterprise", (1000, 60000)),
    ("Mid-Market", (100, 1500)),
    ("SMB", (2, 120)),
    ("Public Sector", (200, 20000)),
)


@dataclass
class Context:
    """What every account needs: the output, the rates and the users to assign."""

    data: DemoData
    rates: RateTable
    today: date
    base: str
    collectors: dict[str, list[int]]
    sales: dict[str, list[int]]
    csm_emails: list[str]
    names: dict[str, int] = field(default_factory=dict)
    brands: list[tuple[int, str, str]] = field(default_factory=list)
    """(customer index, brand, country) of enterprise accounts that may own subsidiaries."""
    rate_cache: dict[tuple[str, date], tuple[Decimal, date | None]] = field(default_factory=dict)
    offline: int = 0
    """Customers given a way to pay without a card or bank account so far."""

    @property
    def base_exponent(self) -> int:
        return exponent(self.base)

    def rate(self, currency: str, on: date) -> tuple[Decimal, date | None]:
        """The rate :class:`RateTable` uses for ``currency`` to base on ``on``, and its date."""
        key = (currency, on)
        found = self.rate_cache.get(key)
        if found is None:
            r = self.rates.rate(currency, self.base, on)
            found = self.rate_cache[key] = (r.rate, r.valid_on)
        return found

    def convert(self, minor: int, currency: str, on: date) -> tuple[int, Decimal, date | None]:
        """(base minor units, rate, rate date): :meth:`RateTable.convert` on minor units."""
        rate, rate_on = self.rate(currency, on)
        return self.at_rate(minor, currency, rate), rate, rate_on

    def at_rate(self, minor: int, currency: str, rate: Decimal) -> int:
        """``minor`` converted at ``rate`` and rounded once, by the one rounding rule."""
        if currency == self.base:
            return minor
        amount = Decimal(minor).scaleb(-exponent(currency)) * rate
        return int(round_amount(amount, self.base).scaleb(self.base_exponent))


@dataclass
class Account:
    index: int
    rng: Random
    persona: Persona
    row: Row
    brand: str
    """The name the e-mail domain is made of."""
    seats: int = 1
    start_on: date | None = None
    """First day the customer was invoiced (or its subscription starts)."""
    subscription_ref: int | None = None
    stop_on: date | None = None
    """Invoicing stopped on this date (cancelled or paused)."""
    gateway: str | None = None
    """Gateway of the primary payment source (auto collection charges it)."""
    problem_on: date | None = None
    """From this date the primary payment source fails (expired or invalid)."""


def open_account(ctx: Context, index: int, rng: Random) -> Account:
    """The customer row, its contacts, payment sources and subscription."""
    p = persona(rng, SHOWCASE[index] if index < len(SHOWCASE) else None)
    row, brand = _customer(ctx, index, rng, p)
    acct = Account(index, rng, p, row, brand, seats=seats(rng, p.segment))
    acct.start_on = add_months(ctx.today, -p.months, day=rng.randint(1, 28))
    ctx.data.customers.append(acct.row)
    _contacts(ctx, acct)
    add_sources(ctx, acct)
    _subscription(ctx, acct)
    return acct


def _company_name(ctx: Context, rng: Random, p: Persona) -> tuple[str, str]:
    """(display name, brand in ASCII for the e-mail domain)."""
    c = p.country
    if c.code == "JP" and chance(rng, 50):
        (stem, stem_ja), (noun, noun_ja) = (
            rng.choice(cat.JAPANESE_NAMES),
            rng.choice(cat.JAPANESE_NOUNS),
        )
        name, brand = f"株式会社{stem_ja}{noun_ja}", f"{stem} {noun}"
    else:
        brand = f"{rng.choice(c.stems)} {rng.choice(c.nouns)}"
        name = f"{brand} {rng.choice(c.suffixes)}"
    seen = ctx.names.get(name, 0)
    ctx.names[name] = seen + 1
    if seen:
        name = f"{name} ({p.city.name})" if seen == 1 else f"{name} ({p.city.name} {seen})"
    return name, brand


def _customer(ctx: Context, index: int, rng: Random, p: Persona) -> tuple[Row, str]:
    name, brand = _company_name(ctx, rng, p)
    parent_ref = None
    subsidiary = index == len(SHOWCASE) or chance(rng, 5)
    if index >= len(SHOWCASE) and ctx.brands and subsidiary:
        parent_ref, parent_brand, _ = rng.choice(ctx.brands)
        brand = parent_brand
        name = f"{parent_brand} {p.country.code} {rng.choice(p.country.suffixes)}"
    elif p.segment == "Enterprise":
        ctx.brands.append((index, brand, p.country.code))
    team = "France" if p.language == "fr" else p.country.team
    collectors = ctx.collectors[team]
    employees = dict(EMPLOYEES)[p.segment]
    tier = {"Public Sector": "Enterprise"}.get(p.segment, p.segment)
    custom: dict[str, Any] = {
        "tier": tier,
        "strategic": p.segment == "Enterprise" and chance(rng, 40),
        "employees": str(rng.randint(*employees)),
    }
    if p.segment != "SMB":
        custom["client_csm"] = rng.choice(ctx.csm_emails)
    street = p.country.street_format.format(
        n=rng.randint(1, 240),
        street=rng.choice(p.country.streets),
        m=rng.randint(1, 9),
        k=rng.randint(1, 30),
    )
    row: Row = {
        "external_id": f"C{index + 1:05d}",
        "name": name,
        "country": p.country.code,
        "language": p.language,
        "currency": p.currency,
        "locale": p.locale,
        "region": p.country.region,
        "timezone": p.city.timezone,
        "segment": p.segment,
        "customer_group": p.group,
        "parent_ref": parent_ref,
        "finance_owner_ref": collectors[index % len(collectors)],
        "sales_owner_ref": rng.choice(ctx.sales[p.country.region]),
        "net_term_days": p.terms,
        "auto_collection": p.auto,
        "credit_check_exempt": p.segment == "Public Sector" or chance(rng, 3),
        "billing_address": {
            "line1": street,
            "line2": rng.choice(("", "", "", "Suite 200", "3rd Floor", "c/o Finance")) or None,
            "city": p.city.name,
            "state": p.city.state,
            "postal_code": p.city.postal_code,
            "country": p.country.code,
        },
        "custom_fields": custom,
        "reported_balance_minor": 0,
        "last_email_at": None,
        "last_reply_at": None,
    }
    return row, brand


def _person(rng: Random, language: str) -> tuple[str, str]:
    first = rng.choice(dict(cat.FIRST_NAMES)[language])
    last = rng.choice(dict(cat.LAST_NAMES)[language])
    return f"{first} {last}", f"{ascii_slug(first, '')}.{ascii_slug(last, '')}"


def _contacts(ctx: Context, acct: Account) -> None:
    rng, p = acct.rng, acct.persona
    domain = f"{ascii_slug(acct.brand)}.example"
    people = [_person(rng, p.language)]
    ap = next(a for a in cat.AP_NAMES if a[0] == p.language)
    if p.segment != "SMB" or chance(rng, 40):
        people.append((ap[1], ap[2]))
    if p.segment in ("Enterprise", "Public Sector"):
        people.append(_person(rng, "en" if chance(rng, 30) else p.language))
    billing = 1 if len(people) > 1 else 0
    for k, (name, local) in enumerate(people):
        email: str | None = f"{local}@{domain}"
        if (k == billing and chance(rng, 3)) or (k > 1 and chance(rng, 20)):
            email = None
        ctx.data.contacts.append(
            {
                "external_id": f"CT{len(ctx.data.contacts) + 1:07d}",
                "customer_ref": acct.index,
                "name": name,
                "email": email,
                "phone": _phone(rng, p.country.phone),
                "language": "en" if p.language != "en" and chance(rng, 8) else p.language,
                "is_billing": k == billing,
                "is_primary": k == 0,
                "bounced": email is not None and chance(rng, 3),
                "unsubscribed": email is not None and chance(rng, 1),
            }
        )


def _phone(rng: Random, pattern: str) -> str:
    return pattern.format(
        a3=rng.choice(("212", "312", "415", "512", "617", "303", "416", "604")),
        d2=f"{rng.randrange(100):02d}",
        d3=f"{rng.randrange(1000):03d}",
        d4=f"{rng.randrange(10000):04d}",
    )


def seat_price(currency: str) -> int:
    return dict(cat.SEAT_PRICE_MINOR)[currency]


def plan(segment: str) -> tuple[str, int]:
    """(plan name, months billed per invoice) of a segment."""
    return next((name, months) for s, name, months in cat.PLANS if s == segment)


def seats(rng: Random, segment: str) -> int:
    low, high = next((lo, hi) for s, lo, hi in cat.SEATS if s == segment)
    return rng.randint(low, high)


def _subscription(ctx: Context, acct: Account) -> None:
    rng, p, today = acct.rng, acct.persona, ctx.today
    if p.subscription is None:
        return
    start = acct.start_on or today
    trial_end = next_billing = cancelled = None
    if p.subscription == S.FUTURE:
        start = today + timedelta(days=rng.randint(3, 30))
        next_billing = start
    elif p.subscription == S.IN_TRIAL:
        start = today - timedelta(days=rng.randint(1, 13))
        trial_end = next_billing = start + timedelta(days=14)
    elif p.subscription == S.CANCELLED:
        span = max(21, (today - start).days // 2)
        cancelled = acct.stop_on = today - timedelta(days=rng.randint(20, span))
    elif p.subscription == S.PAUSED:
        acct.stop_on = today - timedelta(days=rng.randint(10, 75))
    elif p.subscription == S.NON_RENEWING:
        cancelled = add_months(today, rng.randint(1, 3), day=start.day)
    else:
        next_billing = add_months(today, 1, day=start.day)
    acct.row["custom_fields"]["renewal_date"] = add_months(
        start, 12 * ((today - start).days // 365 + 1)
    ).isoformat()
    acct.start_on = start
    mrr = acct.seats * seat_price(p.currency)
    acct.row["custom_fields"]["contract_value"] = Money.from_minor(mrr * 12, p.currency).to_json()
    acct.subscription_ref = len(ctx.data.subscriptions)
    ctx.data.subscriptions.append(
        {
            "external_id": f"SUB{len(ctx.data.subscriptions) + 1:07d}",
            "customer_ref": acct.index,
            "status": p.subscription,
            "plan": plan(p.segment)[0],
            "currency": p.currency,
            "mrr_minor": mrr,
            "started_on": start,
            "trial_end_on": trial_end,
            "next_billing_on": next_billing,
            "cancelled_on": cancelled,
        }
    )


def sales_orders(ctx: Context, acct: Account) -> None:
    rng, p = acct.rng, acct.persona
    statuses = list(p.orders)
    if not statuses and p.segment != "SMB" and chance(rng, 35):
        statuses = [pick(rng, ORDER_STATES) for _ in range(rng.randint(1, 3))]
    for status in statuses:
        ordered = ctx.today - timedelta(days=rng.randint(0, 120))
        ships = status not in (OrderStatus.DRAFT, OrderStatus.CANCELLED)
        ctx.data.sales_orders.append(
            {
                "external_id": f"SO-{len(ctx.data.sales_orders) + 1:06d}",
                "customer_ref": acct.index,
                "currency": p.currency,
                "amount_minor": seats(rng, p.segment) * seat_price(p.currency) * rng.randint(3, 12),
                "status": status,
                "ordered_on": ordered,
                "expected_ship_on": ordered + timedelta(days=rng.randint(7, 60)) if ships else None,
            }
        )
