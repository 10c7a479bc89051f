"""Size bounds. A rule is data a tenant sends us: every dimension that could make parsing,
checking, compiling or evaluating expensive is bounded, each with its own clear error."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arpolicy.rules.ast import (
    LEAVES,
    RANGE_WITH_DAYS,
    RELATIVE_WITH_DAYS,
    All,
    DateLit,
    DecisionTable,
    Excludes,
    Includes,
    InRange,
    MoneyLit,
    Node,
    Not,
    NumberLit,
    Pos,
    RelativeDate,
    Rule,
    StringLit,
    TableRule,
    children,
    walk,
)
from arpolicy.rules.ast import Any as AnyNode
from arpolicy.rules.errors import Problem, RuleError, problem

LITERALS = (MoneyLit, NumberLit, DateLit, RelativeDate, StringLit)

MAX_TEXT = 10_000
"""Characters in the text form."""
MAX_NODES = 200
"""Conditions (leaves, all, any, not) in one rule or decision table."""
MAX_DEPTH = 12
"""Nesting of all / any / not."""
MAX_LIST = 500
"""Values in one includes / excludes list."""
MAX_LITERALS = 2_000
"""Literal values in the whole rule."""
MAX_DAYS = 36_600
"""Days in a relative date (100 years)."""
MAX_BUSINESS_DAYS = 2_600
"""Business days in a relative date (about ten years: each is looked up in a calendar)."""
MAX_STRING = 1_000
"""Characters in one string literal."""
MAX_INT_DIGITS = 18
MAX_PLACES = 12
MAX_OUTCOME_ITEMS = 1_000
"""Values (recursively) in one decision-table outcome."""


def check_decimal(value: Decimal, path: str, pos: Pos | None) -> Problem | None:
    if not value.is_finite():
        return problem(path, pos, f"{value} is not a finite number", "write a plain number")
    if value != 0 and value.adjusted() >= MAX_INT_DIGITS:
        return problem(
            path, pos, f"{value} is too large", f"use at most {MAX_INT_DIGITS} integer digits"
        )
    exp = value.as_tuple().exponent
    if isinstance(exp, int) and -exp > MAX_PLACES:
        return problem(
            path, pos, f"{value} has too many decimals", f"use at most {MAX_PLACES} decimals"
        )
    return None


def check_outcome(value: Any, path: str) -> list[Problem]:
    """An outcome is plain JSON without floats, bounded in size and depth."""
    found: list[Problem] = []
    budget = [MAX_OUTCOME_ITEMS]

    def visit(v: Any, p: str, depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH:
            if budget[0] == -1 or depth == MAX_DEPTH + 1:
                found.append(
                    problem(
                        path,
                        None,
                        "the outcome is too big",
                        f"keep it under {MAX_OUTCOME_ITEMS} values and {MAX_DEPTH} levels",
                    )
                )
            return
        if v is None or isinstance(v, bool | int):
            return
        if isinstance(v, str):
            if len(v) > MAX_STRING:
                found.append(
                    problem(p, None, "the string is too long", f"keep it under {MAX_STRING}")
                )
            return
        if isinstance(v, float):
            found.append(
                problem(
                    p,
                    None,
                    f"{v!r} is a floating-point number",
                    f'write decimals as strings, e.g. "{v}"',
                )
            )
            return
        if isinstance(v, list | tuple):
            for i, item in enumerate(v):
                visit(item, f"{p}[{i}]", depth + 1)
            return
        if isinstance(v, dict):
            for k, item in v.items():
                if not isinstance(k, str):
                    found.append(problem(p, None, f"key {k!r} is not a string", "use string keys"))
                else:
                    visit(item, f"{p}.{k}", depth + 1)
            return
        found.append(
            problem(
                p,
                None,
                f"{type(v).__name__} is not a JSON value",
                "use strings, integers, booleans, null, lists and objects",
            )
        )

    visit(value, path, 0)
    return found


def _depth(node: Node) -> int:
    """Nesting of all / any / not (a leaf alone is 0)."""
    own = 1 if isinstance(node, All | AnyNode | Not) else 0
    return own + max((_depth(c) for _, c in children(node)), default=0)


def limit_problems(rule: Rule) -> list[Problem]:
    """Every bound the rule breaks (an empty list when it fits)."""
    found: list[Problem] = []
    nodes = 0
    literal_count = 0
    for path, node in walk(rule):
        pos = getattr(node, "pos", None)
        if isinstance(node, (*LEAVES, All, AnyNode, Not)):
            nodes += 1
            if nodes == MAX_NODES + 1:
                found.append(
                    problem(
                        path,
                        pos,
                        f"the rule has more than {MAX_NODES} conditions",
                        "split it into several rules or use includes lists",
                    )
                )
        if isinstance(node, All | AnyNode) and not node.items:
            kind = "all" if isinstance(node, All) else "any"
            found.append(
                problem(path, pos, f"{kind} has no conditions", f"add conditions or drop {kind}")
            )
        if isinstance(node, Includes | Excludes):
            if not node.values:
                found.append(
                    problem(path, pos, "the list is empty", "give at least one value in the list")
                )
            if len(node.values) > MAX_LIST:
                found.append(
                    problem(
                        path,
                        pos,
                        f"the list has {len(node.values)} values, more than {MAX_LIST}",
                        "use a shorter list, or a custom field that groups the values",
                    )
                )
        if isinstance(node, StringLit) and len(node.value) > MAX_STRING:
            found.append(
                problem(path, pos, "the string is too long", f"use at most {MAX_STRING} characters")
            )
        if isinstance(node, RelativeDate | InRange):
            days = node.days if isinstance(node, RelativeDate) else node.range.days
            with_days = (
                node.kind in RELATIVE_WITH_DAYS
                if isinstance(node, RelativeDate)
                else node.range.kind in RANGE_WITH_DAYS
            )
            business = "business" in str(
                node.kind if isinstance(node, RelativeDate) else node.range.kind
            )
            most = MAX_BUSINESS_DAYS if business else MAX_DAYS
            if with_days and not 0 <= days <= most:
                found.append(
                    problem(path, pos, f"{days} days is out of range", f"use 0 to {most} days")
                )
        if isinstance(node, TableRule):
            found.extend(check_outcome(node.then.value, path + ".then"))
        if isinstance(node, DecisionTable) and node.default is not None:
            found.extend(check_outcome(node.default.value, path + ".otherwise"))
        if isinstance(node, MoneyLit | NumberLit):
            bad = check_decimal(
                node.amount if isinstance(node, MoneyLit) else node.value, path, pos
            )
            found.extend([bad] if bad else [])
        literal_count += isinstance(node, LITERALS)
    if literal_count > MAX_LITERALS:
        found.append(
            problem("$", None, f"the rule has more than {MAX_LITERALS} values", "shorten lists")
        )
    depth = _depth(rule)
    if depth > MAX_DEPTH:
        found.append(
            problem(
                "$",
                getattr(rule, "pos", None),
                f"conditions are nested {depth} deep, more than {MAX_DEPTH}",
                "flatten the rule: a and (b and c) is a and b and c",
            )
        )
    return found


def check_limits(rule: Rule) -> None:
    found = limit_problems(rule)
    if found:
        raise RuleError(found)
