"""to_python: money and datetime semantics, the generated source, the fast path."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arpolicy.exceptions import MissingRateError
from arpolicy.kit.money import Money
from arpolicy.rules import bind, parse, table_to_python, to_python
from arpolicy.rules.fx import Rates

AS_OF = date(2026, 11, 23)


def fn(text: str, fields, tz: str = "UTC"):
    return to_python(bind(parse(text), AS_OF, tz=tz), fields)


def usd(x: str) -> Money:
    return Money(Decimal(x), "USD")


def test_money_compares_in_its_own_currency_without_rates(invoice):
    gt = fn("balance > 500 USD", invoice)
    assert gt({"balance": usd("500.01")}) is True
    assert gt({"balance": usd("500.00")}) is False
    not_gt = fn("not (balance > 500 USD)", invoice)
    assert not_gt({"balance": usd("1.00")}) is True
    eq = fn("balance = 500 USD", invoice)
    assert eq({"balance": usd("500.00")}) is True, "500 USD equals 500.00 USD"


def test_another_currency_without_a_rate_is_an_error_not_a_silent_no(invoice):
    """Before: an EUR balance was 'unknown' for a USD literal and silently never matched."""
    with pytest.raises(MissingRateError, match="no EUR/USD exchange rate on or before 2026-11-23"):
        fn("balance > 500 USD", invoice)({"balance": Money(Decimal("9999"), "EUR")})
    with pytest.raises(MissingRateError) as err:
        fn("not (balance != 500 USD)", invoice)({"balance": Money(Decimal("5"), "EUR")})
    assert err.value.where == "balance != 500 USD"
    assert "arpolicy import fx-rates" in (err.value.fix or "")


def test_zero_compares_with_every_currency_without_a_rate(invoice):
    """``open_issue_amount = 0 USD`` used to match only USD invoices."""
    for text in ("open_issue_amount = 0 USD", "open_issue_amount = 0"):
        zero = fn(text, invoice)
        for ccy in ("USD", "EUR", "JPY", "KWD"):
            assert zero({"open_issue_amount": Money.zero(ccy)}) is True, (text, ccy)
            assert zero({"open_issue_amount": Money.parse("1", ccy)}) is False, (text, ccy)
    assert fn("balance > 0 USD", invoice)({"balance": Money.parse("0.01", "EUR")}) is True


def test_base_money_fields_are_in_the_base_currency(invoice):
    f = fn("converted_balance between 100 EUR and 200 EUR", invoice)
    assert f({"converted_balance": Money(Decimal("100"), "EUR")}) is True
    assert f({"converted_balance": Money(Decimal("200.01"), "EUR")}) is False


def test_datetimes_compare_by_the_tenants_local_day(invoice):
    late_evening_utc = datetime(2026, 11, 16, 23, 30, tzinfo=UTC)
    record = {"last_email_at": late_evening_utc}
    assert fn("last_email_at = 2026-11-16", invoice)(record) is True
    assert fn("last_email_at = 2026-11-16", invoice, "Europe/Berlin")(record) is False
    assert fn("last_email_at = 2026-11-17", invoice, "Europe/Berlin")(record) is True
    assert fn("last_email_at != 2026-11-17", invoice, "Europe/Berlin")(record) is False
    assert fn("last_email_at > 2026-11-16", invoice, "Europe/Berlin")(record) is True
    assert fn("last_email_at <= 2026-11-16", invoice, "Asia/Tokyo")(record) is False
    between = fn("last_email_at between 2026-11-10 and 2026-11-16", invoice, "America/New_York")
    assert between(record) is True


def test_integer_fields_compare_with_whole_numbers(invoice):
    f = fn("days_past_due >= 30 and days_past_due != 45", invoice)
    assert (f({"days_past_due": 30}), f({"days_past_due": 45}), f({"days_past_due": 29})) == (
        True,
        False,
        False,
    )


def test_the_fast_path_and_the_guarded_path_agree(invoice):
    f = fn("balance > 500 USD and due_date < 30 days ago and not disputed", invoice)
    full = {"balance": usd("600"), "due_date": date(2026, 1, 1), "disputed": False}
    assert f(full) is True
    for key in full:
        assert f({k: v for k, v in full.items() if k != key}) is False
        assert f(full | {key: None}) is False


def test_wrong_record_types_raise_instead_of_silently_not_matching(invoice):
    with pytest.raises(TypeError):
        fn("due_date < today", invoice)({"due_date": "2026-01-01"})


def test_the_generated_source_holds_no_rule_text(invoice):
    f = fn(
        "balance > 500 USD and document_type includes (invoice, debit_note)"
        ' and transaction_type = "x); import os #" and customer.country != DE',
        invoice,
    )
    source = f.__source__  # type: ignore[attr-defined]
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source))
    generated = {n for n in names if re.fullmatch(r"_c\d+|v\d+|s\d+", n)}
    assert names - generated <= {
        "def",
        "rule",
        "r",
        "g",
        "get",
        "return",
        "try",
        "except",
        "pass",
        "and",
        "or",
        "not",
        "is",
        "None",
        "in",
        "currency",
        "amount",
        "lower",
    }
    assert '"' not in source and "'" not in source
    assert f.__globals__["__builtins__"] == {}  # type: ignore[attr-defined]


def test_compiled_functions_are_cached_per_rule_and_field_set(invoice, customer):
    bound = bind(parse("disputed"), AS_OF)
    assert to_python(bound, invoice) is to_python(bound, invoice)
    with pytest.raises(TypeError, match="compile it with to_python"):
        table_to_python(bound, invoice)


def test_unchecked_or_unbound_rules_are_refused(invoice):
    from arpolicy.rules import RuleError
    from arpolicy.rules.lowering import LoweringError, lower

    with pytest.raises(RuleError, match="unknown field"):
        fn("nope > 5", invoice)
    with pytest.raises(RuleError, match="is a date"):
        fn('due_date < "yesterday"', invoice)
    with pytest.raises(LoweringError, match="bind the rule"):
        lower(parse("due_date < today"), invoice, "UTC", Rates(AS_OF))  # type: ignore[arg-type]


def test_a_range_emptied_by_the_evaluation_date_compiles_and_matches_nothing(invoice):
    f = fn("due_date between 2026-11-20 and 10 days ago", invoice)  # 10 days ago: 2026-11-13
    assert f({"due_date": date(2026, 11, 15)}) is False
