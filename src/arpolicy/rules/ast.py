"""The rule AST: frozen dataclasses, one tree for the JSON form, the text form and both
compilers.

A *condition* is a leaf (:class:`Compare`, :class:`Between`, :class:`Includes`,
:class:`Excludes`, :class:`IsEmpty`, :class:`BoolTest`, :class:`InRange`) or a combination
(:class:`All`, :class:`Any`, :class:`Not`). A :class:`DecisionTable` picks outcomes with
ordered conditions. Literals are :class:`MoneyLit`, :class:`NumberLit`, :class:`DateLit`,
:class:`RelativeDate` and :class:`StringLit`.

``pos`` (line and column in the text form) is carried for error messages only: it takes no
part in equality, so a parsed rule equals the same rule read from JSON.

Walking: :func:`walk` yields ``(json_path, node)`` pairs in pre-order with the paths of the
JSON form (``$.all[2].value``); :class:`Visitor` dispatches on the node class like
:class:`ast.NodeVisitor`.
"""

from __future__ import annotations

import dataclasses as dc
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any as AnyType
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Pos:
    line: int
    column: int


# literals ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MoneyLit:
    amount: Decimal
    currency: str
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NumberLit:
    value: Decimal
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DateLit:
    value: date
    phrase: str | None = None
    """The relative phrase this date was resolved from by :func:`~arpolicy.rules.bind`."""
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


class RelKind(enum.StrEnum):
    TODAY = "today"
    DAYS_AGO = "days_ago"
    IN_DAYS = "in_days"
    BUSINESS_DAYS_AGO = "business_days_ago"
    IN_BUSINESS_DAYS = "in_business_days"
    START_OF_MONTH = "start_of_month"
    END_OF_MONTH = "end_of_month"
    START_OF_PREVIOUS_MONTH = "start_of_previous_month"
    END_OF_PREVIOUS_MONTH = "end_of_previous_month"
    START_OF_NEXT_MONTH = "start_of_next_month"
    END_OF_NEXT_MONTH = "end_of_next_month"


RELATIVE_WITH_DAYS = frozenset(
    {RelKind.DAYS_AGO, RelKind.IN_DAYS, RelKind.BUSINESS_DAYS_AGO, RelKind.IN_BUSINESS_DAYS}
)


@dataclass(frozen=True, slots=True)
class RelativeDate:
    kind: RelKind
    days: int = 0
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StringLit:
    """A string, an enum value or a code (``"Acme"``, ``invoice``, ``USD``)."""

    value: str
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)
    bare_words: bool = dc.field(default=False, compare=False, repr=False)
    """Written as several unquoted words (``Anna Berg``): the checker takes that for an
    owner's name only, where elsewhere it is more likely a missing ``and``."""


Literal: TypeAlias = MoneyLit | NumberLit | DateLit | RelativeDate | StringLit


class RangeKind(enum.StrEnum):
    LAST_DAYS = "last_days"
    NEXT_DAYS = "next_days"
    LAST_BUSINESS_DAYS = "last_business_days"
    NEXT_BUSINESS_DAYS = "next_business_days"
    CURRENT_MONTH = "current_month"
    PREVIOUS_MONTH = "previous_month"
    NEXT_MONTH = "next_month"


RANGE_WITH_DAYS = frozenset(
    {
        RangeKind.LAST_DAYS,
        RangeKind.NEXT_DAYS,
        RangeKind.LAST_BUSINESS_DAYS,
        RangeKind.NEXT_BUSINESS_DAYS,
    }
)


@dataclass(frozen=True, slots=True)
class DateRange:
    """``in the last 15 days``: ``between 15 days ago and today`` once bound."""

    kind: RangeKind
    days: int = 0


