"""What a column of :func:`arpolicy.rules.to_sql.to_sql` may be, besides a plain SQL
expression, and the SQL functions they compile to.

``columns`` may hold:

- :class:`DaysBefore` (the as-of date minus a date column, such as ``days_past_due``):
  comparisons become comparisons on the date column, index-friendly and dialect-neutral;
  with ``known``, the value is missing (unknown) where that condition is false, as for a
  paid invoice's days past due;
- :class:`Scaled` (an integer count of 10**-places, such as a DSO in tenths of a day):
  comparisons with a decimal become exact integer comparisons, where SQLite's floats could
  round;
- for a custom field (``field.json_key``), the JSON column itself under ``field.column``:
  the value is extracted and typed here (text; numbers and money amounts cast to NUMERIC;
  ISO dates as dates on PostgreSQL and as their ISO text on SQLite, which stores dates as
  ISO text; booleans), and a money value's currency is read from the same JSON object.
  Numbers and money amounts from JSON compare exactly on PostgreSQL; SQLite compares them
  as 8-byte floats (exact up to 15 significant digits).

The strings a rule compares case-insensitively go through :class:`Folded`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import Date, Numeric, String, cast, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from arpolicy.kit.db import UNICODE_LOWER
from arpolicy.rules.catalogue import Field, Type


@dataclass(frozen=True)
class DaysBefore:
    """A field whose value is (as-of date - ``column``) in days, such as days past due."""

    column: Any
    """A date column (or column attribute)."""
    as_of: date
    known: Any = None
    """A boolean SQL condition (never NULL) outside which the value is missing; None: it
    is there wherever ``column`` is."""

    def day(self, days: Any) -> date:
        return self.as_of - timedelta(days=int(days))


@dataclass(frozen=True)
class Scaled:
    """A number held as an integer count of 10**-``places`` (2.35 as 235 with places=2)."""

    column: Any
    places: int

    def bounds(self, x: Any) -> tuple[int, int]:
        """(ceil, floor) of ``x`` in the column's units."""
        y = Decimal(x).scaleb(self.places)
        return int(y.to_integral_value(ROUND_CEILING)), int(y.to_integral_value(ROUND_FLOOR))


@dataclass(frozen=True)
class JsonMoney:
    """A money custom field: its amount (a decimal) and currency, read from JSON."""

    amount: Any
    currency: Any


class JsonDate(FunctionElement[date]):
    """ISO date text from JSON as a date."""

    type = Date()
    inherit_cache = True


@compiles(JsonDate)
def _json_date(element: JsonDate, compiler: SQLCompiler, **kw: Any) -> str:
    (text,) = element.clauses
    return compiler.process(cast(text, Date), **kw)


@compiles(JsonDate, "sqlite")
def _json_date_sqlite(element: JsonDate, compiler: SQLCompiler, **kw: Any) -> str:
    (text,) = element.clauses  # SQLite keeps dates as ISO text: compare the text itself
    return compiler.process(type_coerce(text, Date), **kw)


class Folded(FunctionElement[str]):
    """A string lower-cased as Python's ``str.lower`` does (full Unicode mapping): ICU's
    ``lower`` on PostgreSQL (the server must have ICU, as the common builds do), and on
    SQLite the function :mod:`arpolicy.kit.db` registers on every connection (SQLite's own
    ``lower`` only knows ASCII)."""

    type = String()
    inherit_cache = True


@compiles(Folded)
def _folded(element: Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(Folded, "postgresql")
def _folded_pg(element: Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f'lower(({compiler.process(element.clauses, **kw)}) COLLATE "und-x-icu")'


@compiles(Folded, "sqlite")
def _folded_sqlite(element: Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{UNICODE_LOWER}({compiler.process(element.clauses, **kw)})"


def json_value(f: Field, doc: Any) -> Any:
    """The typed SQL value of custom field ``f`` in the JSON column ``doc``."""
    key = f.json_key
    if f.type is Type.MONEY:
        return JsonMoney(
            cast(doc[(key, "amount")].as_string(), Numeric()),
            doc[(key, "currency")].as_string(),
        )
    item = doc[key]
    if f.type is Type.NUMBER:
        return cast(item.as_string(), Numeric())
    if f.type is Type.DATE:
        return JsonDate(item.as_string())
    if f.type is Type.BOOLEAN:
        return item.as_boolean()
    return item.as_string()
