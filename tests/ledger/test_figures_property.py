"""Property test: the SQL figures equal a plain-Python reference over random ledgers
(documents of every type and state, two currencies, payments and their allocations, a
document's balance being the ledger's: its opening balance until a payment is allocated to
it, then its amount minus the allocations), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arpolicy.kit.fx import RateTable
from arpolicy.kit.money import Money
from arpolicy.ledger.figures import bucket_of, customer_figures, tenant_figures
from arpolicy.models import DocumentType
from tests.fixtures.factories import (
    create_customer,
    create_document,
    create_payment,
    create_rate,
    create_tenant,
)

AS_OF = date(2026, 6, 30)
RATE_DAY = date(2026, 1, 1)
RATES = RateTable([("EUR", "USD", RATE_DAY, Decimal("1.0837"))])

doc = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 2),
        "type": st.sampled_from(list(DocumentType)),
        "currency": st.sampled_from(["USD", "EUR"]),
        "amount": st.integers(1, 10**7),
        "paid_share": st.sampled_from([0, 0, 1, 2, 4]),  # quarters paid
        "due": st.integers(-200, 60),
        "voided": st.booleans() | st.just(False),
        "bounds": st.just(None),
    }
)
payment = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 2),
        "amount": st.integers(1, 10**6),
        "allocate": st.sampled_from(
            [0, 1, 2, 4]
        ),  # quarters allocated to the customer's first USD invoice
    }
)


def expected(docs, pays, cust, bounds):
    e = {
        "open_debits": 0,
        "unutilised_credit": 0,
        "overdue": 0,
        "unaccounted": 0,
        "buckets": [0] * (len(bounds) + 2),
    }
    for d in docs:
        if d["customer"] != cust or d["balance"] == 0 or d["voided"]:
            continue
        base = RATES.convert(
            Money.from_minor(d["balance"], d["currency"]), "USD", RATE_DAY
        ).converted.minor_units()
        if d["type"] == DocumentType.CREDIT_NOTE:
            e["unutilised_credit"] += base
            continue
        e["open_debits"] += base
        dpd = -d["due"]
        if dpd > 0:
            e["overdue"] += base
        e["buckets"][bucket_of(dpd, bounds)] += base
    for p in pays:
        if p["customer"] == cust:
            e["unaccounted"] += p["amount"] - p["allocated"]
    return e


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(doc, max_size=25),
    st.lists(payment, max_size=5),
    st.sampled_from([[30, 60, 90, 120], [7], [10, 20, 45]]),
)
def test_sql_figures_equal_reference(session, docs, pays, bounds):
    with session.begin_nested() as sp:
        t = create_tenant(session, base_currency="USD", ageing_bounds=bounds)
        create_rate(session, t, "EUR", "USD", RATE_DAY, "1.0837")
        customers = [create_customer(session, t, currency="USD") for _ in range(3)]
        first_usd = {}
        for d in docs:
            paid = d["amount"] * d["paid_share"] // 4
            d["balance"] = d["amount"] - paid
            ccy = d["currency"]
            obj = create_document(
                session,
                t,
                customers[d["customer"]],
                str(Money.from_minor(d["amount"], ccy).amount),
                balance=str(Money.from_minor(d["balance"], ccy).amount),
                currency=ccy,
                doc_type=d["type"],
                document_date=date(2026, 1, 2),
                due_date=AS_OF + timedelta(days=d["due"]),
                voided=d["voided"],
            )
            if ccy == "USD" and d["type"] != DocumentType.CREDIT_NOTE:
                first_usd.setdefault(d["customer"], (obj, d))
        for p in pays:
            target, td = first_usd.get(p["customer"], (None, None))
            p["allocated"] = 0
            if target is not None:
                # never more than the document's amount in all (the ledger refuses that)
                left = td["amount"] - td.get("applied", 0)
                p["allocated"] = min(p["amount"] * p["allocate"] // 4, left)
                td["applied"] = td.get("applied", 0) + p["allocated"]
                if td["applied"] and not td["voided"]:
                    # the ledger's balance: amount - allocations, once any is recorded
                    td["balance"] = td["amount"] - td["applied"]
            allocs = (
                {target: str(Money.from_minor(p["allocated"], "USD").amount)}
                if p["allocated"]
                else {}
            )
            create_payment(
                session,
                t,
                customers[p["customer"]],
                str(Money.from_minor(p["amount"], "USD").amount),
                received_on=date(2026, 2, 1),
                allocations=allocs,
            )
        figs = customer_figures(session, t, AS_OF)
        for i, f in enumerate(figs):
            e = expected(docs, pays, i, bounds)
            assert f.base.open_debits == e["open_debits"]
            assert f.base.unutilised_credit == e["unutilised_credit"]
            assert f.base.overdue == e["overdue"]
            assert f.base.buckets == e["buckets"]
            assert f.base.unaccounted_payment == e["unaccounted"]
            assert (
                f.base.outstanding == e["open_debits"] - e["unutilised_credit"] - e["unaccounted"]
            )
        tf = tenant_figures(session, t, AS_OF)
        assert tf.base.outstanding == sum(f.base.outstanding for f in figs)
        assert tf.base.buckets == [
            sum(c) for c in zip(*(f.base.buckets for f in figs), strict=True)
        ]
        sp.rollback()
