"""Random rules over the real catalogue, for the selection property tests
(tests/ledger/test_selection_property.py, tests/ledger/test_coverage.py): a literal that
suits each field, drawn from the same small pools as the ledgers of
:mod:`tests.ledger.selection_data`, so rules often sit exactly on a record's value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from arpolicy.rules import FieldSet, Type
from arpolicy.rules import ast as a
from tests.ledger.selection_data import CODES, DAYS, INTEGERS, LIT_AMOUNTS, NUMBERS, words


def literal(f: Any) -> st.SearchStrategy[Any]:
    """A literal that suits field ``f`` (and its checker)."""
    if f.type is Type.BASE_MONEY:  # any currency: converted at the tenant's rate
        return st.builds(
            a.MoneyLit, st.sampled_from(LIT_AMOUNTS), st.sampled_from([f.currency, "EUR"])
        )
    if f.type is Type.MONEY:
        ccys = [f.currency] if f.currency else ["USD", "EUR", "JPY"]
        return st.builds(
            a.MoneyLit, st.sampled_from(LIT_AMOUNTS).map(int).map(Decimal), st.sampled_from(ccys)
        )
    if f.type is Type.INTEGER:
        return st.builds(a.NumberLit, st.sampled_from(INTEGERS).map(Decimal))
    if f.type is Type.NUMBER:
        return st.builds(a.NumberLit, st.sampled_from(NUMBERS) | st.decimals(0, 150, places=2))
    if f.type in (Type.DATE, Type.DATETIME):
        with_days = sorted(a.RELATIVE_WITH_DAYS)
        relative = st.builds(a.RelativeDate, st.sampled_from(with_days), st.integers(0, 31))
        plain = [k for k in a.RelKind if k not in a.RELATIVE_WITH_DAYS]
        return st.one_of(
            st.builds(a.DateLit, st.sampled_from(DAYS)),
            relative,
            st.builds(a.RelativeDate, st.sampled_from(plain)),
        )
    if f.type is Type.ENUM:  # other spellings (cheque) too
        return st.builds(a.StringLit, st.sampled_from([*f.values, *(k for k, _ in f.aliases)]))
    if f.type is Type.CODE:
        return st.builds(a.StringLit, st.sampled_from(CODES[f.code]))
    return st.builds(a.StringLit, words)


def weighted(fields: FieldSet) -> list[str]:
    """Field names, custom fields three times and the level's own fields twice, so that the
    rarer paths (JSON, per-invoice figures, payment profiles) are drawn often enough."""
    names = []
    for name, f in sorted(fields.items()):
        names += [name] * (3 if f.json_key else 1 if name.startswith("customer.") else 2)
    return names


@st.composite
def leaf(draw: st.DrawFn, fields: FieldSet) -> a.Leaf:
    f = fields[draw(st.sampled_from(weighted(fields)))]
    kinds = ["empty"] if f.nullable else []
    if f.type is Type.BOOLEAN:
        kinds.append("bool")
    elif f.type in (Type.CODE, Type.ENUM, Type.STRING):
        kinds += ["eq", "set", "set"]
    else:
        kinds += ["cmp", "cmp", "between"] + (
            ["range"] if f.type in (Type.DATE, Type.DATETIME) else []
        )
    kind = draw(st.sampled_from(kinds))
    lit = literal(f)
    if kind == "empty":
        return a.IsEmpty(f.name, draw(st.booleans()))
    if kind == "bool":
        return a.BoolTest(f.name, draw(st.booleans()))
    if kind == "eq":
        return a.Compare(f.name, draw(st.sampled_from(["=", "!="])), draw(lit))
    if kind == "set":
        cls = draw(st.sampled_from([a.Includes, a.Excludes]))
        return cls(f.name, tuple(draw(st.lists(lit, min_size=1, max_size=3))))
    if kind == "cmp":
        return a.Compare(f.name, draw(st.sampled_from(a.COMPARE_OPS)), draw(lit))
    if kind == "range":
        rk = draw(st.sampled_from(list(a.RangeKind)))
        days = draw(st.integers(1, 31)) if rk in a.RANGE_WITH_DAYS else 0
        return a.InRange(f.name, a.DateRange(rk, days))
    low, high = draw(lit), draw(lit)
    if isinstance(low, a.MoneyLit) and isinstance(high, a.MoneyLit):
        high = a.MoneyLit(high.amount, low.currency)
        low, high = sorted([low, high], key=lambda m: m.amount)
    elif isinstance(low, a.NumberLit | a.DateLit) and type(low) is type(high):
        low, high = sorted([low, high], key=lambda x: x.value)  # type: ignore[union-attr]
    return a.Between(f.name, low, high)


def conditions(fields: FieldSet) -> st.SearchStrategy[a.Condition]:
    """Single conditions half of the time (they discriminate best), else trees of them."""
    return leaf(fields) | st.recursive(
        leaf(fields),
        lambda kids: (
            st.builds(a.All, st.lists(kids, min_size=1, max_size=3).map(tuple))
            | st.builds(a.Any, st.lists(kids, min_size=1, max_size=3).map(tuple))
            | st.builds(a.Not, kids)
        ),
        max_leaves=4,
    )
