"""AR figures on hand-checked examples, on SQLite and PostgreSQL (docs/figures.md walks
through the same numbers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arpolicy.kit.money import Money
from arpolicy.ledger.figures import bucket_labels, customer_figures, tenant_figures
from arpolicy.models import AttemptStatus, DisputeStatus, DocumentType, PromiseStatus
from tests.fixtures.factories import (
    create_attempt,
    create_customer,
    create_dispute,
    create_document,
    create_payment,
    create_promise,
    create_rate,
    create_tenant,
)

AS_OF = date(2026, 6, 30)
USD = "USD"


def usd(amount: str) -> Money:
    return Money.parse(amount, USD)


@pytest.fixture
def ledger(session):
    t = create_tenant(session, base_currency="USD")
    create_rate(session, t, "EUR", "USD", date(2026, 1, 1), "1.10")
    create_rate(session, t, "EUR", "USD", date(2026, 6, 1), "1.20")

    a = create_customer(session, t, external_id="A", currency="USD", reported_balance_minor=150000)
    inv1 = create_document(
        session, t, a, "1000.00", document_date=date(2026, 6, 1), due_date=date(2026, 6, 30)
    )
    inv2 = create_document(
        session,
        t,
        a,
        "500.00",
        balance="200.00",
        document_date=date(2026, 5, 30),
        due_date=date(2026, 6, 29),
    )
    inv3 = create_document(
        session, t, a, "300.00", document_date=date(2026, 5, 1), due_date=date(2026, 5, 31)
    )
    create_document(
        session, t, a, "250.00", document_date=date(2026, 4, 30), due_date=date(2026, 5, 30)
    )
    create_document(
        session,
        t,
        a,
        "50.00",
        doc_type=DocumentType.DEBIT_NOTE,
        document_date=date(2026, 1, 29),
        due_date=date(2026, 2, 28),
    )
    create_document(
        session,
        t,
        a,
        "400.00",
        balance="0",
        document_date=date(2026, 6, 10),
        due_date=date(2026, 7, 10),
    )
    create_document(
        session,
        t,
        a,
        "700.00",
        voided=True,
        document_date=date(2026, 6, 10),
        due_date=date(2026, 6, 1),
    )
    create_document(
        session,
        t,
        a,
        "120.00",
        balance="80.00",
        doc_type=DocumentType.CREDIT_NOTE,
        document_date=date(2026, 6, 2),
        due_date=date(2026, 6, 2),
    )
    create_payment(session, t, a, "600.00", allocations={inv2: "300.00"})
    create_dispute(session, t, a, "200.00", document=inv2)
    create_dispute(session, t, a, "999.00", status=DisputeStatus.RESOLVED)
    create_promise(session, t, a, "150.00", date(2026, 7, 5))
    create_promise(session, t, a, "70.00", date(2026, 6, 20))
    create_promise(session, t, a, "60.00", date(2026, 7, 1), status=PromiseStatus.KEPT)
    for _ in range(3):
        create_attempt(session, t, a, document=inv2)
    create_attempt(session, t, a, document=inv3, status=AttemptStatus.SUCCESS)
    create_attempt(session, t, a)

    b = create_customer(session, t, external_id="B", currency="EUR")
    create_document(
        session,
        t,
        b,
        "100.00",
        currency="EUR",
        document_date=date(2026, 3, 1),
        due_date=date(2026, 4, 1),
    )
    create_document(
        session,
        t,
        b,
        "33.33",
        currency="EUR",
        document_date=date(2026, 6, 15),
        due_date=date(2026, 7, 15),
    )

    c = create_customer(session, t, external_id="C", currency="USD")
    create_document(
        session, t, c, "10.00", document_date=date(2026, 6, 1), due_date=date(2026, 6, 1)
    )
    create_document(
        session,
        t,
        c,
        "10.00",
        currency="EUR",
        document_date=date(2026, 6, 1),
        due_date=date(2026, 6, 1),
    )

    d = create_customer(session, t, external_id="D", currency="GBP")
    return t, {"A": a, "B": b, "C": c, "D": d, "inv1": inv1}


def figures_by_ext(session, t):
    return {f.external_id: f for f in customer_figures(session, t, AS_OF)}


def test_customer_a_hand_checked(session, ledger):
    t, _ = ledger
    a = figures_by_ext(session, t)["A"]
    base = a.base
    assert base.money("open_debits") == usd("1800.00")
    assert base.money("unutilised_credit") == usd("80.00")
    assert base.money("unaccounted_payment") == usd("300.00")
    assert base.money("outstanding") == usd("1420.00")
    assert base.money("overdue") == usd("800.00")  # due today (inv1) is not overdue
    assert base.money("net_overdue") == usd("720.00")
    assert dict(zip(a.bucket_labels, base.buckets, strict=True)) == {
        "current": 100000,
        "1-30": 50000,
        "31-60": 25000,
        "61-90": 0,
        "91-120": 0,
        "over 120": 5000,
    }
    assert base.money("open_issue") == usd("200.00")
    assert base.money("open_p2p") == usd(
        "150.00"
    )  # the 06-20 promise has expired, kept ones don't count
    assert a.next_p2p_date == date(2026, 7, 5)
    assert a.local is not None and a.local.currency == "USD"
    assert a.local.outstanding == base.outstanding
    # DSO: 1800 open debits / 2450 credit sales dated 2026-04-02..2026-06-30 x 90 days
    assert a.dso_days == Decimal("66.1")
    assert (a.payment_attempts, a.document_attempts, a.attempted_documents) == (5, 4, 2)
    assert a.average_payment_attempts == Decimal("2.00")
    # billing system says 1500.00; computed outstanding is 1420.00
    assert a.outstanding_mismatch == usd("80.00")


def test_customer_in_one_foreign_currency_has_local_figures(session, ledger):
    t, _ = ledger
    b = figures_by_ext(session, t)["B"]
    # 100.00 EUR at 1.10 (rate of 2026-01-01) + 33.33 EUR at 1.20 (rate of 2026-06-01) = 110.00 + 40.00
    assert b.base.money("open_debits") == usd("150.00")
    assert b.local is not None
    assert b.local.money("open_debits") == Money.parse("133.33", "EUR")
    assert b.local.money("overdue") == Money.parse("100.00", "EUR")
    assert (
        b.local.buckets[bucket_labels(t.ageing_bounds).index("61-90")] == 10000
    )  # 90 days past due
    assert b.base.buckets[3] == 11000
    assert b.outstanding_mismatch is None  # no balance reported


def test_mixed_currencies_have_no_local_figures(session, ledger):
    t, _ = ledger
    figs = figures_by_ext(session, t)
    assert figs["C"].local is None
    assert figs["C"].base.money("open_debits") == usd("22.00")  # 10 USD + 10 EUR at 1.20


def test_customer_without_items_is_all_zero_in_its_currency(session, ledger):
    t, _ = ledger
    d = figures_by_ext(session, t)["D"]
    assert d.base.outstanding == 0 and d.base.buckets == [0] * 6
    assert d.local is not None and d.local.currency == "GBP"
    assert d.dso_days is None and d.average_payment_attempts is None


def test_tenant_figures_equal_sum_of_customers(session, ledger):
    t, _ = ledger
    per_customer = customer_figures(session, t, AS_OF)
    tf = tenant_figures(session, t, AS_OF)
    for name in (
        "open_debits",
        "unutilised_credit",
        "unaccounted_payment",
        "overdue",
        "open_issue",
        "open_p2p",
    ):
        assert getattr(tf.base, name) == sum(getattr(f.base, name) for f in per_customer), name
    assert tf.base.buckets == [
        sum(col) for col in zip(*(f.base.buckets for f in per_customer), strict=True)
    ]
    assert tf.base.money("outstanding") == usd("1592.00")  # 1420 + 150 + 22
    assert tf.next_p2p_date == date(2026, 7, 5)


def test_as_of_moves_ageing_not_balances(session, ledger):
    t, _ = ledger
    later = {f.external_id: f for f in customer_figures(session, t, date(2026, 7, 31))}
    a = later["A"].base
    assert a.open_debits == 180000
    assert a.overdue == 180000  # everything is past due by then
    assert a.buckets[0] == 0


def test_custom_ageing_bounds(session, ledger):
    t, _ = ledger
    t.ageing_bounds = [15, 45]
    session.flush()
    a = figures_by_ext(session, t)["A"]
    assert a.bucket_labels == ["current", "1-15", "16-45", "over 45"]
    assert a.base.buckets == [100000, 20000, 55000, 5000]


def test_figures_for_selected_customers_only(session, ledger):
    t, objs = ledger
    figs = customer_figures(session, t, AS_OF, [objs["B"].id])
    assert [f.external_id for f in figs] == ["B"]


def test_figures_are_tenant_scoped(session, ledger):
    t, _ = ledger
    other = create_tenant(session)
    x = create_customer(session, other)
    create_document(session, other, x, "999.00", due_date=date(2026, 1, 1))
    assert tenant_figures(session, t, AS_OF).base.money("outstanding") == usd("1592.00")
    assert [f.external_id for f in customer_figures(session, other, AS_OF)] == [x.external_id]


def test_to_json_is_stable_strings(session, ledger):
    t, _ = ledger
    data = figures_by_ext(session, t)["A"].to_json()
    assert data["base"]["outstanding"] == "1420.00"
    assert data["base"]["ageing"]["over 120"] == "50.00"
    assert data["outstanding_mismatch"] == {"amount": "80.00", "currency": "USD"}


def test_ageing_report_matches_figures(session, ledger):
    from arpolicy.ledger.ageing import ageing_report

    t, _ = ledger
    report = ageing_report(session, t, AS_OF)
    figs = figures_by_ext(session, t)
    assert [r.external_id for r in report.rows] == ["A", "B", "C"]  # D has nothing open
    for row in report.rows:
        f = figs[row.external_id].base
        assert row.buckets == f.buckets
        assert row.outstanding == f.outstanding
    tf = tenant_figures(session, t, AS_OF)
    assert report.totals.buckets == tf.base.buckets
    assert report.totals.outstanding == tf.base.outstanding
    data = report.to_json()
    assert data["totals"]["total"] == "1972.00"  # 1800 + 150 + 22
    assert data["customers"][0]["ageing"]["1-30"] == "500.00"


def test_open_documents_of_a_customer(session, ledger):
    from arpolicy.ledger.documents import open_documents

    t, objs = ledger
    docs = open_documents(session, t, objs["A"].id, AS_OF)
    # the credit note (due 28 days ago) has no days past due: it is owed to the customer
    assert [d.days_past_due for d in docs] == [122, 31, 30, None, 1, 0]
    by_dpd = {d.days_past_due: d for d in docs}
    inv2 = by_dpd[1]
    assert inv2.balance == usd("200.00") and inv2.open_issue == usd("200.00")
    assert inv2.payment_attempts == 3 and not inv2.has_p2p_date
    assert (
        by_dpd[None].doc_type == "credit_note" and by_dpd[None].to_json()["days_past_due"] is None
    )
    assert by_dpd[0].number == objs["inv1"].number


def test_ageing_reads_the_covering_open_items_index_on_sqlite(sqlite_session):
    """The bulk path must not visit table rows: on 1M invoices the covering partial index
    makes the ageing report about twice as fast (docs/benchmarks.md)."""
    from sqlalchemy import text

    from arpolicy.ledger.figures_sql import documents_query

    t = create_tenant(sqlite_session)
    stmt = documents_query(t, AS_OF)
    sql = str(stmt.compile(sqlite_session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = " | ".join(r[3] for r in sqlite_session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "USING COVERING INDEX ix_documents_open_items" in plan, plan
