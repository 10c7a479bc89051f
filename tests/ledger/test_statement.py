"""The statement of account: every open item signed as the customer reads it, and a balance
that is the customer's outstanding figure, per currency and in the base currency, over
random ledgers (invoices, debit and credit notes, payments and their allocations, write-offs
and voids, two currencies), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arpolicy.kit.money import Money, round_amount
from arpolicy.ledger.figures import customer_figures
from arpolicy.ledger.statement import statements
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


def _money(minor: int, currency: str) -> str:
    return str(Money.from_minor(minor, currency).amount)


def test_a_credit_note_and_a_payment_on_account_reduce_the_balance(session):
    t = create_tenant(session, base_currency="USD")
    c = create_customer(session, t, currency="USD")
    inv = create_document(
        session, t, c, "3000.00", due_date=AS_OF - timedelta(days=17), number="INV-1"
    )
    create_document(
        session,
        t,
        c,
        "500.00",
        doc_type=DocumentType.CREDIT_NOTE,
        number="CN-1",
        document_date=date(2026, 6, 13),
    )
    p = create_payment(
        session, t, c, "800.00", received_on=date(2026, 6, 20), allocations={inv: "600.00"}
    )
    inv.balance_minor = inv.base_balance_minor = 240000  # the ledger applies the 600.00
    session.flush()
    (s,) = statements(session, t, [c.id], AS_OF).values()
    assert [(i.kind, i.number, i.open, i.due_on) for i in s.items] == [
        ("invoice", "INV-1", Money.of("2400.00", "USD"), AS_OF - timedelta(days=17)),
        ("credit_note", "CN-1", Money.of("-500.00", "USD"), None),
        ("payment", p.external_id, Money.of("-200.00", "USD"), None),
    ]
    assert s.items[2].amount == Money.of("-800.00", "USD")
    assert s.balances == [Money.of("1700.00", "USD")] and s.base_balance == s.balances[0]
    (f,) = customer_figures(session, t, AS_OF, [c.id])
    assert f.local is not None and f.local.money("outstanding") == s.balances[0]


def test_a_customer_with_nothing_open_has_an_empty_statement(session):
    t = create_tenant(session)
    c = create_customer(session, t)
    create_document(session, t, c, "10.00", balance="0.00")
    (s,) = statements(session, t, [c.id], AS_OF).values()
    assert s.items == [] and s.balances == [] and s.base_balance == Money.of("0", "USD")


doc = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 2),
        "type": st.sampled_from(list(DocumentType)),
        "currency": st.sampled_from(["USD", "EUR"]),
        "amount": st.integers(1, 10**7),
        "written_off": st.sampled_from([0, 0, 0, 1, 4]),  # quarters written off
        "due": st.integers(-200, 60),
        "voided": st.booleans() | st.just(False),
    }
)
payment = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 2),
        "currency": st.sampled_from(["USD", "EUR"]),
        "amount": st.integers(-(10**5), 10**6).filter(bool),
        "allocate": st.lists(st.integers(0, 24), max_size=3, unique=True),  # document indexes
    }
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(doc, max_size=20), st.lists(payment, max_size=8))
def test_the_statement_balance_is_the_outstanding_figure(session, docs, pays):
    with session.begin_nested() as sp:
        t = create_tenant(session, base_currency="USD")
        create_rate(session, t, "EUR", "USD", RATE_DAY, "1.0837")
        customers = [create_customer(session, t, currency="EUR") for _ in range(3)]
        made = []
        for d in docs:
            ccy = d["currency"]
            made.append(
                create_document(
                    session,
                    t,
                    customers[d["customer"]],
                    _money(d["amount"], ccy),
                    currency=ccy,
                    doc_type=d["type"],
                    document_date=date(2026, 1, 2),
                    due_date=AS_OF + timedelta(days=d["due"]),
                    voided=d["voided"],
                )
            )
        for p in pays:
            ccy, who = p["currency"], customers[p["customer"]]
            left, allocations = p["amount"], {}
            for k in p["allocate"] if p["amount"] > 0 else []:
                target = made[k] if k < len(made) else None
                if target is None or target.customer_id != who.id or target.currency != ccy:
                    continue
                part = min(left, target.balance_minor)
                if part > 0 and target.doc_type != DocumentType.CREDIT_NOTE:
                    allocations[target] = _money(part, ccy)
                    target.balance_minor -= part  # a document's balance follows allocations
                    left -= part
            create_payment(
                session,
                t,
                who,
                _money(p["amount"], ccy),
                currency=ccy,
                received_on=date(2026, 2, 1),
                allocations=allocations,
            )
        for d, obj in zip(docs, made, strict=True):
            obj.balance_minor -= obj.balance_minor * d["written_off"] // 4
            rate = Decimal("1.0837") if obj.currency == "EUR" else Decimal(1)
            base = round_amount(
                Money.from_minor(obj.balance_minor, obj.currency).amount * rate, "USD"
            )
            obj.base_balance_minor = Money(base, "USD").minor_units()
        session.flush()

        ids = [c.id for c in customers]
        stmts = statements(session, t, ids, AS_OF)
        for f in customer_figures(session, t, AS_OF, ids):
            s = stmts[f.customer_id]
            base = s.amounts()
            assert (base.open_debits, base.unutilised_credit, base.unaccounted_payment) == (
                f.base.open_debits,
                f.base.unutilised_credit,
                f.base.unaccounted_payment,
            )
            assert s.base_balance == f.base.money("outstanding")
            if f.local is not None:  # one currency: the statement's balance is the figure
                assert set(s.currencies) <= {f.local.currency}
                local = s.amounts(f.local.currency)
                assert local.outstanding == f.local.outstanding
                assert (local.open_debits, local.unutilised_credit) == (
                    f.local.open_debits,
                    f.local.unutilised_credit,
                )
                assert s.balances == ([f.local.money("outstanding")] if s.items else [])
            else:  # several currencies: one balance each, which add up to the figure in base
                assert len(s.currencies) > 1 or not s.items
            for item in s.items:  # credit notes and payments on account: negative, not due
                debit = item.kind in ("invoice", "debit_note")
                assert (item.due_on is not None) == debit
                if not debit:
                    assert (item.open.amount > 0) == (item.kind == "refund"), item
        sp.rollback()
