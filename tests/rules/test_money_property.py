"""Property: at the converted bound of a money literal, the Python compiler, the SQL compiler
(SQLite and PostgreSQL) and exact arithmetic agree.

A literal ``L X`` and a record in Y at rate r (1 Y = r X) meet where ``a * r = L``: the
records here sit on the minor units either side of ``L / r`` (and on it when it is whole),
for every operator, ``between``, ``not``, a money field with its currency column and a
base-currency field, random rates in either direction and currencies with 0, 2 and 3
decimals. The reference multiplies with exact fractions; both compilers compare with bounds
rounded once per currency (rules/fx.py), so a rounding in the wrong direction shows here."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)

from arpolicy.kit.fx import RateTable
from arpolicy.kit.money import Money, exponent
from arpolicy.ledger.fields import make
from arpolicy.rules import FieldSet, Level, Type, bind, check, explain, to_python
from arpolicy.rules import ast as a
from arpolicy.rules.fx import Exchange
from arpolicy.rules.to_sql import to_sql

AS_OF = date(2026, 11, 23)
OPS = ["<", "<=", ">", ">=", "=", "!="]
EDGE = Table(
    "rules_money_edge",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("balance_minor", BigInteger),
    Column("currency", String(3)),
    Column("base_minor", BigInteger),
)


def fields(base: str) -> FieldSet:
    return FieldSet(
        Level.INVOICE,
        base,
        [
            make(
                Level.INVOICE,
                "balance",
                "Balance",
                Type.MONEY,
                False,
                "",
                currency_column="currency",
            ),
            make(Level.INVOICE, "base", "Base", Type.BASE_MONEY, False, "", currency=base),
        ],
    )


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    record_ccy, literal_ccy = draw(st.permutations(["USD", "JPY", "KWD", "EUR"]))[:2]
    rate = Decimal(draw(st.integers(1, 10**7))).scaleb(-draw(st.integers(0, 7)))
    places = exponent(literal_ccy)
    amount = Decimal(draw(st.integers(-(10**8), 10**8))).scaleb(-places)
    stored = (record_ccy, literal_ccy, rate)  # 1 record_ccy = rate literal_ccy
    if draw(st.booleans()):  # only the other direction stored: the bound rate is its inverse
        stored = (literal_ccy, record_ccy, Decimal(1) / rate)
    return {
        "record": record_ccy,
        "literal": a.MoneyLit(amount, literal_ccy),
        "rows": [(stored[0], stored[1], AS_OF - timedelta(days=3), stored[2])],
    }


def near(lit: a.MoneyLit, rate: Decimal, currency: str) -> list[Money]:
    """Amounts in ``currency`` on the minor units around lit / rate."""
    places = exponent(currency)
    k = floor(Fraction(lit.amount) / Fraction(rate) * 10**places)
    return [Money(Decimal(n).scaleb(-places), currency) for n in range(k - 1, k + 3)]


def exact(money: Money, rate: Decimal, op: str, lit: a.MoneyLit) -> bool:
    x, y = Fraction(money.amount) * Fraction(rate), Fraction(lit.amount)
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "=": x == y, "!=": x != y}[op]


def rules(field: str, lit: a.MoneyLit) -> list[tuple[a.Condition, Any]]:
    """(rule, reference) pairs; the reference takes (amount, rate)."""
    out: list[tuple[a.Condition, Any]] = []
    for op in OPS:
        cmp = a.Compare(field, op, lit)

        def ref(m: Money, r: Decimal, op: str = op) -> bool:
            return exact(m, r, op, lit)

        out += [(cmp, ref), (a.Not(cmp), lambda m, r, f=ref: not f(m, r))]
    low = a.MoneyLit(lit.amount - 1, lit.currency)
    between = a.Between(field, low, lit)
    out.append((between, lambda m, r: exact(m, r, ">=", low) and exact(m, r, "<=", lit)))
    return out


@pytest.fixture
def edge(session):
    EDGE.create(session.connection(), checkfirst=True)
    return session


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cases())
def test_both_compilers_agree_with_exact_arithmetic_at_the_bound(edge, case):
    ccy, lit = case["record"], case["literal"]
    ex = Exchange(RateTable(case["rows"]), ccy, frozenset({ccy, lit.currency}))
    fs = fields(ccy)  # the record currency is also the base: both fields are in it
    conn = edge.connection()
    for field in ("balance", "base"):
        for rule, reference in rules(field, lit):
            bound = bind(check(rule, fs), AS_OF, exchange=ex)
            # the bound rate (none is bound for a zero alone, which any rate leaves zero)
            rate = bound.fx.get(ccy, lit.currency).rate if bound.fx.items else Decimal(1)
            amounts = near(lit, rate, ccy)
            python = to_python(bound, fs)
            recs = [{"balance": m, "base": m} for m in amounts]
            want = [reference(m, rate) for m in amounts]
            assert [python(r) for r in recs] == want, (str(rule), amounts, rate)
            assert [explain(bound, r, fs).matched for r in recs] == want
            with edge.begin_nested() as sp:
                conn.execute(delete(EDGE))
                conn.execute(
                    insert(EDGE),
                    [
                        {
                            "id": i,
                            "balance_minor": m.minor_units(),
                            "currency": ccy,
                            "base_minor": m.minor_units(),
                        }
                        for i, m in enumerate(amounts)
                    ],
                )
                columns = {
                    "balance_minor": EDGE.c.balance_minor,
                    "currency": EDGE.c.currency,
                    "base_minor": EDGE.c.base_minor,
                }
                got = set(conn.scalars(select(EDGE.c.id).where(to_sql(bound, fs, columns))))
                sp.rollback()
            assert got == {i for i, w in enumerate(want) if w}, (str(rule), amounts, rate)
