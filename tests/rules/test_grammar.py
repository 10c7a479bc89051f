"""The text form: precedence, every construct, and syntax errors with line and column."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arpolicy.rules import RuleError, parse, to_text
from arpolicy.rules.ast import (
    All,
    Any,
    Between,
    BoolTest,
    Compare,
    DateLit,
    DateRange,
    DecisionTable,
    Excludes,
    HitPolicy,
    Includes,
    InRange,
    IsEmpty,
    MoneyLit,
    Not,
    NumberLit,
    Outcome,
    RangeKind,
    RelativeDate,
    RelKind,
    StringLit,
    TableRule,
)


def test_the_issue_example_parses_to_the_expected_tree():
    rule = parse(
        "balance > 500 USD and due_date < 30 days ago and not disputed"
        " and currency includes (USD, EUR)"
    )
    assert rule == All(
        (
            Compare("balance", ">", MoneyLit(Decimal(500), "USD")),
            Compare("due_date", "<", RelativeDate(RelKind.DAYS_AGO, 30)),
            Not(BoolTest("disputed")),
            Includes("currency", (StringLit("USD"), StringLit("EUR"))),
        )
    )


def test_not_binds_tighter_than_and_which_binds_tighter_than_or():
    a, b, c = BoolTest("a"), BoolTest("b"), BoolTest("c")
    assert parse("not a and b or c") == Any((All((Not(a), b)), c))
    assert parse("a or b and c") == Any((a, All((b, c))))
    assert parse("not (a or b)") == Not(Any((a, b)))


def test_parentheses_keep_their_group():
    a, b, c = BoolTest("a"), BoolTest("b"), BoolTest("c")
    assert parse("(a and b) and c") == All((All((a, b)), c))
    assert parse("a and b and c") == All((a, b, c))
    assert to_text(parse("((a and b)) and c")) == "(a and b) and c"


def test_between_takes_its_and_before_the_condition_and():
    rule = parse("x between 1 and 5 and y")
    assert rule == All((Between("x", NumberLit(Decimal(1)), NumberLit(Decimal(5))), BoolTest("y")))


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("a = 2026-01-31", Compare("a", "=", DateLit(date(2026, 1, 31)))),
        ("a != -12.50", Compare("a", "!=", NumberLit(Decimal("-12.50")))),
        ("a >= 1.005 KWD", Compare("a", ">=", MoneyLit(Decimal("1.005"), "KWD"))),
        ('a = "two words"', Compare("a", "=", StringLit("two words"))),
        ("a = in_progress", Compare("a", "=", StringLit("in_progress"))),
        ("a < today", Compare("a", "<", RelativeDate(RelKind.TODAY))),
        ("a < in 7 days", Compare("a", "<", RelativeDate(RelKind.IN_DAYS, 7))),
        ("a < 1 day ago", Compare("a", "<", RelativeDate(RelKind.DAYS_AGO, 1))),
        (
            "a < 10 business days ago",
            Compare("a", "<", RelativeDate(RelKind.BUSINESS_DAYS_AGO, 10)),
        ),
        ("a < in 2 business days", Compare("a", "<", RelativeDate(RelKind.IN_BUSINESS_DAYS, 2))),
        ("a >= start of month", Compare("a", ">=", RelativeDate(RelKind.START_OF_MONTH))),
        (
            "a <= end of previous month",
            Compare("a", "<=", RelativeDate(RelKind.END_OF_PREVIOUS_MONTH)),
        ),
        ("a in the last 15 days", InRange("a", DateRange(RangeKind.LAST_DAYS, 15))),
        ("a in the next 3 business days", InRange("a", DateRange(RangeKind.NEXT_BUSINESS_DAYS, 3))),
        ("a in current month", InRange("a", DateRange(RangeKind.CURRENT_MONTH))),
        ("a in previous month", InRange("a", DateRange(RangeKind.PREVIOUS_MONTH))),
        ("a in next month", InRange("a", DateRange(RangeKind.NEXT_MONTH))),
        ("a < end of next month", Compare("a", "<", RelativeDate(RelKind.END_OF_NEXT_MONTH))),
        (
            "a >= start of next month",
            Compare("a", ">=", RelativeDate(RelKind.START_OF_NEXT_MONTH)),
        ),
        ("a >= start of current month", Compare("a", ">=", RelativeDate(RelKind.START_OF_MONTH))),
        ('a excludes (DE, "and")', Excludes("a", (StringLit("DE"), StringLit("and")))),
        ("a includes USD", Includes("a", (StringLit("USD"),))),
        ("a is empty", IsEmpty("a")),
        ("a is not empty", IsEmpty("a", negated=True)),
        ("a is yes", BoolTest("a", True)),
        ("a is no", BoolTest("a", False)),
        ("customer.cf.tier = gold", Compare("customer.cf.tier", "=", StringLit("gold"))),
    ],
)
def test_each_construct(text, node):
    assert parse(text) == node


def test_canonical_text():
    text = 'a is yes and b = "USD" and c includes ("x y", today2) # a comment\n and d is no'
    assert to_text(parse(text)) == 'a and b = USD and c includes ("x y", today2) and d is no'


def test_zero_is_printed_without_a_sign():
    assert to_text(parse("a > -0.00 USD and b = -0")) == "a > 0.00 USD and b = 0"


def test_decision_table():
    rule = parse('decide first:\n when a then "x"\n when b then {"n": [1, null]}\n otherwise false')
    assert rule == DecisionTable(
        HitPolicy.FIRST,
        (
            TableRule(BoolTest("a"), Outcome("x")),
            TableRule(BoolTest("b"), Outcome({"n": [1, None]})),
        ),
        Outcome(False),
    )
    assert to_text(rule) == (
        'decide first\nwhen a then "x"\nwhen b then {"n": [1, null]}\notherwise false'
    )


def test_positions_are_recorded_but_not_compared():
    rule = parse("a and\n  balance > 5 USD")
    assert isinstance(rule, All)
    leaf = rule.items[1]
    assert (leaf.pos.line, leaf.pos.column) == (2, 3)
    assert leaf == Compare("balance", ">", MoneyLit(Decimal(5), "USD"))


def _error(text: str):
    with pytest.raises(RuleError) as exc:
        parse(text)
    assert len(exc.value.problems) == 1
    return exc.value.problems[0]


@pytest.mark.parametrize(
    ("text", "line", "column", "what", "fix"),
    [
        ("balance > 500 usd", 1, 15, "unexpected 'usd'", "currency codes are upper case: USD"),
        ("balance >", 1, 10, "ends too early", "expected a value"),
        ("a == 5", 1, 4, "unexpected '='", "single ="),
        ("a && b", 1, 3, "unexpected character '&'", "and"),
        ("a || b", 1, 3, "unexpected character '|'", "or"),
        ("a = 'x'", 1, 5, 'unexpected character "\'"', "double quotes"),
        ("a and\n  b > 5 and c d", 2, 15, "unexpected 'd'", "an operator"),
        ("a > 2026-02-30", 1, 5, "not a calendar date", "YYYY-MM-DD"),
        ("a < 1.5 days ago", 1, 5, "whole number", "30 days ago"),
        ("a includes ()", 1, 13, "unexpected ')'", "expected a value"),
        ("a between 1 or 2", 1, 13, "unexpected 'or'", "'and'"),
        ("n is nothing", 1, 6, "unexpected 'nothing'", "'empty'"),
        ("(a and b", 1, 9, "ends too early", "')'"),
        ("decide first otherwise 1", 1, 14, "unexpected 'otherwise'", "'when'"),
    ],
)
def test_syntax_errors_say_where_what_and_how_to_fix(text, line, column, what, fix):
    p = _error(text)
    assert (p.line, p.column) == (line, column)
    assert what in p.what
    assert fix in p.fix


def test_empty_text_and_non_text_are_errors():
    assert "empty" in _error("   ").what
    with pytest.raises(RuleError):
        parse(None)  # type: ignore[arg-type]


def test_errors_render_as_problem_details():
    with pytest.raises(RuleError) as exc:
        parse("balance >")
    body = exc.value.to_problem()
    assert body["status"] == 422
    assert body["problems"][0]["line"] == 1
    assert body["where"].startswith("line 1, column 10")
