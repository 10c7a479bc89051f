"""Sizes and nesting are bounded, each with a clear error."""

from __future__ import annotations

import pytest

from arpolicy.rules import RuleError, from_json, parse
from arpolicy.rules.limits import MAX_DEPTH, MAX_LIST, MAX_NODES, MAX_TEXT


def _what(fn, arg) -> str:
    with pytest.raises(RuleError) as exc:
        fn(arg)
    return exc.value.problems[0].what


def test_text_length():
    assert "characters long" in _what(parse, "a" + " " * MAX_TEXT)


def test_number_of_conditions():
    text = " or ".join(f"f{i}" for i in range(MAX_NODES + 1))
    assert f"more than {MAX_NODES} conditions" in _what(parse, text)


def test_nesting_depth():
    text = "not " * (MAX_DEPTH + 1) + "a"
    assert f"more than {MAX_DEPTH}" in _what(parse, text)
    parse("not " * MAX_DEPTH + "a")


def test_list_length():
    values = [str(i) for i in range(MAX_LIST + 1)]
    data = {"field": "a", "op": "includes", "value": values}
    assert f"more than {MAX_LIST}" in _what(from_json, data)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("a < 99999 days ago", "days is out of range"),
        ("a < 5000 business days ago", "days is out of range"),
        ("a > 1234567890123456789012", "too large"),
        ("a > 0.0000000000001", "too many decimals"),
        ('a = "' + "x" * 1001 + '"', "string is too long"),
    ],
)
def test_values(text, what):
    assert what in _what(parse, text)


def test_huge_json_lists_are_refused_before_they_are_read():
    leaf = {"field": "a", "op": "is", "value": True}
    assert "more than" in _what(from_json, {"any": [leaf] * 100_000})
    assert "more than" in _what(from_json, {"field": "a", "op": "includes", "value": ["x"] * 10**5})


def test_outcomes():
    data = {
        "decide": "first",
        "rules": [{"when": {"field": "a", "op": "is", "value": True}, "then": list(range(2000))}],
    }
    assert "outcome is too big" in _what(from_json, data)


def test_nothing_in_a_rule_executes_code(invoice):
    """Field names and strings that look like Python stay data: they never reach source."""
    from datetime import date

    from arpolicy.rules import bind, to_python
    from arpolicy.rules.ast import Compare, StringLit

    evil = "__import__('os').system('echo pwned')"
    rule = parse(f'transaction_type = "{evil}" or cf.po_number includes ("){evil}#")')
    fn = to_python(bind(rule, date(2026, 1, 1)), invoice)
    assert "__import__" not in fn.__source__  # type: ignore[attr-defined]
    assert fn({"transaction_type": evil}) is True
    assert Compare("transaction_type", "=", StringLit(evil)) in rule.items  # type: ignore[union-attr]
