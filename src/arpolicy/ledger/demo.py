"""``arpolicy demo``: a realistic, deterministic demo tenant.

:func:`generate` is pure: ``(customers, seed, today, base currency)`` in, plain rows for
every ledger table out (:class:`DemoData`), byte-identical for the same arguments; it reads
no clock and iterates no set. :func:`write` creates the tenant and bulk-inserts the rows
with SQLAlchemy Core in chunks, swapping each ``<name>_ref`` (an index into another list)
for the id the database gave that row.

The first 12 customers are a fixed showcase (:data:`demo_personas.SHOWCASE`), so every
state the product knows appears in any demo of 12 customers or more; the rest are drawn
at random from the catalogues. Each customer draws from its own random stream, so customer
*k*'s row is the same whatever the number of customers asked for.

The parts: :mod:`~arpolicy.ledger.demo_data` (static catalogues), ``demo_personas`` (who
a customer is, the showcase, shared helpers), ``demo_accounts`` (customer, contacts,
payment sources, subscription, orders), ``demo_ledger`` (one account's money side, in
order: ``demo_invoices`` for invoices and late fees, ``demo_adjustments`` for voids,
disputes and credit notes, ``demo_payments`` for payments and allocations) and
``demo_collection`` (when documents get paid, card charges and their attempts, promises to
pay).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Context as DecimalContext
from decimal import Decimal, localcontext
from random import Random

from arpolicy.exceptions import ValidationError
from arpolicy.kit.fx import RateTable
from arpolicy.ledger import demo_data as cat
from arpolicy.ledger.demo_accounts import Context, open_account, sales_orders
from arpolicy.ledger.demo_ledger import book
from arpolicy.ledger.demo_personas import MAX_TENURE_MONTHS, Row, add_months, ascii_slug
from arpolicy.ledger.demo_write import DEMO_LOCALE as DEMO_LOCALE
from arpolicy.ledger.demo_write import DEMO_NAME as DEMO_NAME
from arpolicy.ledger.demo_write import DEMO_TIMEZONE as DEMO_TIMEZONE
from arpolicy.ledger.demo_write import TABLES as TABLES
from arpolicy.ledger.demo_write import write as write
from arpolicy.models import FieldEntity, FieldType, UserRole

DEMO_SLUG = "demo"
RATE_MONTHS = MAX_TENURE_MONTHS + 3
"""Monthly rates start this many months before today: before the oldest document."""


@dataclass
class DemoData:
    """Rows for every ledger table, in insertion order. ``<name>_ref`` keys hold the index
    of the referenced row in its own list (``customer_ref`` indexes ``customers``)."""

    seed: int
    today: date
    base_currency: str
    users: list[Row] = field(default_factory=list)
    custom_fields: list[Row] = field(default_factory=list)
    fx_rates: list[Row] = field(default_factory=list)
    customers: list[Row] = field(default_factory=list)
    contacts: list[Row] = field(default_factory=list)
    payment_sources: list[Row] = field(default_factory=list)
    subscriptions: list[Row] = field(default_factory=list)
    documents: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)
    allocations: list[Row] = field(default_factory=list)
    payment_attempts: list[Row] = field(default_factory=list)
    promises: list[Row] = field(default_factory=list)
    disputes: list[Row] = field(default_factory=list)
    sales_orders: list[Row] = field(default_factory=list)

    def tables(self) -> Iterator[tuple[str, list[Row]]]:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                yield f.name, value

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.tables()}


def generate(n_customers: int, seed: int, today: date, base_currency: str = "USD") -> DemoData:
    """Everything a demo tenant holds, as plain rows; the same arguments give the same rows.

    ``today`` is the demo's "now": due dates age relative to it, rates run up to its month,
    cards expire around it, promises fall due after it."""
    if n_customers < 0:
        raise ValidationError(
            f"cannot make a demo with {n_customers} customers", fix="ask for 0 or more"
        )
    anchors = dict(cat.USD_ANCHORS)
    if base_currency not in anchors:
        raise ValidationError(
            f"the demo has no exchange rates for {base_currency}",
            fix=f"use one of {', '.join(sorted(anchors))} as the base currency",
        )
    data = DemoData(seed=seed, today=today, base_currency=base_currency)
    data.fx_rates = fx_rates(seed, today, base_currency)
    rates = RateTable(
        (r["from_currency"], r["to_currency"], r["valid_on"], r["rate"]) for r in data.fx_rates
    )
    data.custom_fields = custom_field_definitions()
    collectors, sales, csm = _users(data, Random(f"arpolicy-demo/{seed}/users"))
    ctx = Context(data, rates, today, base_currency, collectors, sales, csm)
    for index in range(n_customers):
        acct = open_account(ctx, index, Random(f"arpolicy-demo/{seed}/customer/{index}"))
        book(ctx, acct)
        sales_orders(ctx, acct)
    _number_documents(data)
    return data


def _walk(rng: Random, anchor: Decimal, step_bps: int, months: int) -> list[Decimal]:
    """A mean-reverting monthly random walk, six significant digits, no floats."""
    values, value = [], anchor
    with localcontext(DecimalContext(prec=6)):
        for _ in range(months):
            values.append(+value)
            deviation = int((value / anchor - 1) * 10000)
            step = rng.randint(-step_bps, step_bps) - deviation // 6
            value = value * (10000 + step) / 10000
    return values


def fx_rates(seed: int, today: date, base: str) -> list[Row]:
    """Monthly rates (first of each month, up to today) from every demo currency to
    ``base``: 1 ``from_currency`` = ``rate`` ``base``."""
    rng = Random(f"arpolicy-demo/{seed}/fx")
    first = add_months(today, -RATE_MONTHS, day=1)
    months = (today.year - first.year) * 12 + today.month - first.month + 1
    steps = dict(cat.STEP_BPS)
    usd = {
        cur: _walk(rng, Decimal(anchor), steps.get(cur, cat.DEFAULT_STEP_BPS), months)
        for cur, anchor in cat.USD_ANCHORS
    }
    rows = []
    for cur, _ in cat.USD_ANCHORS:
        if cur == base:
            continue
        for k in range(months):
            with localcontext(DecimalContext(prec=6)):
                rate = usd[cur][k] / usd[base][k]
            rows.append(
                {
                    "from_currency": cur,
                    "to_currency": base,
                    "valid_on": add_months(first, k, day=1),
                    "rate": rate,
                    "source": "demo",
                }
            )
    return rows


def custom_field_definitions() -> list[Row]:
    c, d = FieldEntity.CUSTOMER, FieldEntity.DOCUMENT
    specs: list[tuple[FieldEntity, str, str, FieldType, list[str] | None]] = [
        (c, "tier", "Tier", FieldType.ENUM, ["Enterprise", "Mid-Market", "SMB"]),
        (c, "client_csm", "Customer success manager", FieldType.STRING, None),
        (c, "contract_value", "Annual contract value", FieldType.MONEY, None),
        (c, "renewal_date", "Renewal date", FieldType.DATE, None),
        (c, "strategic", "Strategic account", FieldType.BOOLEAN, None),
        (c, "employees", "Employees", FieldType.NUMBER, None),
        (d, "po_number", "PO number", FieldType.STRING, None),
        (d, "project", "Project", FieldType.ENUM, list(cat.PROJECTS)),
    ]
    return [
        {
            "entity": e,
            "key": k,
            "label": label,
            "type": t,
            "options": o,
            "currency": None,
            "required": k == "tier",
        }
        for e, k, label, t, o in specs
    ]


def _users(
    data: DemoData, rng: Random
) -> tuple[dict[str, list[int]], dict[str, list[int]], list[str]]:
    """The merchant's people: a finance manager over team leads over collectors, sales
    reps under a director, customer success managers and agents."""
    emails: dict[str, int] = {}

    def add(
        role: UserRole, team: str | None, language: str, manager: int | None, active: bool = True
    ) -> int:
        first = rng.choice(dict(cat.FIRST_NAMES)[language])
        last = rng.choice(dict(cat.LAST_NAMES)[language])
        local = f"{ascii_slug(first, '')}.{ascii_slug(last, '')}"
        emails[local] = emails.get(local, 0) + 1
        if emails[local] > 1:
            local = f"{local}{emails[local]}"
        data.users.append(
            {
                "email": f"{local}@{cat.DEMO_DOMAIN}",
                "name": f"{first} {last}",
                "role": role,
                "team": team,
                "language": language,
                "active": active,
                "manager_ref": manager,
            }
        )
        return len(data.users) - 1

    add(UserRole.ADMIN, None, "en", None)
    head = add(UserRole.FINANCE_MANAGER, "Finance", "en", None)
    collectors: dict[str, list[int]] = {}
    for team, language, size in cat.COLLECTION_TEAMS:
        lead = add(UserRole.SUPERVISOR, team, language, head)
        collectors[team] = [add(UserRole.COLLECTOR, team, language, lead) for _ in range(size)]
    add(UserRole.COLLECTOR, "Americas", "en", head, active=False)
    for _ in range(2):
        add(UserRole.AGENT, "Collections Desk", "en", head)
    director = add(UserRole.SALES, "Sales", "en", None)
    sales = {
        region: [add(UserRole.SALES, region, "en", director) for _ in range(size)]
        for region, size in cat.SALES_REGIONS
    }
    csm = [
        data.users[add(UserRole.CUSTOMER_SUCCESS, "Customer Success", "en", head)]["email"]
        for _ in range(3)
    ]
    return collectors, sales, csm


def _number_documents(data: DemoData) -> None:
    """Numbers follow issue dates per type and year, as a billing system's would."""
    prefixes = {"invoice": "INV", "debit_note": "DN", "credit_note": "CN"}
    order = sorted(
        range(len(data.documents)), key=lambda i: (data.documents[i]["document_date"], i)
    )
    counters: dict[tuple[str, int], int] = {}
    for i in order:
        row = data.documents[i]
        key = (prefixes[row["doc_type"]], row["document_date"].year)
        counters[key] = counters.get(key, 0) + 1
        row["number"] = f"{key[0]}-{key[1]}-{counters[key]:06d}"
