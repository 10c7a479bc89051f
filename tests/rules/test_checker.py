"""The checker: each kind of mistake, with where, what and how to fix it."""

from __future__ import annotations

import pytest

from arpolicy.rules import RuleError, check, parse, problems


def _one(text: str, fields):
    found = problems(parse(text), fields)
    assert len(found) == 1, found
    return found[0]


def test_a_good_rule_passes(invoice):
    rule = parse(
        "balance > 500 USD and converted_balance >= 10 EUR and due_date < 30 days ago"
        " and not disputed and currency includes (USD, EUR) and days_past_due between 1 and 90"
        " and document_type = invoice and customer.country excludes (US) and cf.approved"
        " and last_email_at in the last 7 days and customer.cf.credit_limit > 0 EUR"
        " and customer.language = de and customer.finance_owner is empty"
    )
    assert check(rule, invoice) is rule


@pytest.mark.parametrize(
    ("text", "path", "what", "fix"),
    [
        ("blance > 5 USD", "$.field", "unknown field 'blance'", "did you mean balance"),
        ("country = DE", "$.field", "unknown field 'country'", "did you mean customer.country"),
        ("disputed and customer.segmnt = x", "$.all[1].field", "unknown field", "customer.segment"),
    ],
)
def test_unknown_fields_get_the_nearest_names(invoice, text, path, what, fix):
    p = _one(text, invoice)
    assert (p.path, p.line) == (path, 1)
    assert what in p.what
    assert fix in p.fix


def test_a_field_from_another_level_is_unknown_with_a_hint(customer):
    p = _one("balance > 5 EUR", customer)
    assert "unknown field 'balance'" in p.what


@pytest.mark.parametrize(
    ("text", "what", "fix"),
    [
        (
            "balance includes (5 USD)",
            "'includes' does not apply to balance (money)",
            "<, <=, >, >=, =, !=, between",
        ),
        ("currency > USD", "'>' does not apply to currency (code)", "=, !=, includes, excludes"),
        ("balance", "balance is money, not yes/no", "compare it"),
        ("disputed = yes", "'=' does not apply to disputed (boolean)", "use is"),
        ("balance is empty", "balance always has a value", "drop the test"),
        ("days_past_due in the last 3 days", "'in' does not apply", "between"),
    ],
)
def test_wrong_operators_list_the_allowed_ones(invoice, text, what, fix):
    p = _one(text, invoice)
    assert p.path == "$.op"
    assert what in p.what
    assert fix in p.fix


@pytest.mark.parametrize(
    "text",
    [
        "converted_balance > 500 USD",  # a base-currency (EUR) field: converted at the rate
        "customer.cf.credit_limit between 5 USD and 6 USD",  # a money custom field in EUR
        "balance > 500 JPY",
        "open_issue_amount = 0",  # zero is zero in every currency: no currency needed
        "balance between 0 and 500 USD",
        "customer.outstanding != 0.00",
    ],
)
def test_money_literals_in_any_currency_and_a_bare_zero_are_valid(invoice, text):
    assert problems(parse(text), invoice) == []


@pytest.mark.parametrize(
    ("text", "path", "what", "fix"),
    [
        ("balance > 500", "$.value", "balance is money; 500 has no currency", "500 EUR"),
        ("balance > 0.5", "$.value", "0.5 has no currency", "only a bare 0 needs none"),
        ("balance > 2026-01-01", "$.value", "has no currency", "500 EUR"),
        ("balance > 500 XYZ", "$.value", "'XYZ' is not an ISO 4217", "ISO 4217"),
        ("balance > 500 XAU", "$.value", "'XAU' is not an ISO 4217", "ISO 4217"),
        ("balance > 5.001 USD", "$.value", "more decimals than USD allows (2)", "round it to 2"),
        ("balance > 5.5 JPY", "$.value", "more decimals than JPY allows (0)", "round it to 0"),
        ("days_past_due > 1.5", "$.value", "whole number", "30"),
        ("days_past_due > 2026-01-01", "$.value", "is a number", "30"),
        ("due_date < 30", "$.value", "is a date", "30 days ago"),
        (
            "document_type = invoce",
            "$.value",
            "'invoce' is not a document_type",
            "did you mean invoice?",
        ),
        (
            "document_type includes (invoice, note)",
            "$.value[1]",
            "'note' is not a document_type",
            "credit_note",
        ),
        ("currency includes (USD, usd)", "$.value[1]", "not an ISO 4217", "upper case: USD"),
        ("customer.country = de", "$.value", "not an ISO 3166-1", "upper case: DE"),
        ("customer.country = XX", "$.value", "not an ISO 3166-1", "DE, US"),
        ("customer.language = English", "$.value", "not an ISO 639", "en, de"),
        ("transaction_type = 5", "$.value", "is string; 5 is not", "quoted"),
        (
            "days_past_due between 90 and 30",
            "$",
            "is empty: the low end is above",
            "between 30 and 90",
        ),
        ("due_date between today and 30 days ago", "$", "is empty", "swap them"),
        ("balance between 1 USD and 5 EUR", "$", "different currencies", "use one"),
    ],
)
def test_bad_literals(invoice, text, path, what, fix):
    p = _one(text, invoice)
    assert p.path == path
    assert what in p.what
    assert fix in p.fix


def test_every_problem_is_reported_with_its_position(invoice):
    rule = parse("blance > 5 USD and\n  currency > USD and\n  days_past_due > 1.5")
    with pytest.raises(RuleError) as exc:
        check(rule, invoice)
    found = exc.value.problems
    assert [(p.path, p.line, p.column) for p in found] == [
        ("$.all[0].field", 1, 1),
        ("$.all[1].op", 2, 3),
        ("$.all[2].value", 3, 19),
    ]
    assert "(and 2 more problems)" in exc.value.message
    assert str(found[2]).startswith("line 3, column 19 ($.all[2].value): ")


def test_decision_table_conditions_are_checked_with_their_path(invoice):
    p = _one("decide first\nwhen disputed then 1\nwhen balance > 5 then 2", invoice)
    assert p.path == "$.rules[1].when.value"
    assert p.line == 3
