"""Stateful property test: after any sequence of invoices, credit notes, payments,
allocations, write-offs (credit applied) and voids, every document's balance is its amount
minus what is credited and allocated to it (recomputed by the ledger, never set by hand),
the SQL figures equal the sum of the open items and every payment's unallocated part equals
its amount minus its allocations."""

from __future__ import annotations

from datetime import date

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.kit.db import WRITE
from arpolicy.kit.money import Money
from arpolicy.ledger.balances import refresh_balances
from arpolicy.ledger.figures import customer_figures, tenant_figures
from arpolicy.ledger.payments import refresh_unallocated
from arpolicy.models import Allocation, Document, DocumentType, Payment
from tests.fixtures.factories import create_customer, create_document, create_payment, create_tenant

AS_OF = date(2026, 6, 30)
amounts = st.integers(min_value=1, max_value=10**8)


def make_machine(engine):
    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.conn = engine.connect()
            self.conn.execution_options(**{WRITE: True})
            self.outer = self.conn.begin()
            self.s = Session(bind=self.conn, join_transaction_mode="create_savepoint")
            self.t = create_tenant(self.s, base_currency="EUR")
            self.c = create_customer(self.s, self.t, currency="EUR")
            self.invoices: list[Document] = []
            self.payments: list[Payment] = []

        def teardown(self) -> None:
            self.s.close()
            self.outer.rollback()
            self.conn.close()

        def eur(self, minor: int) -> str:
            return str(Money.from_minor(minor, "EUR").amount)

        @rule(amount=amounts, due=st.integers(-150, 30))
        def invoice(self, amount, due):
            d = create_document(
                self.s,
                self.t,
                self.c,
                self.eur(amount),
                due_date=date.fromordinal(AS_OF.toordinal() + due),
            )
            self.invoices.append(d)

        @rule(amount=amounts)
        def credit_note(self, amount):
            create_document(
                self.s, self.t, self.c, self.eur(amount), doc_type=DocumentType.CREDIT_NOTE
            )

        @rule(amount=amounts)
        def payment(self, amount):
            self.payments.append(create_payment(self.s, self.t, self.c, self.eur(amount)))

        @precondition(lambda self: self.invoices and self.payments)
        @rule(data=st.data())
        def allocate(self, data):
            p = data.draw(st.sampled_from(self.payments))
            d = data.draw(st.sampled_from(self.invoices))
            self.s.refresh(p)
            self.s.refresh(d)
            if d.voided or p.unallocated_minor == 0 or d.balance_minor == 0:
                return
            if self.s.scalar(
                select(Allocation.id).where(
                    Allocation.payment_id == p.id, Allocation.document_id == d.id
                )
            ):
                return
            part = data.draw(st.integers(1, min(p.unallocated_minor, d.balance_minor)))
            self.s.add(
                Allocation(
                    tenant_id=self.t.id,
                    payment_id=p.id,
                    document_id=d.id,
                    amount_minor=part,
                    allocated_on=AS_OF,
                )
            )
            self.s.flush()
            refresh_unallocated(self.s, self.t, [p.id])
            refresh_balances(self.s, self.t, [d.id])  # the ledger lowers the balance

        @precondition(lambda self: self.invoices)
        @rule(data=st.data(), void=st.booleans())
        def write_off_or_void(self, data, void):
            d = data.draw(st.sampled_from(self.invoices))
            if void:
                d.voided = True
            else:
                self.s.refresh(d)
                d.credited_minor += d.balance_minor  # write off what is left
            self.s.flush()
            refresh_balances(self.s, self.t, [d.id])

        @invariant()
        def figures_equal_open_items(self):
            docs = self.s.scalars(select(Document).where(Document.tenant_id == self.t.id)).all()
            for d in docs:
                self.s.refresh(d)
                applied = sum(
                    self.s.scalars(
                        select(Allocation.amount_minor).where(Allocation.document_id == d.id)
                    )
                )
                if not d.voided and (applied or d.credited_minor):
                    left = d.amount_minor - d.credited_minor - applied
                    assert d.balance_minor == d.base_balance_minor == left >= 0
            open_docs = [d for d in docs if d.balance_minor != 0 and not d.voided]
            debits = sum(
                d.base_balance_minor for d in open_docs if d.doc_type != DocumentType.CREDIT_NOTE
            )
            credit = sum(
                d.base_balance_minor for d in open_docs if d.doc_type == DocumentType.CREDIT_NOTE
            )
            pays = self.s.scalars(select(Payment).where(Payment.tenant_id == self.t.id)).all()
            for p in pays:
                self.s.refresh(p)
                allocated = sum(
                    self.s.scalars(
                        select(Allocation.amount_minor).where(Allocation.payment_id == p.id)
                    )
                )
                assert p.unallocated_minor == p.amount_minor - allocated >= 0
            unallocated = sum(p.unallocated_minor for p in pays)
            (f,) = customer_figures(self.s, self.t, AS_OF)
            assert (f.base.open_debits, f.base.unutilised_credit, f.base.unaccounted_payment) == (
                debits,
                credit,
                unallocated,
            )
            assert f.base.outstanding == debits - credit - unallocated
            assert sum(f.base.buckets) == f.base.open_debits
            assert f.local is not None and f.local.outstanding == f.base.outstanding
            assert tenant_figures(self.s, self.t, AS_OF).base.outstanding == f.base.outstanding

    return Ledger


def test_ledger_state_machine(db_engine):
    machine = make_machine(db_engine)
    machine.TestCase.settings = settings(max_examples=10, stateful_step_count=20, deadline=None)
    machine.TestCase().runTest()
