"""Compile a bound rule to a SQLAlchemy boolean expression, for bulk selection in the
database (SQLite and PostgreSQL alike).

The same lowered plan as the Python compiler (:mod:`arpolicy.rules.lowering`), so both
evaluators see the same constants. The caller says where each field lives: ``columns`` maps
a field's ``column`` name to a SQL expression of its FROM clause; a money field also needs
its currency, under ``field.currency_column`` or, when the field has none,
``<column>__currency``. A missing value is SQL NULL, and unknown stays NULL all the way up:
comparisons with NULL are NULL, ``NOT NULL`` is NULL, and AND/OR are Kleene's, exactly the
three-valued logic of the Python side; money in another currency than the literal's gives
unknown too (FALSE where no ``not`` applies, TRUE under one: Kleene's logic is monotone,
so this selects exactly the rows that are TRUE, and keeps the test sargable). A WHERE
clause keeps only TRUE rows.

``days_past_due``-style fields can be given as :class:`DaysBefore` (the as-of date minus a
date column): comparisons on them are rewritten into comparisons on the date column, which
keeps them index-friendly and dialect-neutral.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, literal, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from arpolicy.rules.binding import BoundRule
from arpolicy.rules.catalogue import Field, FieldSet, Type
from arpolicy.rules.compile import _condition
from arpolicy.rules.errors import RuleError, problem
from arpolicy.rules.lowering import (
    AllPlan,
    AnyPlan,
    LeafPlan,
    NotPlan,
    Plan,
    Test,
    lower,
    minor_units,
)

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


@dataclass(frozen=True)
class DaysBefore:
    """A field whose value is (as-of date - ``column``) in days, such as days past due."""

    column: Any
    """A date column (or column attribute)."""
    as_of: date

    def day(self, days: Any) -> date:
        return self.as_of - timedelta(days=int(days))


Columns = Mapping[str, "ColumnElement[Any] | DaysBefore"]


def to_sql(bound: BoundRule, fields: FieldSet, columns: Columns) -> ColumnElement[bool]:
    """The rule as a boolean SQL expression over ``columns``, TRUE exactly for the rows
    the rule matches (use it in a WHERE clause; elsewhere unknown may read as FALSE)."""
    return _expr(plan_of(bound, fields), columns, True)


def plan_of(bound: BoundRule, fields: FieldSet) -> Plan:
    """The checked, lowered plan of a bound condition."""
    return lower(_condition(bound, fields), fields, bound.tz)


def used_columns(plan: Plan) -> set[str]:
    """The source columns a plan reads (so a caller joins only what the rule needs)."""
    if isinstance(plan, AllPlan | AnyPlan):
        return set().union(*(used_columns(p) for p in plan.items))
    if isinstance(plan, NotPlan):
        return used_columns(plan.item)
    f = plan.field
    extra = {f.currency_column or f"{f.column}__currency"} if f.type is Type.MONEY else set()
    return {f.column, *extra}


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
        raise RuleError([
            problem(
                f.name, None,
                f"{f.name} cannot be evaluated in the database yet",
                "evaluate this rule record by record (to_python), or leave the field out",
            )
        ])  # fmt: skip
    return found


def _leaf(p: LeafPlan, columns: Columns, positive: bool) -> ColumnElement[bool]:
    f, test, c = p.field, p.test, p.consts
    col = _column(f, columns)
    if isinstance(col, DaysBefore):
        return _days(p, col)
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
    currency = c[0]
    if test is Test.MONEY_CMP:
        cond = OPS[p.op or "=="](col, minor_units(c[1], currency))
    else:  # MONEY_BETWEEN
        cond = and_(col >= minor_units(c[1], currency), col <= minor_units(c[2], currency))
    if f.type is Type.BASE_MONEY:
        return cond  # one currency by construction (the checker holds literals to it)
    ccy = _column(f, columns, f.currency_column or f"{f.column}__currency")
    # Another currency is unknown; at a positive place FALSE selects the same rows (and
    # "currency = 'USD' AND balance > ..." can use an index), at a negative place TRUE does.
    return and_(ccy == currency, cond) if positive else or_(ccy != currency, cond)


def _days(p: LeafPlan, d: DaysBefore) -> ColumnElement[bool]:
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
