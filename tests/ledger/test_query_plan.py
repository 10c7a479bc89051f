"""The dunning-style selection runs on the index chosen for it (issue 3).

``ix_documents_balance_due`` (models/document.py) is a partial covering index over the
documents with a balance, by tenant, currency and id (so the ids come out in the order
select_invoices returns them, with no sort). SQLite uses a partial index only
when the WHERE clause repeats its predicate, so ``select_invoices`` states
``balance_minor != 0`` when the rule implies it; the tests below assert the plan of the
statement ``select_invoices`` really executes (caught on its way to the driver), and that
adding the predicate never changes which documents match.

Why a plan test: on the benchmark's 1,000,000 invoices an index on (tenant_id, due_date)
made this query 10 times slower than a full scan (SQLite walks the index and looks up 80 %
of the table row by row), and without the predicate SQLite walks the (tenant_id, id) index
instead; see docs/benchmarks.md, "Rule language".
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import invoice_records, select_invoices
from arpolicy.models import Document, DocumentType, Tenant
from arpolicy.rules import bind, check, parse, to_python
from tests.fixtures.factories import create_customer, create_document, create_rate, create_tenant

AS_OF = date(2026, 11, 23)
DUNNING = (
    "balance > 500 USD and due_date < 30 days ago and not disputed"
    " and currency includes (USD, EUR) and days_past_due >= 30"
)
INDEX = "ix_documents_balance_due"
PREDICATE = "documents.balance_minor != 0"

BENCHMARK_STATS = [
    # sqlite_stat1 of documents as ANALYZE leaves it on the benchmark's 1,000,000 invoices
    # (one tenant, 100,000 customers, 40 % with a balance).
    ("ix_documents_balance_due", "399850 399850 99963 1 1 1 1"),
    ("ix_documents_tenant_id_customer_id", "1000000 1000000 11"),
    ("ix_documents_open_items", "399850 399850 5 1 1 1 1 1 1"),
    ("sqlite_autoindex_documents_2", "1000000 1000000 1"),
    ("sqlite_autoindex_documents_1", "1000000 1000000 1000000 1"),
]
_fresh = itertools.count()


def fields_of(tenant: Tenant) -> Any:
    return catalogue_for("USD", tenant.ageing_bounds, []).level("invoice")


def bound_rule(session: Session, tenant: Tenant, rule: str) -> Any:
    fx = exchange(session, tenant)  # money compares across currencies at the tenant's rates
    return bind(check(parse(rule), fields_of(tenant)), AS_OF, tz="UTC", exchange=fx)


def seed(session: Session, n: int = 2_000) -> Tenant:
    """A tenant with ``n`` documents spread like the benchmark's: 40 % with a balance, 60 %
    in USD, due from 400 days ago to 60 days ahead; a few disputed, voided, credit notes."""
    t = create_tenant(session, base_currency="USD", timezone="UTC")
    for ccy, rate in (("EUR", "1.10"), ("GBP", "1.27"), ("JPY", "0.0067")):
        create_rate(session, t, ccy, "USD", date(2025, 1, 1), rate)
    customers = [create_customer(session, t).id for _ in range(20)]
    rnd = random.Random(3)
    rows = []
    for i in range(n):
        minor = rnd.randint(1_000, 5_000_000)
        balance = minor if rnd.random() < 0.4 else 0
        due = AS_OF - timedelta(days=rnd.randint(-60, 400))
        rows.append(
            {
                "tenant_id": t.id,
                "customer_id": rnd.choice(customers),
                "number": f"Q{i}",
                "doc_type": DocumentType.INVOICE if i % 20 else DocumentType.CREDIT_NOTE,
                "currency": rnd.choice(["USD"] * 6 + ["EUR"] * 2 + ["GBP", "JPY"]),
                "amount_minor": minor,
                "balance_minor": balance,
                "base_amount_minor": minor,
                "base_balance_minor": balance,
                "fx_rate": Decimal(1),
                "fx_rate_on": None,
                "document_date": due - timedelta(days=30),
                "due_date": due,
                "disputed": i % 17 == 0,
                "voided": i % 29 == 0,
                "custom_fields": {},
            }
        )
    session.execute(insert(Document), rows)
    return t


@contextmanager
def caught(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """The (SQL, parameters) the driver receives inside the block."""
    seen: list[tuple[str, Any]] = []
    conn = session.connection()

    def on_cursor(_c: Any, _cur: Any, sql: str, params: Any, *_: Any) -> None:
        seen.append((sql, params))

    event.listen(conn, "before_cursor_execute", on_cursor)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", on_cursor)


def selection_statement(session: Session, tenant: Tenant, rule: str) -> tuple[str, Any]:
    bound = bound_rule(session, tenant, rule)
    with caught(session) as seen:
        select_invoices(session, tenant, bound, fields_of(tenant))
    # the last: before it, a money comparison checks that every currency has a rate
    *_, statement = [s for s in seen if s[0].lstrip().upper().startswith("SELECT")]
    return statement


def sqlite_plan(session: Session, sql: str, params: Any) -> list[str]:
    # A fresh text: pysqlite caches statements, and SQLite does not re-plan a cached EXPLAIN
    # after ANALYZE.
    explain = f"EXPLAIN QUERY PLAN /* {next(_fresh)} */ {sql}"
    return [row[-1] for row in session.connection().exec_driver_sql(explain, params)]


def set_statistics(session: Session, how: str) -> None:
    conn = session.connection()
    if how == "none":
        return
    conn.exec_driver_sql("ANALYZE")
    if how == "benchmark":
        conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'documents'")
        for idx, stat in BENCHMARK_STATS:
            conn.exec_driver_sql(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('documents', ?, ?)",
                (idx, stat),
            )
        conn.exec_driver_sql("ANALYZE sqlite_schema")  # reload the statistics


@pytest.mark.parametrize("statistics", ["none", "analyzed", "benchmark"])
def test_sqlite_runs_the_dunning_selection_on_the_balance_due_index(sqlite_session, statistics):
    t = seed(sqlite_session)
    set_statistics(sqlite_session, statistics)
    sql, params = selection_statement(sqlite_session, t, DUNNING)
    assert PREDICATE in sql
    plan = sqlite_plan(sqlite_session, sql, params)
    # ``not disputed`` also asks whether the document has an open dispute: the tenant's open
    # disputes are listed once per statement (not once per document), each document probes
    # that list (ledger/documents.py)
    *documents, listed, disputes = plan
    assert documents == [
        f"SEARCH documents USING COVERING INDEX {INDEX} (tenant_id=? AND currency=?)"
    ]
    assert listed == "LIST SUBQUERY 1" and disputes.startswith(("SEARCH disputes", "SCAN disputes"))


def test_postgres_can_serve_the_dunning_selection_from_the_index(session):
    """PostgreSQL proves the predicate from ``balance_minor > 50000`` by itself; whether it
    picks the index over a scan depends on table size and statistics (on the benchmark's
    1,000,000 invoices it does: an index-only scan). So this asserts that the index serves
    the statement when scans are priced out, on fresh statistics."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (the SQLite plan is asserted above)")
    t = seed(session, 5_000)
    conn = session.connection()
    conn.exec_driver_sql("ANALYZE documents")
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    sql, params = selection_statement(session, t, DUNNING)
    plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))
    assert INDEX in plan, plan


