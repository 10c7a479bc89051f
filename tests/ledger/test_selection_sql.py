"""The SQL pieces bulk selection adds to the rule compiler, each against Python on SQLite and
PostgreSQL: half-to-even rounding in integers (DSO, average attempts), comparisons on scaled
integers, and custom fields read from JSON."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    delete,
    insert,
    literal,
    select,
)

from arpolicy.kit.fx import RateTable
from arpolicy.ledger.fields import catalogue_for, make
from arpolicy.ledger.figures_view import half_even
from arpolicy.ledger.selection.source import json_typed
from arpolicy.rules import Exchange, FieldSet, Level, Type, bind, problems, to_python
from arpolicy.rules import ast as a
from arpolicy.rules.to_sql import Scaled, to_sql

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
AS_OF = date(2026, 11, 23)
META = MetaData()
PROBE = Table(
    "selection_probe",
    META,
    Column("id", Integer, primary_key=True),
    Column("k", BigInteger),
    Column("doc", JSON),
)


def in_probe(session: Any, rows: list[dict[str, Any]], where: Any) -> set[int]:
    """The ids of ``rows`` that ``where`` selects, in a throw-away probe table."""
    conn = session.connection()
    PROBE.create(conn, checkfirst=True)
    with session.begin_nested() as sp:
        conn.execute(delete(PROBE))
        conn.execute(insert(PROBE), rows)
        found = set(conn.scalars(select(PROBE.c.id).where(where)))
        sp.rollback()
    return found


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.integers(-(10**12), 10**12),
            st.sampled_from([1, 2, 3, 4, 7, 8, 20, 40, 200, 1800]) | st.integers(1, 10**9),
            st.sampled_from([1, 2]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_half_even_rounds_like_decimal_quantize(session, cases):
    exprs = [half_even(literal(n, BigInteger), literal(d, BigInteger), p) for n, d, p in cases]
    got = session.execute(select(*exprs)).one()
    for (n, d, p), k in zip(cases, got, strict=True):
        want = (Decimal(n) / Decimal(d)).quantize(Decimal(1).scaleb(-p))
        assert Decimal(int(k)).scaleb(-p) == want, (n, d, p)
    assert session.execute(select(half_even(literal(5), literal(0), 2))).scalar() is None


X = FieldSet(Level.PAYMENT, "USD", [make(Level.PAYMENT, "x", "x", Type.NUMBER, True, "")])
numbers = st.decimals(Decimal("-0.3"), Decimal("0.3"), places=3) | st.sampled_from(
    [Decimal("0.25"), Decimal("0.2"), Decimal("-0.15")]
)
x_leaf = st.one_of(
    st.builds(
        a.Compare, st.just("x"), st.sampled_from(a.COMPARE_OPS), st.builds(a.NumberLit, numbers)
    ),
    st.builds(
        a.Between, st.just("x"), st.builds(a.NumberLit, numbers), st.builds(a.NumberLit, numbers)
    ),
    st.builds(a.IsEmpty, st.just("x"), st.booleans()),
)
x_rules = st.recursive(
    x_leaf,
    lambda kids: (
        st.builds(a.Not, kids) | st.builds(a.Any, st.lists(kids, min_size=1, max_size=2).map(tuple))
    ),
    max_leaves=3,
)


KS = [None, *range(-30, 31)]
"""Every scaled value the literals can fall between (and a missing one), in each example."""


@SETTINGS
@given(x_rules, st.sampled_from([1, 2]))
def test_scaled_integers_compare_like_decimals(session, rule, places):
    assume(not problems(rule, X))
    bound = bind(rule, AS_OF, tz="UTC")
    matches = to_python(bound, X)
    expected = {
        i
        for i, k in enumerate(KS)
        if matches({"x": None if k is None else Decimal(k).scaleb(-places)})
    }
    where = to_sql(bound, X, {"x": Scaled(PROBE.c.k, places)})
    assert in_probe(session, [{"id": i, "k": k} for i, k in enumerate(KS)], where) == expected


CUSTOM = [
    ("customer", "tier", "enum", ["gold", "silver"], None),
    ("customer", "note", "string", None, None),
    ("customer", "limit", "money", None, "EUR"),
    ("customer", "deposit", "money", None, None),
    ("customer", "score", "number", None, None),
    ("customer", "since", "date", None, None),
    ("customer", "vip", "boolean", None, None),
]
CF = FieldSet(
    Level.CUSTOMER,
    "USD",
    [f for f in catalogue_for("USD", [30], CUSTOM).level("customer").values() if f.json_key],
)
FX = Exchange(  # money compares across currencies: 1 EUR = 1.08 USD
    RateTable([("EUR", "USD", date(2026, 1, 1), Decimal("1.08"))]), "USD", frozenset({"EUR"})
)
DAYS = [AS_OF + timedelta(days=d) for d in (-31, -1, 0, 1, 30)]
AMOUNTS = ["0.00", "12.30", "-5.00", "1000.00", "999.99", "1080.00", "925.93", "925.92"]
SCORES = ["0", "1.5", "-2.25", "100", "33.333"]
json_values = {
    "tier": st.sampled_from(["gold", "silver"]),
    "note": st.sampled_from(["a", "b", "O'Neil"]),
    "limit": st.sampled_from(AMOUNTS).map(lambda x: {"amount": x, "currency": "EUR"}),
    "deposit": st.builds(
        lambda x, c: {"amount": x, "currency": c},
        st.sampled_from(AMOUNTS),
        st.sampled_from(["EUR", "USD"]),
    ),
    "score": st.sampled_from(SCORES),
    "since": st.sampled_from(DAYS).map(date.isoformat),
    "vip": st.booleans(),
}
docs = st.fixed_dictionaries({}, optional={k: st.none() | v for k, v in json_values.items()})
literals = {
    Type.ENUM: st.builds(a.StringLit, st.sampled_from(["gold", "silver"])),
    Type.STRING: st.builds(a.StringLit, st.sampled_from(["a", "b", "O'Neil"])),
    Type.NUMBER: st.builds(a.NumberLit, st.sampled_from([Decimal(x) for x in SCORES])),
    Type.DATE: st.builds(a.DateLit, st.sampled_from(DAYS)),
}


@st.composite
def cf_leaf(draw: st.DrawFn) -> a.Leaf:
    f = CF[draw(st.sampled_from(sorted(CF)))]
    if draw(st.booleans()):
        return a.IsEmpty(f.name, draw(st.booleans()))
    if f.type is Type.BOOLEAN:
        return a.BoolTest(f.name, draw(st.booleans()))
    if f.type is Type.MONEY:
        ccy = f.currency or draw(st.sampled_from(["EUR", "USD"]))
        amount = draw(st.sampled_from([Decimal(x) for x in AMOUNTS]))
        return a.Compare(f.name, draw(st.sampled_from(a.COMPARE_OPS)), a.MoneyLit(amount, ccy))
    lit = literals[f.type]
    if f.type in (Type.ENUM, Type.STRING):
        return a.Includes(f.name, tuple(draw(st.lists(lit, min_size=1, max_size=2))))
    return a.Compare(f.name, draw(st.sampled_from(a.COMPARE_OPS)), draw(lit))


cf_rules = st.recursive(
    cf_leaf(),
    lambda kids: (
        st.builds(a.Not, kids) | st.builds(a.All, st.lists(kids, min_size=1, max_size=2).map(tuple))
    ),
    max_leaves=3,
)


@SETTINGS
@given(cf_rules, st.lists(docs, min_size=1, max_size=8))
def test_custom_fields_read_from_json_like_python(session, rule, rows):
    assume(not problems(rule, CF))
    bound = bind(rule, AS_OF, tz="UTC", exchange=FX)
    matches = to_python(bound, CF)
    records = [{name: json_typed(f, doc) for name, f in CF.items()} for doc in rows]
    expected = {i for i, r in enumerate(records) if matches(r)}
    where = to_sql(bound, CF, {"custom_fields": PROBE.c.doc})
    assert in_probe(session, [{"id": i, "doc": d} for i, d in enumerate(rows)], where) == expected
