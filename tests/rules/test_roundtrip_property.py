"""Property: text -> AST -> JSON -> AST -> text is the identity on canonical text, for
hypothesis-generated rules (every construct, any string, nesting, decision tables)."""

from __future__ import annotations

import json
import string
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from arpolicy.rules import ast as a
from arpolicy.rules import from_json, parse, to_json, to_text
from arpolicy.rules.limits import limit_problems

NAMES = [
    "balance",
    "due_date",
    "x",
    "_a1",
    "cf.not",
    "customer.cf.in",
    "customer.country",
    "A_b.C9",
    "days_past_due",
    "cf.today",
    "e",
]
names = st.sampled_from(NAMES)
decimals = st.builds(
    lambda digits, places, negative: Decimal(f"{'-' if negative else ''}{digits}").scaleb(-places),
    st.integers(0, 10**12),
    st.integers(0, 4),
    st.booleans(),
)
literals = st.one_of(
    st.builds(a.MoneyLit, decimals, st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP"])),
    st.builds(a.NumberLit, decimals),
    st.builds(a.DateLit, st.dates(date(1900, 1, 1), date(2999, 12, 31))),
    st.builds(a.RelativeDate, st.sampled_from(list(a.RelKind)), st.integers(0, 999)).map(
        lambda r: r if r.kind in a.RELATIVE_WITH_DAYS else a.RelativeDate(r.kind)
    ),
    st.builds(a.StringLit, st.text(max_size=12)),
    st.builds(a.StringLit, st.text(string.ascii_letters + "_-", min_size=1, max_size=8)),
)
ranges = st.builds(a.DateRange, st.sampled_from(list(a.RangeKind)), st.integers(0, 999)).map(
    lambda r: r if r.kind in a.RANGE_WITH_DAYS else a.DateRange(r.kind)
)
value_lists = st.lists(literals, min_size=1, max_size=4).map(tuple)
leaves = st.one_of(
    st.builds(a.Compare, names, st.sampled_from(a.COMPARE_OPS), literals),
    st.builds(a.Between, names, literals, literals),
    st.builds(a.Includes, names, value_lists),
    st.builds(a.Excludes, names, value_lists),
    st.builds(a.IsEmpty, names, st.booleans()),
    st.builds(a.BoolTest, names, st.booleans()),
    st.builds(a.InRange, names, ranges),
)
conditions = st.recursive(
    leaves,
    lambda kids: (
        st.builds(a.All, st.lists(kids, min_size=2, max_size=4).map(tuple))
        | st.builds(a.Any, st.lists(kids, min_size=2, max_size=4).map(tuple))
        | st.builds(a.Not, kids)
    ),
    max_leaves=10,
).filter(lambda c: not limit_problems(c))
outcomes = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=10),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=6,
)
tables = st.builds(
    a.DecisionTable,
    st.sampled_from(list(a.HitPolicy)),
    st.lists(
        st.builds(a.TableRule, conditions, st.builds(a.Outcome, outcomes)), min_size=1, max_size=3
    ).map(tuple),
    st.none() | st.builds(a.Outcome, outcomes),
).filter(lambda t: not limit_problems(t))
rules = conditions | tables


@settings(max_examples=300, deadline=None)
@given(rules)
def test_text_json_text_round_trip(rule):
    text = to_text(rule)
    parsed = parse(text)
    assert parsed == rule
    stored = json.loads(json.dumps(to_json(parsed)))
    again = from_json(stored)
    assert again == rule
    assert to_text(again) == text


@settings(max_examples=100, deadline=None)
@given(rules)
def test_printing_is_canonical(rule):
    text = to_text(rule)
    assert to_text(parse(text)) == text
