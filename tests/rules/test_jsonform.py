"""The JSON form: stable shapes, and structural errors with precise paths."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arpolicy.rules import RuleError, from_json, parse, to_json
from arpolicy.rules.ast import Compare, DateLit, NumberLit


def test_shapes_are_stable():
    rule = parse(
        "balance > 500 USD and due_date < 30 days ago and not disputed"
        " and currency includes (USD, EUR) and x between 1 and 2.5 and y is not empty"
        " and d in the last 15 days and e = 2026-01-31"
    )
    assert to_json(rule) == {
        "all": [
            {"field": "balance", "op": ">", "value": {"amount": "500", "currency": "USD"}},
            {"field": "due_date", "op": "<", "value": {"relative": "days_ago", "days": 30}},
            {"not": {"field": "disputed", "op": "is", "value": True}},
            {"field": "currency", "op": "includes", "value": ["USD", "EUR"]},
            {"field": "x", "op": "between", "low": 1, "high": {"number": "2.5"}},
            {"field": "y", "op": "is not empty"},
            {"field": "d", "op": "in", "value": {"range": "last_days", "days": 15}},
            {"field": "e", "op": "=", "value": {"date": "2026-01-31"}},
        ]
    }


def test_numbers_keep_their_decimals():
    rule = Compare("x", "=", NumberLit(Decimal("2.50")))
    assert to_json(rule)["value"] == {"number": "2.50"}
    assert from_json(to_json(rule)) == rule


def test_a_bound_date_keeps_its_phrase():
    rule = Compare("x", "<", DateLit(__import__("datetime").date(2026, 10, 24), "30 days ago"))
    data = to_json(rule)
    assert data["value"] == {"date": "2026-10-24", "phrase": "30 days ago"}
    assert from_json(data) == rule


def test_a_single_item_all_reads_and_prints_as_its_item():
    from arpolicy.rules import to_text

    rule = from_json({"all": [{"field": "a", "op": "is", "value": True}]})
    assert to_text(rule) == "a"


def _problem(data):
    with pytest.raises(RuleError) as exc:
        from_json(data)
    return exc.value.problems[0]


LEAF = {"field": "a", "op": "=", "value": 1}


@pytest.mark.parametrize(
    ("data", "path", "what", "fix"),
    [
        (
            {"all": [LEAF, LEAF, {"field": "b", "op": "~", "value": 1}]},
            "$.all[2].op",
            "unknown operator '~'",
            "use one of",
        ),
        (
            {"all": [LEAF, {"field": "b", "op": "=", "value": 1.5}]},
            "$.all[1].value",
            "floating-point",
            '{"number": "1.5"}',
        ),
        (
            {"any": [{"field": "b", "op": "includes", "value": "USD"}]},
            "$.any[0].value",
            "expected a list",
            '["USD", "EUR"]',
        ),
        (
            {"not": {"field": "b", "op": "=", "value": {"amount": "x", "currency": "USD"}}},
            "$.not.value.amount",
            "'x' is not a number",
            "12.50",
        ),
        (
            {"field": "b", "op": "=", "value": {"date": "2026-13-01"}},
            "$.value.date",
            "is not a date",
            "YYYY-MM-DD",
        ),
        (
            {"field": "b", "op": "<", "value": {"relative": "days_agoo", "days": 3}},
            "$.value.relative",
            "not a relative date",
            "did you mean 'days_ago'",
        ),
        (
            {"field": "b", "op": "<", "value": {"relative": "days_ago"}},
            "$.value",
            "missing days",
            "add 'days'",
        ),
        (
            {"field": "b", "op": "<", "value": {"relative": "days_ago", "days": "3"}},
            "$.value.days",
            "whole number",
            "30",
        ),
        ({"field": "b", "op": "=", "value": 1, "extra": 2}, "$", "unknown key 'extra'", "use only"),
        ({"field": "b", "op": "between", "low": 1}, "$", "missing high", "add 'high'"),
        (
            {"field": "b", "op": "is", "value": "yes"},
            "$.value",
            "expected true or false",
            "true or false",
        ),
        (
            {"field": "b", "op": "=", "value": True},
            "$.value",
            "only goes with op 'is'",
            '"op": "is"',
        ),
        ({"alll": [LEAF]}, "$", "unknown key 'alll'", "did you mean 'all'"),
        ({"all": []}, "$.all", "all has no conditions", "add conditions"),
        (
            {"field": "b", "op": "in", "value": {"range": "this_week"}},
            "$.value.range",
            "not a date range",
            "last_days",
        ),
        ([LEAF], "$", "expected an object", "format"),
        ({"decide": "all", "rules": []}, "$.decide", "not a hit policy", "first, collect"),
        ({"decide": "first", "rules": []}, "$.rules", "no rules", "when, then"),
        (
            {"decide": "first", "rules": [{"when": LEAF, "then": 0.5}]},
            "$.rules[0].then",
            "floating-point",
            "strings",
        ),
    ],
)
def test_structural_errors_say_where(data, path, what, fix):
    p = _problem(data)
    assert p.path == path
    assert what in p.what
    assert fix in p.fix


def test_deep_json_is_refused_before_recursing_far():
    data: dict = LEAF
    for _ in range(1000):
        data = {"not": data}
    p = _problem(data)
    assert "nested deeper" in p.what
