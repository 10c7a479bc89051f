"""What every level shares: a :class:`Source` (where a level's fields live in the
database), selection of the ids a rule matches, and the typed records of the same columns.

One source serves both evaluators: :func:`select_ids` compiles a rule to SQL over it and
lets the database scan; :func:`read_records` reads the same column expressions as the
typed records ``to_python`` and ``explain`` take. A column that depends on an aggregate
(the customer figures, the per-invoice figures) joins that aggregate when it is first
built, so a rule joins only what it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arpolicy.kit.money import Money
from arpolicy.ledger.figures_view import Joins
from arpolicy.rules.binding import BoundRule
from arpolicy.rules.catalogue import Field, FieldSet, Type
from arpolicy.rules.to_sql import (
    DaysBefore,
    Scaled,
    field_columns,
    plan_of,
    stray_currencies,
    to_sql,
    used_columns,
)

Builder = Callable[[], Any]


@dataclass
class Source:
    """A level's FROM clause (growing by joins as columns are built), the column of the
    record ids, the tenant filter, and a builder per field column (``Field.column`` and
    currency columns)."""

    joins: Joins
    key: Any
    scope: Any
    builders: dict[str, Builder]

    def columns(self, needed: Iterable[str] | None = None) -> dict[str, Any]:
        """Column name -> SQL expression (or :class:`DaysBefore` / :class:`Scaled`), for
        ``needed`` only (all when None). Build them before reading ``joins.clause``."""
        wanted = None if needed is None else set(needed)
        return {n: b() for n, b in self.builders.items() if wanted is None or n in wanted}


def select_ids(session: Session, source: Source, bound: BoundRule, fields: FieldSet) -> list[int]:
    """Ids of the records the rule matches, selected by the database, in id order.

    A money comparison with a rate per currency first asks whether any record holds money
    in a currency without one: comparing it has no answer, so this raises MissingRateError
    as comparing that record in Python does (rules/fx.py)."""
    plan = plan_of(bound, fields)
    columns = source.columns(used_columns(plan))
    condition = to_sql(bound, fields, columns)
    for ccy, known, thresholds in stray_currencies(plan, columns):
        stray = session.scalar(
            select(ccy)
            .select_from(source.joins.clause)
            .where(source.scope, ccy.not_in(known))
            .limit(1)
        )
        if stray is not None:
            raise thresholds.missing(stray)
    stmt = select(source.key).select_from(source.joins.clause).where(source.scope, condition)
    # Sorted here, not by ORDER BY: a money comparison is one term per currency, and asking
    # SQLite for id order then makes it walk every document by id instead of the index of
    # those with a balance by currency (tests/ledger/test_query_plan.py).
    return sorted(session.scalars(stmt))


class _Reader:
    """The SELECT list of a records query: each column once, and how to type each field."""

    def __init__(self, columns: dict[str, Any]) -> None:
        self.columns = columns
        self.exprs: list[Any] = []
        self._slots: dict[str, int] = {}

    def slot(self, name: str, expr: Any) -> int:
        if name not in self._slots:
            self._slots[name] = len(self.exprs)
            self.exprs.append(expr.label(f"c{len(self.exprs)}"))
        return self._slots[name]

    def field(self, f: Field, as_of: date, base: str) -> Callable[[Sequence[Any]], Any] | None:
        col = self.columns.get(f.column)
        if col is None:
            return None
        if isinstance(col, DaysBefore):
            i = self.slot(f.column, col.column)
            if col.known is None:
                return lambda row: None if row[i] is None else (as_of - row[i]).days
            k = self.slot(f.column + "__known", col.known)
            return lambda row: None if row[i] is None or not row[k] else (as_of - row[i]).days
        if isinstance(col, Scaled):
            i, places = self.slot(f.column, col.column), col.places
            return lambda row: None if row[i] is None else Decimal(int(row[i])).scaleb(-places)
        i = self.slot(f.column, col)
        if f.json_key:
            return lambda row: json_typed(f, row[i])
        if f.type is Type.MONEY:
            key = f.currency_column or f"{f.column}__currency"
            j = self.slot(key, self.columns[key])
            return lambda row: money(row[i], row[j])
        kind = f.type
        return lambda row: typed(kind, row[i], base)


def read_records(
    session: Session,
    source: Source,
    fields: FieldSet,
    as_of: date,
    ids: Sequence[int] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(id, record)`` in id order, typed for ``to_python`` / ``explain``: the fields of
    ``fields`` (every one is available), read from the same columns SQL selection uses."""
    reader = _Reader(source.columns(set().union(*map(field_columns, fields.values()))))
    readers = []
    for name, f in fields.items():
        read = reader.field(f, as_of, fields.base_currency)
        if read is not None:
            readers.append((name, read))
    stmt = (
        select(source.key, *reader.exprs)
        .select_from(source.joins.clause)
        .where(source.scope)
        .order_by(source.key)
    )
    if ids is not None:
        stmt = stmt.where(source.key.in_(ids))
    for key, *row in session.execute(stmt):
        yield key, {name: read(row) for name, read in readers}


def money(minor: Any, currency: str | None) -> Money | None:
    if minor is None or currency is None:
        return None
    return Money.from_minor(int(minor), currency)


def typed(kind: Type, value: Any, base: str) -> Any:
    """A database value as the record type of a field of type ``kind``."""
    if value is None:
        return None
    if kind is Type.BASE_MONEY:
        return Money.from_minor(int(value), base)
    if kind is Type.BOOLEAN:
        return bool(value)
    if kind is Type.INTEGER:
        return int(value)
    if kind is Type.NUMBER:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    return getattr(value, "value", value)  # enums as their plain value


def json_typed(f: Field, doc: Any) -> Any:
    """A custom field's value in its canonical JSON form (see ledger/importing/customfields.py)
    as its record type."""
    value = (doc or {}).get(f.json_key)
    if value is None:
        return None
    if f.type is Type.MONEY:
        if not isinstance(value, dict) or value.get("amount") is None or not value.get("currency"):
            return None
        return Money.parse(str(value["amount"]), value["currency"])
    if f.type is Type.NUMBER:
        return Decimal(str(value))
    if f.type is Type.DATE:
        return date.fromisoformat(value)
    if f.type is Type.BOOLEAN:
        return bool(value)
    return str(value)
