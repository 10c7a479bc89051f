"""Bulk writes straight through the driver's ``executemany``.

SQLAlchemy's executemany builds and type-processes a parameter dict per row (about 20 us
a row); a bulk run writing hundreds of thousands of rows spends most of its time there.
These helpers process each column once with the column type's own bind processor (so
JSON, aware datetimes and enums are stored exactly as the ORM stores them) and hand
tuples to the driver. Values are always bound, never formatted into SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session


def _table(table: Any) -> Table:
    return cast(Table, getattr(table, "__table__", table))


def _prepare(
    session: Session, table: Table, columns: Sequence[str]
) -> tuple[str, list[Callable[[Any], Any] | None]]:
    dialect = session.get_bind().dialect
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    processors: list[Callable[[Any], Any] | None] = [
        table.c[c].type._cached_bind_processor(dialect) for c in columns
    ]
    return placeholder, processors


def _rows(
    rows: Sequence[Sequence[Any]], processors: list[Callable[[Any], Any] | None]
) -> list[tuple[Any, ...]]:
    if not any(processors):
        return [tuple(r) for r in rows]
    columns = list(zip(*rows, strict=True))
    for i, p in enumerate(processors):
        if p is not None:
            columns[i] = _processed(columns[i], p)
    return list(zip(*columns, strict=True))


def _processed(values: Sequence[Any], process: Callable[[Any], Any]) -> tuple[Any, ...]:
    """``process`` applied to each distinct value once (a run repeats the same instant,
    actor, owner...); None stays None."""
    if any(isinstance(v, Decimal) for v in values):  # 1.2 == 1.20: one key, two texts
        return tuple(None if v is None else process(v) for v in values)
    try:
        done = {v: process(v) for v in set(values) if v is not None}
    except TypeError:  # unhashable (JSON dicts): once per object; ``values`` keeps each
        by_id: dict[int, Any] = {}  # alive, so an id is not reused meanwhile
        for v in values:
            if v is not None and id(v) not in by_id:
                by_id[id(v)] = process(v)
        return tuple(None if v is None else by_id[id(v)] for v in values)
    done[None] = None
    return tuple(done[v] for v in values)


def insert_many(
    session: Session, table: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT ``rows`` (tuples in the order of ``columns``); omitted columns take their
    server defaults."""
    if not rows:
        return
    t = _table(table)
    ph, processors = _prepare(session, t, columns)
    quote = session.get_bind().dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(t.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([ph] * len(columns))})"
    )
    session.flush()
    session.connection().exec_driver_sql(sql, _rows(rows, processors))


def update_many(
    session: Session,
    table: Any,
    set_columns: Sequence[str],
    where_columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """UPDATE ... SET set_columns WHERE where_columns = ..., one row per tuple (the set
    values first, then the where values)."""
    if not rows:
        return
    t = _table(table)
    ph, processors = _prepare(session, t, [*set_columns, *where_columns])
    quote = session.get_bind().dialect.identifier_preparer.quote
    sets = ", ".join(f"{quote(c)} = {ph}" for c in set_columns)
    where = " AND ".join(f"{quote(c)} = {ph}" for c in where_columns)
    session.flush()
    session.connection().exec_driver_sql(
        f"UPDATE {quote(t.name)} SET {sets} WHERE {where}", _rows(rows, processors)
    )
