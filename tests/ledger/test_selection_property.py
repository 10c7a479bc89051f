"""Property: at every level, the database selects exactly the records the Python evaluator
matches, over random ledgers and random rules on the real catalogue (customer figures,
per-invoice figures, payment profiles, custom fields from JSON, empties, currencies, dates
and instants around a Berlin midnight), on SQLite and PostgreSQL; and the records carry the
same figures as the customer reports."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from arpolicy.kit.money import Money
from arpolicy.ledger.fields import catalogue_for
from arpolicy.ledger.figures import customer_figures
from arpolicy.ledger.rates import exchange
from arpolicy.ledger.selection import customer_records, records, select
from arpolicy.ledger.selection.customers import figure_fields
from arpolicy.rules import Level, bind, problems, to_python
from tests.ledger.selection_data import AS_OF, CUSTOM, TZ, build, ledgers
from tests.ledger.selection_rules import conditions

CATALOGUE = catalogue_for("USD", [30, 60, 90, 120], CUSTOM)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_level(session: Any, level: Level, spec: Any, rules: list[Any]) -> None:
    fields = CATALOGUE.level(level)
    for rule in rules:
        assume(not problems(rule, fields))
    with session.begin_nested() as sp:
        tenant = build(session, spec)
        recs = dict(records(session, tenant, fields, AS_OF))
        fx = exchange(session, tenant)  # money compares across currencies at its rates
        for rule in rules:
            bound = bind(rule, AS_OF, tz=TZ, exchange=fx)
            matches = to_python(bound, fields)
            expected = [i for i, r in recs.items() if matches(r)]
            assert select(session, tenant, bound, fields) == expected, str(rule)
        sp.rollback()


@SETTINGS
@given(ledgers, st.lists(conditions(CATALOGUE.level("invoice")), min_size=1, max_size=4))
def test_invoice_selection_equals_python(session, spec, rules):
    check_level(session, Level.INVOICE, spec, rules)


@SETTINGS
@given(ledgers, st.lists(conditions(CATALOGUE.level("customer")), min_size=1, max_size=4))
def test_customer_selection_equals_python(session, spec, rules):
    check_level(session, Level.CUSTOMER, spec, rules)


@SETTINGS
@given(ledgers, st.lists(conditions(CATALOGUE.level("payment")), min_size=1, max_size=4))
def test_payment_selection_equals_python(session, spec, rules):
    check_level(session, Level.PAYMENT, spec, rules)


def figure_money(amounts: Any, figure: str) -> Money | None:
    if amounts is None:
        return None
    if figure.startswith("bucket"):
        return Money.from_minor(amounts.buckets[int(figure[6:])], amounts.currency)
    return amounts.money(figure)


@settings(SETTINGS, max_examples=25)
@given(ledgers)
def test_records_carry_the_customer_figures(session, spec):
    """Every customer amount field (and its local twin), the mismatch, the next P2P date and
    the payment figures equal the customer's figures (which test_figures_property.py checks
    against a plain-Python reference)."""
    fields, payment = CATALOGUE.level("customer"), CATALOGUE.level("payment")
    with session.begin_nested() as sp:
        tenant = build(session, spec)
        figs = {f.customer_id: f for f in customer_figures(session, tenant, AS_OF)}
        profiles = dict(records(session, tenant, payment, AS_OF))
        for cid, r in customer_records(session, tenant, fields, AS_OF):
            f, p = figs[cid], profiles[cid]
            for name, figure in figure_fields(tenant.ageing_bounds).items():
                assert r[name] == figure_money(f.base, figure), name
                assert r[f"{name}_local"] == figure_money(f.local, figure), name
                assert p[f"customer.{name}"] == r[name]
            assert r["outstanding_mismatch"] == f.outstanding_mismatch
            assert r["next_p2p_date"] == f.next_p2p_date
            assert p["payment_attempts"] == f.payment_attempts
            assert p["average_payment_attempts"] == f.average_payment_attempts
            assert p["monthly_dso"] == f.dso_days
        sp.rollback()


@pytest.mark.parametrize("level", list(Level))
def test_every_field_is_available_in_bulk(session, level):
    """No field of the catalogue is left to the record-by-record path."""
    from arpolicy.ledger.selection import level_source
    from arpolicy.rules.to_sql import field_columns

    tenant = build(session, [])
    available = set(level_source(tenant, level, AS_OF).builders)
    for f in CATALOGUE.level(level).values():
        assert field_columns(f) <= available, f.name
