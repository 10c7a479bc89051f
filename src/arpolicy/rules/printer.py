"""AST -> canonical text. ``parse(to_text(rule)) == rule`` for every rule the checker accepts,
and ``to_text(parse(text))`` is the canonical spelling of ``text``.

Canonical choices: ``and`` / ``or`` groups nested in another group are parenthesised,
strings are bare words when they can be (``invoice``, ``USD``) and JSON-quoted otherwise,
numbers keep the decimals they were written with, ``disputed is yes`` is ``disputed``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from arpolicy.rules.ast import (
    All,
    Any,
    Between,
    BoolTest,
    Compare,
    Condition,
    DateLit,
    DateRange,
    DecisionTable,
    Excludes,
    Includes,
    InRange,
    IsEmpty,
    Literal,
    MoneyLit,
    Not,
    NumberLit,
    RangeKind,
    RelativeDate,
    RelKind,
    Rule,
)

RESERVED = frozenset(
    (
        "and",
        "or",
        "not",
        "between",
        "includes",
        "excludes",
        "is",
        "empty",
        "yes",
        "no",
        "in",
        "the",
        "last",
        "next",
        "business",
        "day",
        "days",
        "ago",
        "today",
        "start",
        "end",
        "of",
        "month",
        "current",
        "previous",
        "decide",
        "first",
        "collect",
        "when",
        "then",
        "otherwise",
        "true",
        "false",
        "null",
    )
)
"""Words of the grammar: a string equal to one of them is always quoted."""
WORD = re.compile(r"[^\W\d]\w*(?:-\w+)*\Z")
"""A bare word, as the grammar's WORD reads it (letters of any script)."""


def number(value: Decimal) -> str:
    """Plain digits, the decimals as written; zero has no sign."""
    return format(value.copy_abs() if value.is_zero() else value, "f")


def string(value: str) -> str:
    if WORD.match(value) and value.lower() not in RESERVED:
        return value
    return json.dumps(value, ensure_ascii=False)


def _days(n: int, business: bool) -> str:
    return f"{n} {'business ' if business else ''}{'day' if n == 1 else 'days'}"


def relative(r: RelativeDate) -> str:
    kind = r.kind
    if kind is RelKind.TODAY:
        return "today"
    if kind in (RelKind.DAYS_AGO, RelKind.BUSINESS_DAYS_AGO):
        return _days(r.days, kind is RelKind.BUSINESS_DAYS_AGO) + " ago"
    if kind in (RelKind.IN_DAYS, RelKind.IN_BUSINESS_DAYS):
        return "in " + _days(r.days, kind is RelKind.IN_BUSINESS_DAYS)
    edge, _, month = kind.value.partition("_of_")
    return f"{edge} of {month.replace('_', ' ')}"


def date_range(r: DateRange) -> str:
    if r.kind is RangeKind.CURRENT_MONTH:
        return "in current month"
    if r.kind is RangeKind.PREVIOUS_MONTH:
        return "in previous month"
    if r.kind is RangeKind.NEXT_MONTH:
        return "in next month"
    which = "last" if r.kind in (RangeKind.LAST_DAYS, RangeKind.LAST_BUSINESS_DAYS) else "next"
    business = r.kind in (RangeKind.LAST_BUSINESS_DAYS, RangeKind.NEXT_BUSINESS_DAYS)
    return f"in the {which} {_days(r.days, business)}"


def literal(lit: Literal) -> str:
    if isinstance(lit, MoneyLit):
        return f"{number(lit.amount)} {lit.currency}"
    if isinstance(lit, NumberLit):
        return number(lit.value)
    if isinstance(lit, DateLit):
        return lit.value.isoformat()
    if isinstance(lit, RelativeDate):
        return relative(lit)
    return string(lit.value)


def value_list(values: tuple[Literal, ...]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def leaf(node: Condition) -> str:
    if isinstance(node, Compare):
        return f"{node.field} {node.op} {literal(node.value)}"
    if isinstance(node, Between):
        return f"{node.field} between {literal(node.low)} and {literal(node.high)}"
    if isinstance(node, Includes):
        return f"{node.field} includes {value_list(node.values)}"
    if isinstance(node, Excludes):
        return f"{node.field} excludes {value_list(node.values)}"
    if isinstance(node, IsEmpty):
        return f"{node.field} is {'not ' if node.negated else ''}empty"
    if isinstance(node, BoolTest):
        return node.field if node.value else f"{node.field} is no"
    if isinstance(node, InRange):
        return f"{node.field} {date_range(node.range)}"
    raise TypeError(f"not a leaf: {node!r}")


def condition(node: Condition, nested: bool = False) -> str:
    if isinstance(node, All | Any):
        if len(node.items) == 1:
            return condition(node.items[0], nested)
        joiner = " and " if isinstance(node, All) else " or "
        text = joiner.join(condition(item, True) for item in node.items)
        return f"({text})" if nested else text
    if isinstance(node, Not):
        return "not " + condition(node.item, True)
    return leaf(node)


def outcome(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def to_text(rule: Rule) -> str:
    """The canonical text of a rule (a decision table takes one line per rule)."""
    if isinstance(rule, DecisionTable):
        lines = [f"decide {rule.hit_policy.value}"]
        lines += [f"when {condition(r.when)} then {outcome(r.then.value)}" for r in rule.rules]
        if rule.default is not None:
            lines.append(f"otherwise {outcome(rule.default.value)}")
        return "\n".join(lines)
    return condition(rule)
