"""rules/fx.py: the rates a rule is bound with, the per-currency bounds, what is recorded."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from arpolicy.exceptions import MissingRateError
from arpolicy.kit.fx import RateTable
from arpolicy.kit.money import Money
from arpolicy.ledger.fields import catalogue_for
from arpolicy.rules import BoundRule, Exchange, bind, check, explain, parse, to_python
from arpolicy.rules.fx import BoundRate, Thresholds, bind_rates, threshold
from arpolicy.rules.lowering import LeafPlan
from arpolicy.rules.to_sql import plan_of

AS_OF = date(2026, 11, 23)
NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)
RATES = RateTable(
    [
        ("EUR", "USD", NOV, Decimal("1.08")),
        ("EUR", "USD", DEC, Decimal("2")),  # after the evaluation date: never used for it
        ("JPY", "USD", NOV, Decimal("0.0067")),
        ("GBP", "USD", DEC, Decimal("1.27")),  # only from December
    ]
)
EXCHANGE = Exchange(RATES, "USD", frozenset({"EUR", "JPY", "GBP"}))
USD = catalogue_for("USD").level("invoice")


def test_rates_are_those_in_force_on_the_evaluation_date():
    rates = bind_rates(EXCHANGE, ["USD"], AS_OF)
    assert rates.get("EUR", "USD") == BoundRate("EUR", "USD", Decimal("1.08"), NOV)
    assert rates.get("USD", "USD").rate == 1
    assert [r.source for r in rates.items] == ["EUR", "JPY"]


def test_an_inverse_and_a_cross_rate_through_the_base_currency():
    rates = bind_rates(EXCHANGE, ["EUR"], AS_OF)
    inverse = rates.get("USD", "EUR")
    assert (inverse.rate * Decimal("1.08")).quantize(Decimal("1E-20")) == 1
    cross = rates.get("JPY", "EUR")
    assert cross.via == "USD"
    assert cross.rate == Decimal("0.0067") * inverse.rate
    assert cross.valid_on == NOV


def test_a_missing_rate_names_the_pair_the_date_and_the_fix():
    rates = bind_rates(EXCHANGE, ["USD"], AS_OF)
    err = rates.error("GBP", "USD", "balance > 500 USD")
    assert err.message == (
        "no GBP/USD exchange rate on or before 2026-11-23 (the first GBP/USD rate is dated"
        " 2026-12-01)"
    )
    assert (
        err.fix
        == "import a GBP to USD rate dated 2026-11-23 or earlier (arpolicy import fx-rates FILE)"
    )
    assert err.where == "balance > 500 USD"
    assert "no CHF/USD exchange rate on or before 2026-11-23" in rates.error("CHF", "USD").message


@pytest.mark.parametrize(
    ("how", "expected"),
    [("floor", "462.96"), ("ceil", "462.97"), ("exact", None)],
)
def test_bounds_round_in_the_direction_that_keeps_the_comparison_exact(how, expected):
    got = threshold(Decimal(500), Decimal("1.08"), "EUR", how)  # 462.962962... EUR
    assert got == (Decimal(expected) if expected else None)
    assert threshold(Decimal(540), Decimal("1.08"), "EUR", "exact") == Decimal("500.00")
    assert threshold(Decimal(500), Decimal("0.0067"), "JPY", "floor") == Decimal(74626)
    assert threshold(Decimal(500), Decimal("3.25"), "KWD", "ceil") == Decimal("153.847")


def test_a_literal_becomes_one_bound_per_currency_with_a_rate():
    bound = bind(check(parse("balance > 500 USD"), USD), AS_OF, exchange=EXCHANGE)
    plan = plan_of(bound, USD)
    assert isinstance(plan, LeafPlan)
    (t,) = plan.consts
    assert isinstance(t, Thresholds)
    assert dict(t) == {"EUR": Decimal("462.96"), "JPY": Decimal(74626), "USD": Decimal(500)}
    with pytest.raises(MissingRateError, match="GBP/USD"):
        t["GBP"]


def test_the_rates_are_recorded_with_the_rule_and_read_back():
    bound = bind(check(parse("balance > 500 USD"), USD), AS_OF, exchange=EXCHANGE)
    data = json.loads(json.dumps(bound.to_json()))
    assert data["rates"] == [
        {"from": "EUR", "to": "USD", "rate": "1.08", "valid_on": "2026-11-01"},
        {"from": "JPY", "to": "USD", "rate": "0.0067", "valid_on": "2026-11-01"},
    ]
    replayed = BoundRule.from_json(data)
    assert replayed == bound
    record = {"balance": Money.parse("462.97", "EUR")}
    assert to_python(replayed, USD)(record) is True  # the recorded rate, no exchange needed
    assert "at 1.08 on 2026-11-23" in explain(replayed, record, USD).text()


def test_zero_binds_no_rate():
    bound = bind(
        check(parse("balance > 0 USD or open_issue_amount = 0"), USD), AS_OF, exchange=EXCHANGE
    )
    assert bound.fx.items == ()
    assert "rates" not in bound.to_json()


def test_the_explanation_json_carries_the_conversion():
    bound = bind(check(parse("balance > 500 USD"), USD), AS_OF, exchange=EXCHANGE)
    tree = explain(bound, {"balance": Money.parse("812.40", "EUR")}, USD).to_json()
    assert tree["text"] == "balance 812.40 EUR = 877.39 USD at 1.08 on 2026-11-23 > 500.00 USD: yes"
    assert tree["converted"] == {
        "amount": "877.39",
        "currency": "USD",
        "rate": "1.08",
        "on": "2026-11-23",
        "rate_date": "2026-11-01",
    }


def test_a_base_currency_field_converts_the_literal_once_and_needs_its_rate():
    rule = check(parse("converted_balance > 500 EUR"), USD)  # base USD
    matches = to_python(bind(rule, AS_OF, exchange=EXCHANGE), USD)
    assert matches({"converted_balance": Money.parse("540.01", "USD")}) is True
    assert matches({"converted_balance": Money.parse("540.00", "USD")}) is False
    with pytest.raises(MissingRateError, match="no USD/EUR exchange rate"):
        to_python(bind(rule, AS_OF), USD)  # no exchange: refused when compiled
