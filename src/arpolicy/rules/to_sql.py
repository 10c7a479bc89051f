"""Compile a bound rule to a SQLAlchemy boolean expression, for bulk selection in the
database (SQLite and PostgreSQL alike).

The same lowered plan as the Python compiler (:mod:`arpolicy.rules.lowering`), so both
evaluators see the same constants. The caller says where each field lives: ``columns`` maps
a field's ``column`` name to a SQL expression of its FROM clause; a money field also needs
its currency, under ``field.currency_column`` or, when the field has none,
``<column>__currency``. A missing value is SQL NULL, and unknown stays NULL all the way up:
comparisons with NULL are NULL, ``NOT NULL`` is NULL, and AND/OR are Kleene's, exactly the
three-valued logic of the Python side. A WHERE clause keeps only TRUE rows.

Money compares with the bound of the row's currency (:mod:`arpolicy.rules.fx`): one
``currency = 'EUR' AND balance_minor > 46296`` per currency with a rate, OR-ed, which an
index on (currency, amount) serves; a zero needs no currency. A currency without a rate
reads as unknown here (FALSE where no ``not`` applies, TRUE under one: Kleene's logic is
monotone, so this selects exactly the rows that are TRUE); the Python side raises
MissingRateError for it, and :func:`stray_currencies` gives the callers that run the SQL
what to check first so that they raise the same.

A string field compares case-insensitively (``fold`` in the plan): the column goes
through :class:`~arpolicy.rules.sql_columns.Folded`, the same Unicode lower-casing as the Python side.

The column kinds besides plain SQL expressions (days before the as-of date, scaled
integers, custom fields in JSON) are in :mod:`arpolicy.rules.sql_columns`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, literal, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from arpolicy.rules.binding import BoundRule
from arpolicy.rules.catalogue import Field, FieldSet, Type
from arpolicy.rules.compile import _condition
from arpolicy.rules.errors import RuleError, problem
from arpolicy.rules.fx import Thresholds
from arpolicy.rules.lowering import (
    AllPlan,
    AnyPlan,
    LeafPlan,
    NotPlan,
    Plan,
    Test,
    Threshold,
    lower,
    minor_units,
)
from arpolicy.rules.sql_columns import DaysBefore, Folded, JsonMoney, Scaled, json_value

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
# days = as_of - d, so "days < n" is "d > as_of - n": the comparison turns around.
FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


Columns = Mapping[str, Any]


def to_sql(bound: BoundRule, fields: FieldSet, columns: Columns) -> ColumnElement[bool]:
    """The rule as a boolean SQL expression over ``columns``, TRUE exactly for the rows
    the rule matches (use it in a WHERE clause; elsewhere unknown may read as FALSE)."""
    return _expr(plan_of(bound, fields), columns, True)


def plan_of(bound: BoundRule, fields: FieldSet) -> Plan:
    """The checked, lowered plan of a bound condition."""
    return lower(_condition(bound, fields), fields, bound.tz, bound.fx)


def used_columns(plan: Plan) -> set[str]:
    """The source columns a plan reads (so a caller joins only what the rule needs)."""
    if isinstance(plan, AllPlan | AnyPlan):
        return set().union(*(used_columns(p) for p in plan.items))
    if isinstance(plan, NotPlan):
        return used_columns(plan.item)
    return field_columns(plan.field)


def field_columns(f: Field) -> set[str]:
    """The source columns one field reads: its column, and a money field's currency."""
    if f.type is Type.MONEY and not f.json_key:
        return {f.column, f.currency_column or f"{f.column}__currency"}
    return {f.column}


def _expr(plan: Plan, columns: Columns, positive: bool) -> ColumnElement[bool]:
    """``positive``: under an even number of ``not``. Kleene logic is monotone, so a leaf
    may answer FALSE instead of unknown where it is positive (TRUE where negative) without
    changing which rows come out TRUE; the money leaves use that to stay index-friendly."""
    if isinstance(plan, AllPlan):
        return and_(*(_expr(p, columns, positive) for p in plan.items))
    if isinstance(plan, AnyPlan):
        return or_(*(_expr(p, columns, positive) for p in plan.items))
    if isinstance(plan, NotPlan):
        return not_(_expr(plan.item, columns, not positive))
    return _leaf(plan, columns, positive)