@pytest.mark.parametrize(
    ("rule", "states_predicate"),
    [
        (DUNNING, True),
        ("balance > 0 USD", True),
        ("balance != 0 EUR", True),
        ("balance between 1 USD and 9000 USD", True),
        ("disputed and balance >= 0.01 USD", True),
        ("balance >= 0 USD", False),
        ("balance = 0 USD", False),
        ("balance between 0 USD and 9000 USD", False),
        ("balance <= 0 USD", False),
        ("not paid", False),
        ("balance > 500 USD or disputed", False),
        ("not (balance <= 500 USD)", False),
    ],
)
def test_the_predicate_is_stated_only_when_implied_and_changes_nothing(
    session, rule, states_predicate
):
    """Voided documents with and without a balance, zero, negative and foreign balances:
    the database selects exactly what the Python evaluator matches."""
    t = create_tenant(session, base_currency="USD", timezone="UTC")
    create_rate(session, t, "EUR", "USD", date(2025, 1, 1), "1.10")
    c = create_customer(session, t)
    spec = [
        ("812.40", "812.40", "USD", False, False),
        ("812.40", "812.40", "USD", True, False),  # voided, with a balance
        ("812.40", "0", "USD", True, False),  # voided, no balance: neither open nor paid
        ("812.40", "0", "USD", False, False),  # paid
        ("50.00", "0.01", "USD", False, True),
        ("-50.00", "-50.00", "USD", False, False),  # a credit balance
        ("1500.00", "1500.00", "EUR", False, False),
        ("0", "0", "EUR", False, False),
    ]
    for amount, balance, ccy, voided, disputed in spec:
        create_document(
            session,
            t,
            c,
            amount,
            balance=balance,
            currency=ccy,
            voided=voided,
            disputed=disputed,
            due_date=AS_OF - timedelta(days=60),
        )
    fields, bound = fields_of(t), bound_rule(session, t, rule)
    sql, _ = selection_statement(session, t, rule)
    assert (PREDICATE in sql) is states_predicate
    matches = to_python(bound, fields)
    expected = sorted(i for i, r in invoice_records(session, t, fields, AS_OF) if matches(r))
    assert select_invoices(session, t, bound, fields) == expected