# conditions ------------------------------------------------------------------------------
COMPARE_OPS = ("<", "<=", ">", ">=", "=", "!=")


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    op: str
    value: Literal
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Between:
    """``low <= field <= high`` (both ends included)."""

    field: str
    low: Literal
    high: Literal
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Includes:
    """The field's value is one of ``values``."""

    field: str
    values: tuple[Literal, ...]
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Excludes:
    """The field has a value and it is none of ``values``."""

    field: str
    values: tuple[Literal, ...]
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IsEmpty:
    """``field is empty`` (``negated``: ``is not empty``): the one test a missing value passes."""

    field: str
    negated: bool = False
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BoolTest:
    """``disputed`` (value True) or ``disputed is no`` (value False)."""

    field: str
    value: bool = True
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class InRange:
    """``due_date in the next 7 days``; replaced by a :class:`Between` when bound."""

    field: str
    range: DateRange
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Any:
    items: tuple[Condition, ...]
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


Leaf: TypeAlias = Compare | Between | Includes | Excludes | IsEmpty | BoolTest | InRange
Condition: TypeAlias = Leaf | All | Any | Not
LEAVES = (Compare, Between, Includes, Excludes, IsEmpty, BoolTest, InRange)


class HitPolicy(enum.StrEnum):
    FIRST = "first"
    COLLECT = "collect"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A JSON value a decision table returns (strings, integers, booleans, null, lists and
    objects of them). Shared between evaluations: callers must not mutate it."""

    value: AnyType


@dataclass(frozen=True, slots=True)
class TableRule:
    when: Condition
    then: Outcome
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DecisionTable:
    """Ordered rules. ``first``: the outcome of the first rule that matches, else the
    default (None without one). ``collect``: the outcomes of every matching rule in order,
    else ``[default]`` (``[]`` without one)."""

    hit_policy: HitPolicy
    rules: tuple[TableRule, ...]
    default: Outcome | None = None
    pos: Pos | None = dc.field(default=None, compare=False, repr=False)


Rule: TypeAlias = Condition | DecisionTable
Node: TypeAlias = Rule | TableRule | Literal


# walking ---------------------------------------------------------------------------------
def literals(node: Leaf) -> Iterator[tuple[str, Literal]]:
    """``(json key path, literal)`` of a leaf's literals."""
    if isinstance(node, Compare):
        yield ".value", node.value
    elif isinstance(node, Between):
        yield ".low", node.low
        yield ".high", node.high
    elif isinstance(node, Includes | Excludes):
        for i, v in enumerate(node.values):
            yield f".value[{i}]", v


def children(node: Node) -> Iterator[tuple[str, Node]]:
    """Direct children of ``node`` with their JSON path suffixes."""
    if isinstance(node, All):
        for i, item in enumerate(node.items):
            yield f".all[{i}]", item
    elif isinstance(node, Any):
        for i, item in enumerate(node.items):
            yield f".any[{i}]", item
    elif isinstance(node, Not):
        yield ".not", node.item
    elif isinstance(node, DecisionTable):
        for i, rule in enumerate(node.rules):
            yield f".rules[{i}]", rule
    elif isinstance(node, TableRule):
        yield ".when", node.when
    elif isinstance(node, LEAVES):
        yield from literals(node)


def walk(node: Node, path: str = "$") -> Iterator[tuple[str, Node]]:
    """Every node in pre-order with its JSON path."""
    yield path, node
    for suffix, child in children(node):
        yield from walk(child, path + suffix)


class Visitor:
    """``visit(node)`` calls ``visit_<ClassName>(node)``, else :meth:`generic_visit`, which
    visits the children. Subclass it (the SQL compiler does)."""

    def visit(self, node: Node) -> AnyType:
        method = getattr(self, "visit_" + type(node).__name__, self.generic_visit)
        return method(node)

    def generic_visit(self, node: Node) -> AnyType:
        for _, child in children(node):
            self.visit(child)
        return None


def prefixed(node: Condition, prefix: str) -> Condition:
    """The condition with ``prefix`` before every field name (a customer-level condition
    read from an invoice or a payment profile: ``prefixed(c, "customer.")``)."""
    if isinstance(node, All | Any):
        return dc.replace(node, items=tuple(prefixed(i, prefix) for i in node.items))
    if isinstance(node, Not):
        return dc.replace(node, item=prefixed(node.item, prefix))
    return dc.replace(node, field=prefix + node.field)


def field_names(rule: Rule) -> set[str]:
    """Every field a rule reads."""
    return {n.field for _, n in walk(rule) if isinstance(n, LEAVES)}
