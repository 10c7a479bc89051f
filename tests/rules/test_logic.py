"""Kleene three-valued logic: a missing value is unknown through and, or and not alike;
a rule matches only when it is true; is empty answers for missing values explicitly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arpolicy.kit.money import Money
from arpolicy.rules import bind, explain, parse, to_python

AS_OF = date(2026, 11, 23)
USD = Money(Decimal("600.00"), "USD")
SMALL = Money(Decimal("1.00"), "USD")
T, F, U = {"balance": USD}, {"balance": SMALL}, {}
"""Records making ``balance > 500 USD`` true, false and unknown (missing)."""
B_T, B_F, B_U = {"disputed": True}, {"disputed": False}, {}


def run(text: str, record, fields) -> tuple[bool, str]:
    bound = bind(parse(text), AS_OF)
    return to_python(bound, fields)(record), explain(bound, record, fields).verdict


@pytest.mark.parametrize(
    ("a", "b", "and_", "or_"),
    [
        (T, B_T, "yes", "yes"),
        (T, B_F, "no", "yes"),
        (T, B_U, "unknown", "yes"),
        (F, B_T, "no", "yes"),
        (F, B_F, "no", "no"),
        (F, B_U, "no", "unknown"),
        (U, B_T, "unknown", "yes"),
        (U, B_F, "no", "unknown"),
        (U, B_U, "unknown", "unknown"),
    ],
)
def test_truth_tables(invoice, a, b, and_, or_):
    record = a | b
    assert run("balance > 500 USD and disputed", record, invoice) == (and_ == "yes", and_)
    assert run("balance > 500 USD or disputed", record, invoice) == (or_ == "yes", or_)
    negated = {"yes": "no", "no": "yes", "unknown": "unknown"}
    assert run("not (balance > 500 USD and disputed)", record, invoice)[1] == negated[and_]
    assert run("not (balance > 500 USD or disputed)", record, invoice)[1] == negated[or_]


@pytest.mark.parametrize(
    "text",
    [
        "balance > 500 USD",
        "not (balance > 500 USD)",
        "balance <= 500 USD",
        "not (balance <= 500 USD)",
        "customer.country = DE",
        "customer.country != DE",
        "not (customer.country = DE)",
        "customer.country includes (DE)",
        "customer.country excludes (DE)",
        "not (customer.country excludes (DE))",
        "p2p_date < today",
        "not (p2p_date < today)",
        "p2p_date between 2026-01-01 and 2026-12-31",
        "not (p2p_date between 2026-01-01 and 2026-12-31)",
        "cf.approved",
        "not cf.approved",
        "cf.approved is no",
        "last_email_at < today",
        "not (last_email_at != 2026-11-01)",
        "not not not balance > 500 USD",
    ],
)
def test_a_missing_value_never_matches_a_comparison(invoice, text):
    for record in ({}, {f: None for f in invoice}):
        assert run(text, record, invoice) == (False, "unknown")


def test_is_empty_is_the_explicit_test(invoice):
    assert run("customer.country is empty", {}, invoice) == (True, "yes")
    assert run("customer.country is empty", {"customer.country": None}, invoice) == (True, "yes")
    assert run("customer.country is not empty", {}, invoice) == (False, "no")
    assert run("not (customer.country is empty)", {}, invoice) == (False, "no")
    found = {"customer.country": "DE"}
    assert run("customer.country is empty or customer.country != DE", found, invoice) == (
        False,
        "no",
    )


def test_a_true_branch_wins_over_unknown_and_a_false_one_over_unknown(invoice):
    assert run("customer.country = DE or balance > 500 USD", T, invoice) == (True, "yes")
    assert run("customer.country = DE and balance > 500 USD", F, invoice) == (False, "no")
