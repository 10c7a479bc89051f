"""Property: the SQL compiler selects exactly the records the Python compiler matches, on
SQLite and PostgreSQL, for random conditions over every field type (missing values, money
in three currencies at random rates, with amounts at the converted bounds, datetimes across
a DST change included, strings compared case-insensitively with mixed case and non-ASCII
letters: Python's ``str.lower``, PostgreSQL's ICU ``lower``, the function registered on
SQLite)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    delete,
    insert,
    select,
)

from arpolicy.kit.money import Money
from arpolicy.kit.types import UTCDateTime
from arpolicy.rules import Type, bind, problems, to_python
from arpolicy.rules.to_sql import to_sql
from tests.rules.test_semantics_property import (
    AS_OF,
    FIELDS,
    TZ,
    conditions,
    exchanges,
    records,
)

SQL_TYPES = {
    Type.BASE_MONEY: BigInteger,
    Type.INTEGER: Integer,
    Type.NUMBER: lambda: Numeric(12, 2),
    Type.DATE: Date,
    Type.DATETIME: UTCDateTime,
    Type.CODE: lambda: String(10),
    Type.ENUM: lambda: String(10),
    Type.STRING: lambda: String(12),
    Type.BOOLEAN: Boolean,
}


def probe_table() -> Table:
    cols: list[Column[Any]] = [Column("id", Integer, primary_key=True)]
    for f in FIELDS.values():
        if f.type is Type.MONEY:
            cols += [Column(f.column, BigInteger), Column(f"{f.column}__currency", String(3))]
        else:
            cols.append(Column(f.column, SQL_TYPES[f.type]()))
    return Table("rules_probe", MetaData(), *cols)


PROBE = probe_table()


def row(i: int, rec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": i}
    for name, f in FIELDS.items():
        v = rec.get(name)
        if f.type is Type.MONEY:
            out[f.column] = v.minor_units() if v is not None else None
            out[f"{f.column}__currency"] = v.currency if v is not None else None
        elif f.type is Type.BASE_MONEY:
            out[f.column] = v.minor_units() if isinstance(v, Money) else None
        else:
            out[f.column] = v
    return out


@pytest.fixture
def probe(session):
    PROBE.create(session.connection(), checkfirst=True)
    return session


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(conditions, st.lists(records(), min_size=1, max_size=8), exchanges())
def test_sql_selects_what_python_matches(probe, rule, recs, exchange):
    assume(not problems(rule, FIELDS))
    bound = bind(rule, AS_OF, tz=TZ, exchange=exchange)
    matches = to_python(bound, FIELDS)
    expected = {i for i, r in enumerate(recs) if matches(r)}
    conn = probe.connection()
    with probe.begin_nested() as sp:
        conn.execute(delete(PROBE))
        conn.execute(insert(PROBE), [row(i, r) for i, r in enumerate(recs)])
        columns = {c.name: c for c in PROBE.c}
        got = set(conn.scalars(select(PROBE.c.id).where(to_sql(bound, FIELDS, columns))))
        sp.rollback()
    assert got == expected, str(bound.rule)
