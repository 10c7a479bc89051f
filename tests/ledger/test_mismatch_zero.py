"""Zero is a value: a customer whose billing system reports exactly the outstanding
computed here has an outstanding mismatch of 0.00, not null (issue 12, item 2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arpolicy.kit.money import Money
from arpolicy.ledger.figures import customer_figures
from tests.fixtures.factories import create_customer, create_document, create_tenant

AS_OF = date(2026, 11, 23)


def test_a_zero_mismatch_reads_zero(session):
    t = create_tenant(session)
    agrees = create_customer(session, t, reported_balance_minor=12_345)
    differs = create_customer(session, t, reported_balance_minor=12_000)
    silent = create_customer(session, t)
    for c in (agrees, differs, silent):
        create_document(session, t, c, "123.45", due_date=date(2026, 11, 1))
    figures = {f.customer_id: f for f in customer_figures(session, t, AS_OF)}

    zero = figures[agrees.id]
    assert zero.outstanding_mismatch == Money(Decimal("0.00"), t.base_currency)
    assert zero.to_json()["outstanding_mismatch"] == {"amount": "0.00", "currency": t.base_currency}
    assert figures[differs.id].to_json()["outstanding_mismatch"] == {
        "amount": "-3.45",
        "currency": t.base_currency,
    }
    assert figures[silent.id].to_json()["outstanding_mismatch"] is None


def test_money_has_no_truth_value_of_its_own():
    """``if money:`` means "is there an amount", never "is it non-zero"."""
    assert Money(Decimal("0.00"), "EUR") and Money(Decimal("0.00"), "EUR").is_zero
    assert not Money(Decimal("0.01"), "EUR").is_zero