def _column(f: Field, columns: Columns, key: str | None = None) -> Any:
    name = key or f.column
    found = columns.get(name)
    if found is None:
        raise RuleError(
            [
                problem(
                    f.name,
                    None,
                    f"{f.name} cannot be evaluated in the database yet",
                    "evaluate this rule record by record (to_python), or leave the field out",
                )
            ]
        )
    return found


def _leaf(p: LeafPlan, columns: Columns, positive: bool) -> ColumnElement[bool]:
    f, test, c = p.field, p.test, p.consts
    col = _column(f, columns)
    if f.json_key:
        col = json_value(f, col)
    if isinstance(col, DaysBefore):
        return _days(p, col, positive)
    if isinstance(col, Scaled):
        return _scaled(p, col)
    if isinstance(col, JsonMoney):
        return _json_money(p, col, positive)
    if p.fold:  # a string compared case-insensitively (the constants are folded)
        col = Folded(col)
    if test is Test.EMPTY:
        return col.is_(None)
    if test is Test.NOT_EMPTY:
        return col.is_not(None)
    if test is Test.BOOL:
        return col == literal(c[0])
    if test is Test.IN:
        return col.in_(sorted(c[0], key=str))
    if test is Test.NOT_IN:
        return col.not_in(sorted(c[0], key=str))
    if test is Test.CMP:
        return OPS[p.op or "=="](col, c[0])
    if test is Test.BETWEEN:
        return and_(col >= c[0], col <= c[1])
    if test is Test.HALF_OPEN:
        return and_(col >= c[0], col < c[1])
    if test is Test.OUTSIDE:
        return or_(col < c[0], col >= c[1])
    if f.type is Type.BASE_MONEY:  # in the base currency by construction
        return _money_test(p, col, f.currency, minor_units)
    ccy = _column(f, columns, f.currency_column or f"{f.column}__currency")
    return _per_currency(p, col, ccy, positive, minor_units)


def _json_money(p: LeafPlan, m: JsonMoney, positive: bool) -> ColumnElement[bool]:
    if p.test is Test.EMPTY:
        return m.amount.is_(None)
    if p.test is Test.NOT_EMPTY:
        return m.amount.is_not(None)
    return _per_currency(p, m.amount, m.currency, positive, lambda x, _: x)


MAX_BIGINT = 2**63 - 1


def _per_currency(
    p: LeafPlan, amount: Any, ccy: Any, positive: bool, scale: Callable[[Decimal, str], Any]
) -> ColumnElement[bool]:
    """``OR`` over the currencies of ``(ccy = c AND <test with c's bound>)``; a money value
    with no currency is unknown, and so is one in a currency without a rate. At a positive
    place FALSE stands for unknown and selects the same rows (and each term can use an index
    on the currency), at a negative place TRUE does."""
    currencies = sorted(set().union(*(t for t in p.consts if isinstance(t, Thresholds))))
    if not currencies:  # the same bound in every currency (zero)
        cond = _money_test(p, amount, None, scale)
        return and_(ccy.is_not(None), cond) if positive else or_(ccy.is_(None), cond)
    terms = or_(*(and_(ccy == c, _money_test(p, amount, c, scale)) for c in currencies))
    return terms if positive else or_(ccy.is_(None), ccy.not_in(currencies), terms)


def _money_test(
    p: LeafPlan, amount: Any, currency: str | None, scale: Callable[[Decimal, str], Any]
) -> ColumnElement[bool]:
    """The test with the bounds of ``currency`` (None: uniform bounds), NULL for a NULL
    amount, exact in minor units (``scale``) or decimals."""

    def bound(t: Threshold) -> Decimal | None:
        return t[currency] if isinstance(t, Thresholds) and currency else t  # type: ignore[return-value]

    def cmp(op: str, t: Decimal | None) -> ColumnElement[bool]:
        if t is None:  # no amount equals it: "=" is FALSE, "!=" TRUE (NULL when missing)
            return amount != amount if op == "==" else amount == amount
        if t and currency is None:
            raise AssertionError("only zero holds in every currency")
        x = scale(t, currency) if currency and t else 0  # zero is zero in any unit
        if isinstance(x, int) and abs(x) > MAX_BIGINT:  # beyond every stored amount
            return amount == amount if OPS[op](0, x) else amount != amount
        return OPS[op](amount, x)

    if p.test is Test.MONEY_CMP:
        return cmp(p.op or "==", bound(p.consts[0]))
    low, high = map(bound, p.consts)
    return and_(cmp(">=", low), cmp("<=", high))


