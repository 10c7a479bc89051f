"""Bulk selection: the database selects exactly the invoices the Python evaluator matches,
on SQLite and PostgreSQL, for rules over invoice and customer fields (the other levels, the
figures and the random-rule properties are in test_selection_levels.py,
test_selection_property.py and test_selection_sql.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from arpolicy.exceptions import MissingRateError
from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import invoice_records, select_invoices
from arpolicy.models import DocumentType
from arpolicy.rules import bind, check, explain, parse, to_python
from tests.fixtures.factories import (
    create_customer,
    create_document,
    create_rate,
    create_tenant,
    create_user,
)

AS_OF = date(2026, 11, 23)
RULES = [
    "balance > 500 USD and due_date < 30 days ago and not disputed "
    "and currency includes (USD, EUR) and days_past_due >= 30",
    "days_past_due between 1 and 30",
    "days_past_due > 90 or customer.country includes (DE, AT)",
    "not (customer.country = DE)",
    "customer.country is empty",
    "paid",
    "not paid and converted_balance >= 1000 USD",
    "document_type includes (credit_note, debit_note)",
    'customer.finance_owner includes ("anna@example.com")',
    "due_date in the last 15 days",
    "document_date in current month or posting_date is empty",
    "balance between 100 EUR and 2000 EUR",
    "customer.last_email_at < 10 days ago",
    'location = "Berlin" or business_unit != "Retail"',
    "customer.outstanding > 1000 USD or customer.outstanding_local > 1000 EUR",
    "customer.overdue_local is empty and not has_p2p_date",
    "customer.ageing_over_120 > 0 USD and payment_attempts = 0",
]


@pytest.fixture
def ledger(session):
    t = create_tenant(session, base_currency="USD", timezone="Europe/Berlin")
    create_rate(session, t, "EUR", "USD", date(2025, 1, 1), "1.10")
    anna = create_user(session, t, email="anna@example.com")
    de = create_customer(
        session,
        t,
        country="DE",
        currency="EUR",
        finance_owner_id=anna.id,
        last_email_at=datetime(2026, 11, 1, 9, tzinfo=UTC),
    )
    us = create_customer(session, t, country="US")
    nowhere = create_customer(session, t, country=None)
    spec = [
        (de, "EUR", "1500.00", None, -40, False, DocumentType.INVOICE, "Berlin", None),
        (de, "EUR", "80.00", "0", -5, False, DocumentType.INVOICE, None, "Retail"),
        (us, "USD", "812.40", None, -206, False, DocumentType.INVOICE, None, "Online"),
        (us, "USD", "812.40", None, -206, True, DocumentType.INVOICE, None, None),
        (us, "USD", "2500.00", "1200.00", 0, False, DocumentType.DEBIT_NOTE, None, None),
        (nowhere, "USD", "300.00", None, -95, False, DocumentType.CREDIT_NOTE, "Berlin", "Retail"),
        (nowhere, "USD", "99.99", None, 12, False, DocumentType.INVOICE, None, None),
    ]
    for cust, ccy, amount, balance, due, disputed, kind, location, unit in spec:
        due_date = AS_OF + timedelta(days=due)
        create_document(
            session,
            t,
            cust,
            amount,
            balance=balance,
            currency=ccy,
            doc_type=kind,
            document_date=due_date - timedelta(days=30),
            due_date=due_date,
            disputed=disputed,
            location=location,
            business_unit=unit,
            posting_date=None if unit else due_date - timedelta(days=29),
        )
    return t


@pytest.mark.parametrize("text", RULES)
def test_database_and_python_agree(session, ledger, text):
    fields = catalogue_for("USD", ledger.ageing_bounds, []).level("invoice")
    fx = exchange(session, ledger)
    bound = bind(check(parse(text), fields), AS_OF, tz=ledger.timezone, exchange=fx)
    matches = to_python(bound, fields)
    records = dict(invoice_records(session, ledger, fields, AS_OF))
    expected = sorted(i for i, r in records.items() if matches(r))
    assert select_invoices(session, ledger, bound, fields) == expected


def test_headline_rule_selects_the_old_undisputed_invoices(session, ledger):
    fields = catalogue_for("USD", ledger.ageing_bounds, []).level("invoice")
    fx = exchange(session, ledger)
    bound = bind(check(parse(RULES[0]), fields), AS_OF, tz=ledger.timezone, exchange=fx)
    ids = select_invoices(session, ledger, bound, fields)
    records = dict(invoice_records(session, ledger, fields, AS_OF, ids))
    # the 1500 EUR invoice is as old and worth 1650 USD at the rate of the day
    assert [str(r["balance"]) for r in records.values()] == ["1500.00 EUR", "812.40 USD"]
    text = explain(bound, records[ids[1]], fields).text()
    assert "days_past_due 206 >= 30: yes" in text
    eur = explain(bound, records[ids[0]], fields).text()
    assert "balance 1500.00 EUR = 1650.00 USD at 1.10 on 2026-11-23 > 500.00 USD: yes" in eur
    assert bound.to_json()["rates"] == [
        {"from": "EUR", "to": "USD", "rate": "1.10", "valid_on": "2025-01-01"}
    ]


def test_a_currency_without_a_rate_on_the_day_is_an_error_in_sql_as_in_python(session):
    """The database cannot compare a GBP balance with 500 USD without a rate, and must not
    answer "no match" for it: it raises as the Python evaluator does, naming the pair."""
    t = create_tenant(session, base_currency="USD", timezone="UTC")
    create_rate(session, t, "EUR", "USD", date(2025, 1, 1), "1.10")
    create_rate(session, t, "GBP", "USD", date(2026, 12, 1), "1.27")  # after the as-of date
    c = create_customer(session, t)
    create_document(session, t, c, "900.00", currency="EUR", due_date=AS_OF)
    create_document(session, t, c, "900.00", currency="GBP", document_date=date(2026, 12, 2))
    fields = catalogue_for("USD", t.ageing_bounds, []).level("invoice")
    rule = check(parse("due_date <= today and balance > 500 USD"), fields)
    bound = bind(rule, AS_OF, exchange=exchange(session, t))
    gbp = [r for _, r in invoice_records(session, t, fields, AS_OF) if r["currency"] == "GBP"]
    what = r"no GBP/USD exchange rate on or before 2026-11-23 \(the first GBP/USD rate is dated"
    with pytest.raises(MissingRateError, match=what):
        to_python(bound, fields)(gbp[0] | {"due_date": AS_OF})
    with pytest.raises(MissingRateError, match=what) as err:
        select_invoices(session, t, bound, fields)
    assert err.value.where == "balance > 500 USD"
    # a zero needs no rate, so nothing stops this rule
    zero = bind(check(parse("balance > 0 USD"), fields), AS_OF, exchange=exchange(session, t))
    assert len(select_invoices(session, t, zero, fields)) == 2
