"""Lowering: a bound, checked rule + its field set -> a typed plan of primitive tests.

This is the seam both compilers share. Every leaf becomes one :class:`LeafPlan`: the record
key (= field name, ``field.column`` for SQL), a primitive :class:`Test` and its constants,
already in the record's Python types:

========== ====================================== =========================================
test       constants                               true when the value v is present and
========== ====================================== =========================================
CMP        (x,)                                    ``v <op> x``
MONEY_CMP  (t,)                                    ``v.amount <op> t[v.currency]``
BETWEEN    (lo, hi)                                ``lo <= v <= hi``
MONEY_BTW  (lo, hi)                                ``lo[c] <= v.amount <= hi[c]``, c the currency
HALF_OPEN  (lo, hi)                                ``lo <= v < hi`` (datetime vs dates)
OUTSIDE    (lo, hi)                                ``v < lo or v >= hi`` (datetime ``!=`` a date)
IN         (frozenset,)                            ``v in set``
NOT_IN     (frozenset,)                            ``v not in set``
BOOL       (b,)                                    ``v == b``
EMPTY      ()                                      (v missing: true, never unknown)
NOT_EMPTY  ()                                      (v present: true, never unknown)
========== ====================================== =========================================

A missing value (None or absent key) makes every test but EMPTY / NOT_EMPTY *unknown*;
``all`` / ``any`` / ``not`` combine with Kleene's three-valued logic, and a rule matches only
when it is *true*.

A money literal becomes a :data:`Threshold` (see :mod:`arpolicy.rules.fx`): the amount it
stands for in each record currency at the bound rates, rounded to that currency's minor unit
in the direction that keeps the comparison exact (a :class:`~arpolicy.rules.fx.Thresholds`
mapping, which raises MissingRateError for a currency without a rate), or one Decimal that
holds for every currency (zero; a base-currency field, whose records are all in the base
currency). None stands for a bound no amount equals (``=`` a value between two minor units).

A string field compares case-insensitively: its constants are lower-cased here and the
plan says ``fold``, so that each compiler lower-cases the value (see
:func:`arpolicy.rules.catalogue.fold`). An owner literal becomes the stored e-mail of the
user it names (:mod:`arpolicy.rules.people`).

Datetime fields compared with a date compare by the tenant's local day: the date is turned
into the UTC instants that start it (and the next day) in ``BoundRule.tz``, so ``<=
2026-10-24`` means ``< 2026-10-25 00:00 local``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeAlias

from arpolicy.kit.clock import zone
from arpolicy.kit.money import exponent
from arpolicy.rules import ast as a
from arpolicy.rules.catalogue import FOLDED, Field, FieldSet, Type, fold
from arpolicy.rules.fx import ROUNDING, Rates, Rounding, Thresholds, threshold, values
from arpolicy.rules.printer import leaf as show

PY_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "=": "==", "!=": "!="}
Threshold: TypeAlias = Decimal | Thresholds | None


class Test(enum.StrEnum):
    CMP = "cmp"
    MONEY_CMP = "money_cmp"
    BETWEEN = "between"
    MONEY_BETWEEN = "money_between"
    HALF_OPEN = "half_open"
    OUTSIDE = "outside"
    IN = "in"
    NOT_IN = "not_in"
    BOOL = "bool"
    EMPTY = "empty"
    NOT_EMPTY = "not_empty"


@dataclass(frozen=True, slots=True)
class LeafPlan:
    node: a.Leaf
    field: Field
    test: Test
    op: str | None
    """Python operator for CMP / MONEY_CMP (``==`` for ``=``)."""
    consts: tuple[Any, ...]
    fold: bool = False
    """Compare the value lower-cased (a string field; its constants are lower-cased)."""


@dataclass(frozen=True, slots=True)
class AllPlan:
    node: a.All
    items: tuple[Plan, ...]


@dataclass(frozen=True, slots=True)
class AnyPlan:
    node: a.Any
    items: tuple[Plan, ...]


@dataclass(frozen=True, slots=True)
class NotPlan:
    node: a.Not
    item: Plan


Plan: TypeAlias = LeafPlan | AllPlan | AnyPlan | NotPlan


class LoweringError(TypeError):
    """A rule that was not bound or not checked reached a compiler (a programming error)."""


def day_start(d: date, tz: str) -> datetime:
    """The UTC instant the local day ``d`` starts in ``tz``."""
    return datetime.combine(d, time(), tzinfo=zone(tz)).astimezone(UTC)


def _const(lit: a.Literal, f: Field) -> Any:
    if isinstance(lit, a.NumberLit):
        v = lit.value
        if f.type is Type.INTEGER and v == v.to_integral_value():
            return int(v)
        return v
    if isinstance(lit, a.DateLit):
        return lit.value
    if isinstance(lit, a.StringLit):
        if f.code == "user" and f.directory is not None:  # an owner by e-mail or by name
            return f.directory.resolve(lit.value) or lit.value
        value = f.canonical(lit.value)  # an enum value's other spelling stands for it
        return fold(value) if f.type in FOLDED else value
    if isinstance(lit, a.MoneyLit):
        return lit.amount
    raise LoweringError(f"unbound literal {lit!r}: bind the rule before compiling it")


def money_threshold(lit: a.Literal, how: Rounding, f: Field, rates: Rates, where: str) -> Threshold:
    """The bound a money literal (or a bare zero) sets for ``f``'s amounts, rounded ``how``
    (``where``: the condition, for the error when a rate is missing)."""
    if isinstance(lit, a.NumberLit) and lit.value == 0:
        return Decimal(0)
    if not isinstance(lit, a.MoneyLit):
        raise LoweringError(f"{lit!r} is not money: check the rule before compiling it")
    if lit.amount == 0:
        return Decimal(0)
    target, amount = lit.currency, lit.amount

    def bound_in(currency: str) -> Decimal | None:
        return threshold(amount, rates.get(currency, target, where).rate, currency, how)

    if f.type is Type.BASE_MONEY and f.currency:
        return bound_in(f.currency)
    return Thresholds(
        ((c, bound_in(c)) for c in rates.sources(target)),
        lambda currency: rates.error(currency, target, where),
    )


def zero_passes(p: LeafPlan) -> bool:
    """Whether a zero amount passes a money test in some currency."""
    if p.test is Test.MONEY_CMP:
        return any(_holds(Decimal(0), p.op or "==", t) for t in values(p.consts[0]))
    low, high = p.consts
    keys = set().union(*(t for t in p.consts if isinstance(t, Thresholds)))
    pairs = [(_at(low, c), _at(high, c)) for c in keys] if keys else [(low, high)]
    return any(lo is not None and hi is not None and lo <= 0 <= hi for lo, hi in pairs)


def _at(t: Threshold, currency: str) -> Decimal | None:
    return t[currency] if isinstance(t, Thresholds) else t


def _holds(x: Decimal, op: str, t: Decimal | None) -> bool:
    if t is None:
        return op == "!="
    return {"<": x < t, "<=": x <= t, ">": x > t, ">=": x >= t, "==": x == t, "!=": x != t}[op]


def _dates(lit: a.Literal) -> date:
    if not isinstance(lit, a.DateLit):
        raise LoweringError(f"{lit!r} is not a bound date: bind the rule before compiling it")
    return lit.value


def _compare(
    node: a.Compare, f: Field, tz: str, rates: Rates
) -> tuple[Test, str | None, tuple[Any, ...]]:
    op = PY_OPS[node.op]
    if f.type in (Type.MONEY, Type.BASE_MONEY):
        t = money_threshold(node.value, ROUNDING[op], f, rates, show(node))
        return Test.MONEY_CMP, op, (t,)
    if f.type is Type.DATETIME:
        d = _dates(node.value)
        start, nxt = day_start(d, tz), day_start(d + timedelta(days=1), tz)
        return {
            "<": (Test.CMP, "<", (start,)),
            "<=": (Test.CMP, "<", (nxt,)),
            ">": (Test.CMP, ">=", (nxt,)),
            ">=": (Test.CMP, ">=", (start,)),
            "==": (Test.HALF_OPEN, None, (start, nxt)),
            "!=": (Test.OUTSIDE, None, (start, nxt)),
        }[op]
    return Test.CMP, op, (_const(node.value, f),)


def _between(
    node: a.Between, f: Field, tz: str, rates: Rates
) -> tuple[Test, str | None, tuple[Any, ...]]:
    if f.type in (Type.MONEY, Type.BASE_MONEY):
        low = money_threshold(node.low, "ceil", f, rates, show(node))
        high = money_threshold(node.high, "floor", f, rates, show(node))
        return Test.MONEY_BETWEEN, None, (low, high)
    if f.type is Type.DATETIME:
        lo, hi = _dates(node.low), _dates(node.high)
        return Test.HALF_OPEN, None, (day_start(lo, tz), day_start(hi + timedelta(days=1), tz))
    return Test.BETWEEN, None, (_const(node.low, f), _const(node.high, f))


def lower_leaf(node: a.Leaf, f: Field, tz: str, rates: Rates) -> LeafPlan:
    if isinstance(node, a.Compare):
        test, op, consts = _compare(node, f, tz, rates)
    elif isinstance(node, a.Between):
        test, op, consts = _between(node, f, tz, rates)
    elif isinstance(node, a.Includes | a.Excludes):
        values = frozenset(_const(v, f) for v in node.values)
        test, op, consts = (
            (Test.IN if isinstance(node, a.Includes) else Test.NOT_IN),
            None,
            (values,),
        )
    elif isinstance(node, a.IsEmpty):
        test, op, consts = (Test.NOT_EMPTY if node.negated else Test.EMPTY), None, ()
    elif isinstance(node, a.BoolTest):
        test, op, consts = Test.BOOL, None, (node.value,)
    else:
        raise LoweringError(f"{node!r} was not bound: bind the rule before compiling it")
    folded = f.type in FOLDED and test in (Test.CMP, Test.IN, Test.NOT_IN)
    return LeafPlan(node, f, test, op, consts, folded)


def lower(node: a.Condition, fields: FieldSet, tz: str, rates: Rates) -> Plan:
    """The plan of one condition. The rule must have been checked and bound (``tz`` and
    ``rates`` are the bound rule's)."""
    if isinstance(node, a.All):
        return AllPlan(node, tuple(lower(i, fields, tz, rates) for i in node.items))
    if isinstance(node, a.Any):
        return AnyPlan(node, tuple(lower(i, fields, tz, rates) for i in node.items))
    if isinstance(node, a.Not):
        return NotPlan(node, lower(node.item, fields, tz, rates))
    f = fields.get(node.field)
    if f is None:
        raise LoweringError(f"unknown field {node.field!r}: check the rule before compiling it")
    return lower_leaf(node, f, tz, rates)


def minor_units(amount: Decimal, currency: str) -> int:
    """A money constant as the integer minor units the database stores (for SQL)."""
    return int(amount.scaleb(exponent(currency)))