def stray_currencies(plan: Plan, columns: Columns) -> list[tuple[Any, list[str], Thresholds]]:
    """``(currency column, currencies with a rate, thresholds)`` of each money comparison
    that needs a rate per currency: a row in any other currency has no rate to compare
    with, which the Python side reports (``thresholds.missing(currency)``) and SQL cannot."""
    found = []
    for leaf in _leaves(plan):
        tables = [t for t in leaf.consts if isinstance(t, Thresholds)]
        if leaf.test not in (Test.MONEY_CMP, Test.MONEY_BETWEEN) or not tables:
            continue
        f = leaf.field
        if f.json_key:
            ccy = json_value(f, _column(f, columns)).currency
        else:
            ccy = _column(f, columns, f.currency_column or f"{f.column}__currency")
        found.append((ccy, sorted(set().union(*tables)), tables[0]))
    return found


def _leaves(plan: Plan) -> list[LeafPlan]:
    if isinstance(plan, AllPlan | AnyPlan):
        return [leaf for p in plan.items for leaf in _leaves(p)]
    if isinstance(plan, NotPlan):
        return _leaves(plan.item)
    return [plan]


def _scaled(p: LeafPlan, s: Scaled) -> ColumnElement[bool]:
    """Integer k stands for k / 10**places: ``v < x`` is ``k < ceil(x')``, ``v <= x`` is
    ``k <= floor(x')`` (x' = x * 10**places), and so on; ``=`` a value between two steps is
    FALSE (NULL when k is), ``!=`` it TRUE (NULL when k is)."""
    k, c = s.column, p.consts
    if p.test is Test.EMPTY:
        return k.is_(None)
    if p.test is Test.NOT_EMPTY:
        return k.is_not(None)
    if p.test is Test.BETWEEN:
        return and_(k >= s.bounds(c[0])[0], k <= s.bounds(c[1])[1])
    if p.test is not Test.CMP:
        raise TypeError(f"{p.test} does not apply to a number")
    up, down = s.bounds(c[0])
    op = p.op or "=="
    if op in ("==", "!="):
        if up != down:  # never equal; k != k is FALSE, or NULL for a missing k
            return k != k if op == "==" else k == k
        return OPS[op](k, up)
    return OPS[op](k, up if op in ("<", ">=") else down)


def _days(p: LeafPlan, d: DaysBefore, positive: bool) -> ColumnElement[bool]:
    """The test on the date column; where ``d.known`` is false the value is missing: the
    emptiness tests say so exactly, and any other test is unknown, written FALSE at a
    positive place and TRUE at a negative one (see :func:`_expr`), so that the due-date
    comparison stays a plain, indexable one."""
    test = _days_test(p, d)
    if d.known is None:
        return test
    if p.test is Test.EMPTY:
        return or_(not_(d.known), test)
    if p.test is Test.NOT_EMPTY:
        return and_(d.known, test)
    return and_(d.known, test) if positive else or_(not_(d.known), test)


def _days_test(p: LeafPlan, d: DaysBefore) -> ColumnElement[bool]:
    col, c = d.column, p.consts
    if p.test is Test.CMP:
        return OPS[FLIP[p.op or "=="]](col, d.day(c[0]))
    if p.test is Test.BETWEEN:
        return and_(col >= d.day(c[1]), col <= d.day(c[0]))
    if p.test is Test.IN:
        return col.in_(sorted(d.day(v) for v in c[0]))
    if p.test is Test.NOT_IN:
        return col.not_in(sorted(d.day(v) for v in c[0]))
    if p.test is Test.EMPTY:
        return col.is_(None)
    if p.test is Test.NOT_EMPTY:
        return col.is_not(None)
    raise TypeError(f"{p.test} does not apply to a number of days")
