from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arpolicy.exceptions import MissingRateError
from arpolicy.kit.fx import RateTable
from arpolicy.kit.money import Money

D = date(2026, 1, 1)


def table() -> RateTable:
    return RateTable(
        [
            ("EUR", "USD", date(2026, 1, 1), Decimal("1.10")),
            ("EUR", "USD", date(2026, 2, 1), Decimal("1.20")),
            ("USD", "JPY", date(2026, 1, 1), Decimal("150.5")),
        ]
    )


def test_rate_on_or_before_the_date():
    t = table()
    assert t.rate("EUR", "USD", date(2026, 1, 31)).rate == Decimal("1.10")
    assert t.rate("EUR", "USD", date(2026, 2, 1)).rate == Decimal("1.20")
    r = t.rate("EUR", "USD", date(2027, 1, 1))
    assert (r.rate, r.valid_on) == (Decimal("1.20"), date(2026, 2, 1))


def test_missing_rate_names_pair_and_date():
    with pytest.raises(MissingRateError) as exc:
        table().rate("EUR", "USD", date(2025, 12, 31))
    assert "EUR/USD" in exc.value.message and "2025-12-31" in exc.value.message
    assert "2026-01-01" in exc.value.message  # says when the series starts
    with pytest.raises(MissingRateError, match="GBP/USD"):
        table().rate("GBP", "USD", D)


def test_conversion_rounds_once_and_records_the_rate():
    c = table().convert(Money.parse("33.33", "EUR"), "USD", date(2026, 2, 15))
    assert c.converted == Money.parse("40.00", "USD")  # 39.996 half-up
    assert (c.rate, c.rate_on) == (Decimal("1.20"), date(2026, 2, 1))
    jpy = table().convert(Money.parse("10.01", "USD"), "JPY", D)
    assert jpy.converted == Money.parse("1507", "JPY")  # 1506.505 -> 1507


def test_same_currency_needs_no_rate():
    c = RateTable().convert(Money.parse("5", "USD"), "USD", D)
    assert c.converted == c.original and c.rate_on is None


def test_inverse_rate_when_only_the_other_direction_exists():
    c = table().convert(Money.parse("110.00", "USD"), "EUR", date(2026, 1, 15))
    assert c.converted == Money.parse("100.00", "EUR")
    assert c.rate_on == date(2026, 1, 1)


@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.integers(1, 10**6)),
        min_size=1,
        max_size=30,
        unique_by=lambda x: x[0],
    ),
    st.integers(-10, 420),
)
def test_lookup_matches_a_linear_scan(entries, offset):
    rates = [("EUR", "USD", D + timedelta(days=d), Decimal(r) / 1000) for d, r in entries]
    on = D + timedelta(days=offset)
    eligible = [x for x in rates if x[2] <= on]
    t = RateTable(rates)
    if not eligible:
        with pytest.raises(MissingRateError):
            t.rate("EUR", "USD", on)
    else:
        best = max(eligible, key=lambda x: x[2])
        assert t.rate("EUR", "USD", on).rate == best[3]
