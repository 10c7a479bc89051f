"""Decision tables: first and collect, defaults, and their explanations."""

from __future__ import annotations

from datetime import date

from arpolicy.rules import bind, check, explain, parse, table_to_python

AS_OF = date(2026, 11, 23)
TABLE = """
decide {policy}
when days_past_due >= 60 then "final"
when days_past_due >= 30 then {{"level": 2}}
when days_past_due >= 1 then {{"level": 1}}
{otherwise}
"""


def table(policy: str, otherwise: str, fields):
    rule = check(parse(TABLE.format(policy=policy, otherwise=otherwise)), fields)
    bound = bind(rule, AS_OF)
    return bound, table_to_python(bound, fields)


def test_first_returns_the_first_match_or_the_default(invoice):
    _, f = table("first", 'otherwise "none"', invoice)
    assert [f({"days_past_due": d}) for d in (90, 45, 5, 0)] == [
        "final",
        {"level": 2},
        {"level": 1},
        "none",
    ]
    assert f({}) == "none"
    _, f = table("first", "", invoice)
    assert f({"days_past_due": 0}) is None


def test_collect_returns_every_match_in_order(invoice):
    _, f = table("collect", 'otherwise "none"', invoice)
    assert f({"days_past_due": 90}) == ["final", {"level": 2}, {"level": 1}]
    assert f({"days_past_due": 0}) == ["none"]
    _, f = table("collect", "", invoice)
    assert f({"days_past_due": 0}) == []


def test_the_explanation_shows_each_rule_and_the_outcome(invoice):
    bound, f = table("first", 'otherwise "none"', invoice)
    exp = explain(bound, {"days_past_due": 45}, invoice)
    assert exp.outcome == f({"days_past_due": 45}) == {"level": 2}
    assert exp.matching() == [1, 2]
    assert exp.lines() == [
        'decide first: {"level": 2}',
        '  rule 1 then "final": no',
        "    days_past_due 45 >= 60: no",
        '  rule 2 then {"level": 2}: yes',
        "    days_past_due 45 >= 30: yes",
        '  rule 3 then {"level": 1}: yes',
        "    days_past_due 45 >= 1: yes",
    ]
    data = exp.to_json()
    assert data["outcome"] == {"level": 2}
    assert [r["verdict"] for r in data["rules"]] == ["no", "yes", "yes"]
