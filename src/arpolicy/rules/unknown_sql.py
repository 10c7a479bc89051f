"""Where a rule is *unknown*, in SQL: the two-valued conditions for true, for false, and
for a field being empty, over the same ``columns`` as :func:`arpolicy.rules.to_sql.to_sql`.

:func:`to_sql` is built for a WHERE clause: a leaf may answer FALSE where Kleene's logic says
unknown, which selects the same rows but cannot tell unknown from false. Here every leaf is
guarded by its field's presence instead (``present AND test`` is true, ``present AND NOT
test`` is false; an empty value makes both FALSE), and ``all`` / ``any`` / ``not`` combine
the pair as the Python compiler does (``T(not a) = F(a)``, ...). So ``NOT T AND NOT F`` is
TRUE exactly for the records the rule is unknown for, and no part of it is ever NULL: it can
be counted (``SUM(CASE WHEN ... THEN 1 ELSE 0 END)``) in one scan, next to
:func:`missing` per field, to say which empty fields make it so
(arpolicy.ledger.selection.coverage runs that count).

A money value in a currency without a rate is unknown here too (neither true nor false),
as it is for the Python compiler, which raises MissingRateError on it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from arpolicy.rules.catalogue import Field, Type
from arpolicy.rules.lowering import AllPlan, AnyPlan, LeafPlan, NotPlan, Plan, Test
from arpolicy.rules.sql_columns import DaysBefore, JsonMoney, Scaled, json_value
from arpolicy.rules.to_sql import Columns, _column, _leaf

Pair = tuple[ColumnElement[bool], ColumnElement[bool]]


def truth(plan: Plan, columns: Columns) -> Pair:
    """``(T, F)``: TRUE exactly where the plan is true, and where it is false (never NULL)."""
    if isinstance(plan, AllPlan | AnyPlan):
        pairs = [truth(p, columns) for p in plan.items]
        ts, fs = [t for t, _ in pairs], [f for _, f in pairs]
        if isinstance(plan, AllPlan):
            return and_(*ts), or_(*fs)
        return or_(*ts), and_(*fs)
    if isinstance(plan, NotPlan):
        t, f = truth(plan.item, columns)
        return f, t
    return _leaf_truth(plan, columns)


def unknown(plan: Plan, columns: Columns) -> ColumnElement[bool]:
    """TRUE exactly where the plan is unknown (neither true nor false)."""
    t, f = truth(plan, columns)
    return and_(not_(t), not_(f))


def _leaf_truth(p: LeafPlan, columns: Columns) -> Pair:
    empty = missing(p.field, columns)
    if p.test in (Test.EMPTY, Test.NOT_EMPTY):  # never unknown
        t = empty if p.test is Test.EMPTY else not_(empty)
        return t, not_(t)
    present = not_(empty)
    return and_(present, _leaf(p, columns, True)), and_(present, not_(_leaf(p, columns, False)))


def missing(f: Field, columns: Columns) -> ColumnElement[bool]:
    """TRUE where field ``f`` is empty (as the typed records read it: money without an
    amount or without a currency is empty), else FALSE."""
    col: Any = _column(f, columns)
    if f.json_key:
        col = json_value(f, col)
        if isinstance(col, JsonMoney):
            return or_(col.amount.is_(None), col.currency.is_(None))
        return col.is_(None)
    if isinstance(col, DaysBefore | Scaled):
        return col.column.is_(None)
    if f.type is Type.MONEY:
        ccy = _column(f, columns, f.currency_column or f"{f.column}__currency")
        return or_(col.is_(None), ccy.is_(None))
    return col.is_(None)


def leaf_fields(plan: Plan) -> list[Field]:
    """The fields a plan's leaves read, once each, in order."""
    if isinstance(plan, AllPlan | AnyPlan):
        found = [f for p in plan.items for f in leaf_fields(p)]
    elif isinstance(plan, NotPlan):
        found = leaf_fields(plan.item)
    else:
        found = [plan.field]
    return list({f.name: f for f in found}.values())
