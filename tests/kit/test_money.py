from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arpolicy.exceptions import ValidationError
from arpolicy.kit.money import (
    CurrencyError,
    CurrencyMismatchError,
    Money,
    MoneyPrecisionError,
    exponent,
    round_amount,
    total,
)

CURRENCIES = ["USD", "EUR", "JPY", "KWD", "CLF", "GBP", "BHD", "KRW"]


def test_exponents_follow_iso_4217():
    assert (exponent("JPY"), exponent("USD"), exponent("KWD"), exponent("CLF")) == (0, 2, 3, 4)


@pytest.mark.parametrize("code", ["usd", "US", "XAU", "ABC", "", None, 840])
def test_unknown_or_unusable_currency_is_refused(code):
    with pytest.raises(CurrencyError) as exc:
        Money(Decimal(1), code)
    assert exc.value.fix


def test_lower_case_currency_error_names_the_code():
    with pytest.raises(CurrencyError, match="upper case: USD"):
        Money.parse("1", "usd")


def test_more_decimals_than_the_currency_allows_is_an_error():
    with pytest.raises(MoneyPrecisionError, match="JPY"):
        Money.parse("100.5", "JPY")
    with pytest.raises(MoneyPrecisionError):
        Money.parse("1.001", "USD")
    assert Money.parse("1.0010", "KWD").amount == Decimal("1.001")
    assert Money.parse("1.000", "USD") == Money.parse("1", "USD")


@pytest.mark.parametrize("bad", [1.5, float("nan"), "1,5", "abc", "NaN", "Infinity", True])
def test_inexact_or_malformed_amounts_are_refused(bad):
    with pytest.raises((ValidationError, TypeError)):
        Money.parse(bad, "USD")


def test_rounding_rule_is_half_away_from_zero():
    assert round_amount(Decimal("1.005"), "USD") == Decimal("1.01")
    assert round_amount(Decimal("-1.005"), "USD") == Decimal("-1.01")
    assert round_amount(Decimal("2.5"), "JPY") == Decimal("3")
    assert round_amount(Decimal("0.0005"), "KWD") == Decimal("0.001")
    with pytest.raises(TypeError):
        round_amount(1.005, "USD")  # type: ignore[arg-type]


def test_arithmetic_across_currencies_raises():
    with pytest.raises(CurrencyMismatchError):
        Money.parse("1", "USD") + Money.parse("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = Money.parse("1", "USD") < Money.parse("1", "EUR")
    with pytest.raises(TypeError):
        Money.parse("1", "USD").multiply(1.1)  # type: ignore[arg-type]


def test_json_form():
    m = Money.parse("812.4", "USD")
    assert m.to_json() == {"amount": "812.40", "currency": "USD"}
    assert Money.from_json(m.to_json()) == m
    assert str(Money.parse("5", "JPY")) == "5 JPY"
    with pytest.raises(ValidationError):
        Money.from_json({"amount": "1", "currency": "USD", "extra": 1})


amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False
)


@given(st.sampled_from(CURRENCIES), st.integers(min_value=-(10**15), max_value=10**15))
def test_minor_units_round_trip(currency, minor):
    assert Money.from_minor(minor, currency).minor_units() == minor


@given(st.sampled_from(CURRENCIES), amounts)
def test_of_rounds_once_and_stays_within_half_a_unit(currency, value):
    m = Money.of(value, currency)
    half = Decimal(1).scaleb(-exponent(currency)) / 2
    assert abs(m.amount - value) <= half
    assert Money.from_minor(m.minor_units(), currency) == m


@given(
    st.sampled_from(CURRENCIES),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(any),
)
def test_allocate_sums_exactly_and_is_fair(currency, minor, ratios):
    m = Money.from_minor(minor, currency)
    parts = m.allocate(ratios)
    assert total(parts, currency) == m
    assert len(parts) == len(ratios)
    s = sum(ratios)
    for part, r in zip(parts, ratios, strict=True):
        exact = Decimal(abs(minor)) * r / s
        assert abs(abs(part.minor_units()) - exact) < 1
        if r == 0:
            assert part.minor_units() == 0


@given(
    st.sampled_from(CURRENCIES),
    st.lists(st.integers(min_value=-(10**9), max_value=10**9), max_size=20),
)
def test_sum_is_exact(currency, minors):
    assert total((Money.from_minor(x, currency) for x in minors), currency).minor_units() == sum(
        minors
    )
