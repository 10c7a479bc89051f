"""Bulk selection at every level, by hand: a small ledger whose figures are worked out below,
and rules over every kind of field (customer figures, per-invoice figures, payment
profiles, custom fields), each selected by the database and by the Python evaluator.

Tenant in USD, Berlin time, as of 2026-11-23; 1 EUR = 1.10 USD.

- A (DE, EUR, finance owner anna, tier gold, credit limit 1000 EUR, score 2.5, since
  2026-10-01, vip): invoice A1 1000.00 EUR due 40 days ago, with an open dispute of 200.00
  EUR (so disputed, though the billing system did not flag it) and an open promise of
  300.00 EUR in 5 days; invoice A2 500.00 EUR due in 10 days, with two failed card
  attempts (the last 2 days ago, via "stripe", retry tomorrow); 100.00 EUR unallocated.
  Base open debits 1650.00 USD, overdue 1100.00 USD, outstanding 1540.00 USD; local
  outstanding 1400.00 EUR; reported 1300.00 EUR, so a mismatch of -100.00 EUR. Both
  invoices are dated within 90 days: credit sales 1650.00 USD, DSO 90.0; 2.00 attempts
  per attempted invoice. A valid card as primary source; an active subscription.
- B (US, USD): invoice B1 812.40 USD due 206 days ago (over 120), invoice B3 50.00 EUR due 5
  days ago (dated 35 days ago: credit sales 55.00 USD), a credit note B2 of 100.00 USD. It
  mixes currencies: no local figures. Open debits 867.40 USD; DSO 86740 x 90 / 5500 =
  1419.38 -> 1419.4 days. One attempt on B1, one on no invoice: 1.00 per attempted invoice.
- C: no country, no currency, nothing open; no attempts, no DSO.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select as sa_select

from arpolicy.exceptions import ValidationError
from arpolicy.kit.money import Money
from arpolicy.ledger.documents import open_documents
from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import (
    customer_records,
    invoice_records,
    level_source,
    payment_profile_records,
    records,
    select,
    select_customers,
    select_invoices,
)
from arpolicy.models import (
    AttemptStatus,
    Document,
    DocumentType,
    DunningStatus,
    PaymentMethod,
    PaymentSource,
    SourceKind,
    SourceRole,
    SourceStatus,
    Subscription,
    SubscriptionStatus,
)
from arpolicy.rules import Level, bind, check, explain, parse, to_python
from arpolicy.rules.to_sql import plan_of, to_sql, used_columns
from tests.fixtures.factories import (
    create_attempt,
    create_customer,
    create_dispute,
    create_document,
    create_payment,
    create_promise,
    create_rate,
    create_tenant,
    create_user,
)
from tests.ledger.selection_data import CUSTOM

AS_OF = date(2026, 11, 23)
CATALOGUE = catalogue_for("USD", [30, 60, 90, 120], CUSTOM)


def day(offset: int) -> date:
    return AS_OF + timedelta(days=offset)


@pytest.fixture
def ledger(session):
    t = create_tenant(session, base_currency="USD", timezone="Europe/Berlin")
    create_rate(session, t, "EUR", "USD", date(2025, 1, 1), "1.10")
    anna = create_user(session, t, email="anna@example.com")
    cf = {
        "tier": "gold",
        "credit_limit": {"amount": "1000.00", "currency": "EUR"},
        "score": "2.5",
        "since": "2026-10-01",
        "vip": True,
    }
    a = create_customer(
        session,
        t,
        external_id="A",
        country="DE",
        currency="EUR",
        finance_owner_id=anna.id,
        custom_fields=cf,
        auto_collection=True,
        reported_balance_minor=130000,
    )
    b = create_customer(session, t, external_id="B", country="US", currency="USD")
    c = create_customer(session, t, external_id="C", country=None, currency=None)
    docs = {}
    for number, cust, amount, ccy, due, kind, po in [
        ("A1", a, "1000.00", "EUR", -40, DocumentType.INVOICE, "PO-1"),
        ("A2", a, "500.00", "EUR", 10, DocumentType.INVOICE, None),
        ("B1", b, "812.40", "USD", -206, DocumentType.INVOICE, None),
        ("B2", b, "100.00", "USD", -5, DocumentType.CREDIT_NOTE, None),
        ("B3", b, "50.00", "EUR", -5, DocumentType.INVOICE, "PO-2"),
    ]:
        docs[number] = create_document(
            session,
            t,
            cust,
            amount,
            currency=ccy,
            doc_type=kind,
            number=number,
            document_date=day(due - 30),
            due_date=day(due),
            custom_fields={"po_number": po} if po else {},
        )
    create_dispute(session, t, a, "200.00", document=docs["A1"])
    create_promise(session, t, a, "300.00", day(5), document=docs["A1"])
    create_payment(session, t, a, "100.00")
    at = datetime(2026, 11, 21, 10, tzinfo=UTC)
    for hours in (-24, 0):
        create_attempt(
            session,
            t,
            a,
            document=docs["A2"],
            amount="500.00",
            attempted_at=at + timedelta(hours=hours),
            method=PaymentMethod.CARD,
            gateway="stripe",
            failure_reason="card_declined",
            dunning_status=DunningStatus.IN_PROGRESS,
            next_retry_at=at + timedelta(days=3),
        )
    create_attempt(session, t, b, document=docs["B1"], status=AttemptStatus.SUCCESS)
    create_attempt(session, t, b, attempted_at=at)
    session.add_all(
        [
            PaymentSource(
                tenant_id=t.id,
                external_id="S1",
                customer_id=a.id,
                kind=SourceKind.CARD,
                status=SourceStatus.VALID,
                role=SourceRole.PRIMARY,
            ),
            Subscription(
                tenant_id=t.id,
                external_id="SUB1",
                customer_id=a.id,
                status=SubscriptionStatus.ACTIVE,
            ),
        ]
    )
    session.flush()
    customers = {"A": a.id, "B": b.id, "C": c.id}
    return t, {"customer": customers, "invoice": {n: d.id for n, d in docs.items()}}


def names(ids: dict[str, dict[str, int]], level: str, selected: list[int]) -> list[str]:
    by_id = {v: k for k, v in ids["invoice" if level == "invoice" else "customer"].items()}
    return [by_id[i] for i in selected]


def run(session, t, ids, level: str, text: str) -> list[str]:
    """The names the database selects, after checking the Python evaluator agrees."""
    fields = CATALOGUE.level(level)
    fx = exchange(session, t)  # money literals compare across currencies at its rates
    bound = bind(check(parse(text), fields), AS_OF, tz=t.timezone, exchange=fx)
    matches = to_python(bound, fields)
    expected = [i for i, r in records(session, t, fields, AS_OF) if matches(r)]
    got = select(session, t, bound, fields)
    assert got == expected, text
    return names(ids, level, got)


CUSTOMER_RULES = [
    ("outstanding > 1000 USD", ["A"]),
    ("outstanding = 0 USD", ["C"]),
    ("outstanding_local > 1000 EUR", ["A"]),
    ("outstanding_local is empty", ["B", "C"]),
    ("overdue = 1100 USD and net_overdue = 1100 USD", ["A"]),
    ("ageing_over_120 > 0 USD or unutilised_credit > 0 USD", ["B"]),
    ("open_issue_amount_local = 200 EUR and open_p2p_amount = 330 USD", ["A"]),
    ("unaccounted_payment_local = 100 EUR", ["A"]),
    ("outstanding_mismatch < 0 EUR", ["A"]),
    ("next_p2p_date in the next 7 days", ["A"]),
    ("next_p2p_date is empty", ["B", "C"]),
    ("not (country = DE)", ["B"]),
    ('finance_owner includes ("anna@example.com")', ["A"]),
    ("currency is empty", ["C"]),
    (
        "cf.tier = gold and cf.credit_limit >= 1000 EUR and cf.since < 2026-11-01 "
        "and cf.vip and cf.score between 2 and 3",
        ["A"],
    ),
    ("cf.credit_limit > 1000 EUR", []),
    ("not (cf.credit_limit > 1000 EUR)", ["A"]),  # missing for B and C: unknown
    ("cf.score is empty", ["B", "C"]),
    # money in another currency at 1 EUR = 1.10 USD: 1400 EUR is 1540 USD, 1000 EUR 1100 USD
    ("outstanding_local > 1539.99 USD and cf.credit_limit >= 1100 USD", ["A"]),
    ("outstanding_local > 1540 USD or cf.credit_limit > 1100 USD", []),
]
PAYMENT_RULES = [
    ("monthly_dso = 90", ["A"]),
    ("monthly_dso > 1419.35 and monthly_dso < 1419.45", ["B"]),
    ("monthly_dso = 1419.38", []),  # between two tenths: never equal
    ("monthly_dso != 1419.38", ["A", "B"]),  # and never unequal to a missing DSO
    ("average_payment_attempts >= 2", ["A"]),
    ("average_payment_attempts between 0.995 and 1.004", ["B"]),
    ("payment_attempts = 0 and average_payment_attempts is empty", ["C"]),
    ("last_attempt_status = failure", ["A", "B"]),
    ("last_attempt_status = failure and dunning_status = in_progress", ["A"]),
    ('last_attempt_gateway = "stripe" and last_attempt_error = "card_declined"', ["A"]),
    ("last_attempt_amount > 400 EUR", ["A"]),
    ("last_attempt_at in the last 3 days and next_retry_at = in 1 days", ["A"]),
    ("primary_payment_method = card and payment_source_status = valid", ["A"]),
    ("backup_payment_method is empty", ["A", "B", "C"]),
    ("subscription_status = active", ["A"]),
    ("payment_risk is empty", ["A", "B", "C"]),
    ("auto_collection and customer.outstanding > 1000 USD", ["A"]),
    ("net_term_days is empty and customer.country includes (US)", ["B"]),
]
INVOICE_RULES = [
    ("open_issue_amount > 100 EUR", ["A1"]),
    ("open_p2p_amount = 300 EUR and has_p2p_date and p2p_date = in 5 days", ["A1"]),
    ("not has_p2p_date", ["A2", "B1", "B2", "B3"]),
    ("payment_attempts >= 2", ["A2"]),
    ("customer.outstanding > 1000 USD and days_past_due > 0", ["A1"]),
    ("customer.outstanding_local is empty", ["B1", "B2", "B3"]),
    ("customer.ageing_over_120 > 800 USD and currency = EUR", ["B3"]),
    ("customer.cf.tier = gold", ["A1", "A2"]),
    ('cf.po_number includes ("PO-1", "PO-2")', ["A1", "B3"]),
    ("customer.next_p2p_date is not empty and not disputed", ["A2"]),  # A1: open dispute
    ("disputed", ["A1"]),
    ('customer.finance_owner = "anna@example.com" and balance > 600 EUR', ["A1"]),
    ("balance >= 550 USD", ["A1", "A2", "B1"]),  # A2: 500.00 EUR is exactly 550.00 USD
    ("balance > 550 USD", ["A1", "B1"]),
]


@pytest.mark.parametrize(
    ("level", "rules"),
    [("customer", CUSTOMER_RULES), ("payment", PAYMENT_RULES), ("invoice", INVOICE_RULES)],
)
def test_rules_select_the_worked_records(session, ledger, level, rules):
    wrong = [
        (text, got, want)
        for text, want in rules
        if (got := run(session, *ledger, level, text)) != want
    ]
    assert not wrong, "\n".join(f"{t}: got {g}, want {w}" for t, g, w in wrong)


def test_records_hold_the_worked_figures(session, ledger):
    t, ids = ledger
    cust = dict(customer_records(session, t, CATALOGUE.level("customer"), AS_OF))
    a, b = cust[ids["customer"]["A"]], cust[ids["customer"]["B"]]
    assert a["outstanding"] == Money.parse("1540.00", "USD")
    assert a["outstanding_local"] == Money.parse("1400.00", "EUR")
    assert a["outstanding_mismatch"] == Money.parse("-100.00", "EUR")
    assert a["ageing_31_60"] == Money.parse("1100.00", "USD")
    assert a["cf.credit_limit"] == Money.parse("1000", "EUR") and a["cf.vip"] is True
    assert a["cf.since"] == date(2026, 10, 1) and a["cf.score"] == Decimal("2.5")
    assert b["overdue_local"] is None and b["open_debits"] == Money.parse("867.40", "USD")
    pay = dict(payment_profile_records(session, t, CATALOGUE.level("payment"), AS_OF))
    assert pay[ids["customer"]["A"]]["monthly_dso"] == Decimal("90.0")
    assert pay[ids["customer"]["B"]]["monthly_dso"] == Decimal("1419.4")
    assert pay[ids["customer"]["A"]]["average_payment_attempts"] == Decimal("2.00")
    assert pay[ids["customer"]["C"]]["monthly_dso"] is None
    assert pay[ids["customer"]["A"]]["last_attempt_at"] == datetime(2026, 11, 21, 10, tzinfo=UTC)
    assert pay[ids["customer"]["B"]]["last_attempt_status"] == "failure"  # the later of its two
    assert pay[ids["customer"]["A"]]["customer.cf.tier"] == "gold"


def test_invoice_figures_agree_with_the_open_documents(session, ledger):
    t, ids = ledger
    recs = dict(invoice_records(session, t, CATALOGUE.level("invoice"), AS_OF))
    for cust in ("A", "B"):
        for d in open_documents(session, t, ids["customer"][cust], AS_OF):
            r = recs[d.id]
            assert (r["open_issue_amount"], r["open_p2p_amount"]) == (d.open_issue, d.open_p2p)
            assert (r["p2p_date"], r["has_p2p_date"]) == (d.p2p_date, d.has_p2p_date)
            assert r["payment_attempts"] == d.payment_attempts
            assert r["days_past_due"] == d.days_past_due
            assert r["disputed"] == d.disputed == (d.number == "A1")


def test_explain_reads_the_same_records(session, ledger):
    t, ids = ledger
    fields = CATALOGUE.level("payment")
    bound = bind(
        check(parse("monthly_dso > 1000 and customer.outstanding_local is empty"), fields),
        AS_OF,
        tz=t.timezone,
    )
    ((_, rec),) = payment_profile_records(session, t, fields, AS_OF, [ids["customer"]["B"]])
    text = explain(bound, rec, fields).text()
    assert "monthly_dso 1419.4 > 1000: yes" in text, text


def compiled(session, t, level: str, text: str) -> str:
    fields = CATALOGUE.level(level)
    bound = bind(check(parse(text), fields), AS_OF, tz=t.timezone)
    src = level_source(t, Level(level), AS_OF)
    columns = src.columns(used_columns(plan_of(bound, fields)))
    stmt = sa_select(src.key).select_from(src.joins.clause).where(to_sql(bound, fields, columns))
    return str(stmt.compile(session.get_bind()))


def test_only_what_a_rule_reads_is_joined(session, ledger):
    t, _ = ledger
    own = compiled(session, t, "invoice", "balance > 10 USD and days_past_due > 30")
    assert "JOIN" not in own and "FROM documents" in own
    overdue = compiled(session, t, "invoice", "customer.overdue > 0 USD")
    assert "f_documents" in overdue and "f_open_issue" not in overdue
    assert "f_unaccounted_payment" not in overdue
    assert "f_last_attempt" in compiled(session, t, "payment", "last_attempt_at < today")
    assert "JOIN" not in compiled(session, t, "customer", "country = DE and cf.vip")


def test_a_field_set_of_another_level_is_refused(session, ledger):
    t, _ = ledger
    fields = CATALOGUE.level("invoice")
    bound = bind(check(parse("paid"), fields), AS_OF, tz="UTC")
    with pytest.raises(ValidationError, match="invoice-level fields"):
        select_customers(session, t, bound, fields)


def test_select_invoices_and_records_by_id(session, ledger):
    t, ids = ledger
    fields = CATALOGUE.level("invoice")
    bound = bind(check(parse("customer.outstanding > 1000 USD"), fields), AS_OF, tz="UTC")
    got = select_invoices(session, t, bound, fields)
    assert names(ids, "invoice", got) == ["A1", "A2"]
    recs = dict(invoice_records(session, t, fields, AS_OF, [ids["invoice"]["A2"]]))
    assert list(recs) == [ids["invoice"]["A2"]]
    assert recs[ids["invoice"]["A2"]]["customer.outstanding"] == Money.parse("1540.00", "USD")
    numbers = session.scalars(sa_select(Document.number).where(Document.id.in_(got))).all()
    assert sorted(numbers) == ["A1", "A2"]
