"""Chunked upserts: ``INSERT ... ON CONFLICT (tenant_id, key...) DO UPDATE``.

The statement is built with SQLAlchemy Core's dialect-specific insert
(``sqlalchemy.dialects.sqlite.insert`` / ``postgresql.insert``), compiled once per set of
updated columns, and executed with ``executemany`` on the session's connection, with the
parameters already in the driver's native form. Going through Core's per-row bind
processing instead cost about 17 µs a row on SQLite (measured), more than half of the budget
of a million-row import.

On update only the columns the file carries are written (plus derived ones and
``updated_at``); JSON columns listed in ``Kind.merge_json`` are merged key by key (an empty
cell removes a key), so an import never erases what the file did not mention.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Date, bindparam, cast, func, literal_column, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from arpolicy.kit.types import DecimalText, UTCDateTime
from arpolicy.ledger.importing.context import Context
from arpolicy.ledger.importing.parsers import ISO_TEXT
from arpolicy.ledger.importing.specs import Kind, Row

CHUNK = 10_000
ROWS_PER_STATEMENT = 500
SQLITE_VARIABLES = 32_000
PATCH = "__patch"
BULK_MIN_ROWS = 100_000
SQLITE_CACHE_KIB = 262_144
"""Page cache (KiB) for the import's connection: the indexes of a million rows stay in memory."""


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return "{}" if value == {} else json.dumps(value, separators=(",", ":"), sort_keys=True)


def _sqlite_instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _decimal_text(value: Any) -> str | None:
    """The decimal as written (1.2 stays 1.2 and 1.20 stays 1.20). Not cached by value:
    equal decimals of different exponents are one dict key, so a cache keyed by value
    handed out another row's text."""
    return None if value is None else str(value)


Converter = tuple[Callable[..., Any], Callable[[Any], Any] | None]
"""(conversion, lookup of an already converted value or None): the generated row function
tries the lookup first (dates and rates repeat; a dict hit is several times cheaper)."""


def converters(kind: Kind, names: list[str], dialect: str) -> dict[str, Converter]:
    """Per-column conversions to the driver's native form (the rest passes through)."""
    table = kind.model.__table__
    out: dict[str, Converter] = {}
    for name in names:
        column_type = table.c[name.removesuffix(PATCH)].type
        if isinstance(column_type, JSON):
            out[name] = (_json, None)
        elif isinstance(column_type, DecimalText):
            out[name] = (_decimal_text, None)
        elif dialect == "sqlite" and isinstance(column_type, UTCDateTime):
            out[name] = (_sqlite_instant, None)
        elif dialect == "sqlite" and isinstance(column_type, Date):
            out[name] = (_sqlite_date, ISO_TEXT.get)
    return out


def _merge(dialect: str, column: Any, patch: Any) -> ColumnElement[Any]:
    """``column`` with the keys of ``patch`` set (null values remove keys); a nullable
    column left with no key becomes NULL again."""
    if dialect == "sqlite":
        merged: Any = func.json_patch(func.coalesce(column, literal_column("'{}'")), patch)
        return func.nullif(merged, literal_column("'{}'")) if column.nullable else merged
    jsonb = func.coalesce(cast(column, JSONB), text("'{}'::jsonb")).op("||")(cast(patch, JSONB))
    stripped: Any = func.jsonb_strip_nulls(jsonb)
    if column.nullable:
        stripped = func.nullif(stripped, text("'{}'::jsonb"))
    return cast(stripped, JSON)


class Statement:
    """One compiled upsert and the way to turn rows into its parameters."""

    def __init__(
        self,
        ctx: Context,
        kind: Kind,
        columns: tuple[str, ...],
        update: tuple[str, ...],
        upsert: bool = True,
    ):
        dialect = ctx.session.get_bind().dialect
        self.dialect = dialect.name
        table = kind.model.__table__
        ins = (sqlite.insert if self.dialect == "sqlite" else postgresql.insert)(table)
        ins = ins.values({c: bindparam(c) for c in columns})
        sets: dict[str, Any] = {c: ins.excluded[c] for c in update if c not in kind.merge_json}
        for c in update:
            if c in kind.merge_json:
                sets[c] = _merge(self.dialect, table.c[c], bindparam(c + PATCH))
        sets["updated_at"] = func.now()
        stmt = ins.on_conflict_do_update(index_elements=["tenant_id", *kind.key], set_=sets)
        compiled = (stmt if upsert else ins).compile(dialect=dialect)
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or compiled.params)
        self.convert = converters(kind, self.names, self.dialect)
        self.as_tuple = _tuple_function(self.names, self.convert)
        self.per, self.multi_sql = 1, ""
        # The row's key from its parameters (kept for the import's audit trail).
        self.key_of = itemgetter(
            *([self.names.index(k) for k in kind.key] if self.dialect == "sqlite" else kind.key)
        )
        if self.dialect == "sqlite" and len(self.names) == len(columns):
            self.per, self.multi_sql = _multi_row(self.sql, len(columns))

    def execute(self, conn: Connection, params: list[Any]) -> None:
        """Run the statement for rows already made parameters by :meth:`as_row`."""
        if self.per == 1:
            conn.exec_driver_sql(self.sql, params)
            return
        per, full = self.per, len(params) // self.per * self.per
        if full:
            flat = [tuple(chain.from_iterable(params[i : i + per])) for i in range(0, full, per)]
            conn.exec_driver_sql(self.multi_sql, flat)
        if full < len(params):
            conn.exec_driver_sql(self.sql, params[full:])

    def as_row(self, row: Row) -> Any:
        """The row as this statement's parameters (a tuple for SQLite, a dict otherwise)."""
        if self.dialect == "sqlite":
            return self.as_tuple(row)
        return dict(zip(self.names, self.as_tuple(row), strict=True))


_STATEMENTS: dict[tuple[Any, ...], Statement] = {}
STATEMENTS_KEPT = 512
"""Compiled statements kept by the process (a single write would otherwise compile its
upsert each time: about a third of its cost, measured)."""


def statement(
    ctx: Context, kind: Kind, columns: tuple[str, ...], update: tuple[str, ...], upsert: bool
) -> Statement:
    """The compiled :class:`Statement`, made once per dialect, kind and set of columns.
    A statement holds no data: the SQL, the parameter order and the converters."""
    key = (ctx.session.get_bind().dialect.name, kind.name, columns, update, upsert)
    found = _STATEMENTS.get(key)
    if found is None:
        if len(_STATEMENTS) >= STATEMENTS_KEPT:
            _STATEMENTS.clear()
        found = _STATEMENTS[key] = Statement(ctx, kind, columns, update, upsert)
    return found


def _tuple_function(
    names: list[str], convert: dict[str, Converter]
) -> Callable[[Row], tuple[Any, ...]]:
    """``row -> (value, ...)`` in statement order, each value in the driver's form, as one
    generated function (the way :func:`collections.namedtuple` builds its methods): a
    million rows through a loop of converters cost seconds. ``names`` are our own table
    column names, never input."""
    env: dict[str, Any] = {}
    items = []
    for i, name in enumerate(names):
        if name not in convert:
            items.append(f"r[{name!r}]")
            continue
        fn, lookup = convert[name]
        env[f"c{i}"], env[f"g{i}"] = fn, lookup
        value = f"r[{name!r}]"
        items.append(f"(g{i}({value}) or c{i}({value}))" if lookup else f"c{i}({value})")
    code = f"def as_tuple(r):\n    return ({', '.join(items)},)\n"
    exec(code, env)
    return env["as_tuple"]


def _multi_row(sql: str, width: int) -> tuple[int, str]:
    """The statement with :data:`ROWS_PER_STATEMENT` row groups in VALUES (SQLite runs one
    statement per group of rows instead of one per row: about 20% faster)."""
    per = max(1, min(ROWS_PER_STATEMENT, SQLITE_VARIABLES // width))
    head, tail = sql.split(" VALUES ", 1)
    group, sep, rest = tail.partition(") ON CONFLICT")
    if not sep:
        group, rest = tail.removesuffix(")"), ""
    conflict = f" ON CONFLICT{rest}" if sep else ""
    return per, f"{head} VALUES {', '.join([group + ')'] * per)}{conflict}"


class Writer:
    """Buffers rows and writes them in chunks, one statement per set of updated columns.

    (A worker thread writing while the next chunk is parsed was tried and measured: with
    CPython's sqlite3 the two threads hand the GIL back and forth after every statement and
    the import got slower, not faster.)
    """

    def __init__(
        self,
        ctx: Context,
        kind: Kind,
        chunk: int | None = None,
        expected_rows: int = 0,
        first_load: bool = False,
        keep_keys: bool = False,
        bulk: bool = True,
    ) -> None:
        self.ctx = ctx
        self.bulk = bulk
        """False for the few rows of a single write: the connection's page cache is left as
        it is."""
        self.keys: list[Any] | None = [] if keep_keys else None
        """With ``keep_keys``: the key of every row written, as :attr:`Statement.key_of`
        gives it (what the audit trail of the import lists)."""
        # The tenant has no row in the table yet and SQLite lets no one else write until we
        # commit: no row can conflict, so a plain INSERT does (it skips the upsert's work).
        self.upsert = not (first_load and ctx.session.get_bind().dialect.name == "sqlite")
        self.kind = kind
        self.chunk = chunk or CHUNK
        self.enabled = True
        self.written = 0
        self._buffers: dict[tuple[str, ...], list[Row]] = {}
        self._statements: dict[tuple[str, ...], Statement] = {}
        self._pending = 0
        self._cache: int | None = None
        self._conn = ctx.session.connection()
        self._indexes = SecondaryIndexes(self._conn, kind.model.__tablename__, expected_rows)

    def add(self, row: Row, update: tuple[str, ...]) -> None:
        """Take one row; it is turned into its statement's parameters at once (holding
        10,000 small tuples instead of 10,000 dicts keeps the import in the CPU cache)."""
        if not self.enabled:
            return
        stmt = self._statements.get(update)
        if stmt is None:
            stmt = self.statement(update, tuple(c for c in row if not c.endswith(PATCH)))
        self._buffers[update].append(stmt.as_row(row))
        self._pending += 1
        if self._pending >= self.chunk:
            self.flush()

    def statement(self, update: tuple[str, ...], columns: tuple[str, ...]) -> Statement:
        """The statement for rows with ``columns`` updating ``update`` (made on first use)."""
        stmt = self._statements.get(update)
        if stmt is None:
            stmt = statement(self.ctx, self.kind, columns, update, self.upsert)
            self._statements[update] = stmt
            self._buffers[update] = []
        return stmt

    def write_params(
        self, update: tuple[str, ...], columns: tuple[str, ...], params: list[Any]
    ) -> None:
        """Write rows another process already made parameters (see :meth:`Statement.as_row`)."""
        stmt = self.statement(update, columns)
        stmt.execute(self._conn, params)
        self.written += len(params)
        if self.keys is not None:
            self.keys.extend(map(stmt.key_of, params))

    def discard(self) -> None:
        """Stop writing (the import will be rolled back): keep validating only."""
        self.enabled = False
        self._buffers.clear()
        self._pending = 0

    def flush(self) -> None:
        for update, params in self._buffers.items():
            if params:
                stmt = self._statements[update]
                stmt.execute(self._conn, params)
                self.written += len(params)
                if self.keys is not None:
                    self.keys.extend(map(stmt.key_of, params))
                params.clear()
        self._pending = 0

    def close(self) -> None:
        """Write what is buffered and rebuild the indexes set aside for the load."""
        self.flush()
        self._indexes.restore()

    def __enter__(self) -> Writer:
        if self.bulk and self._conn.dialect.name == "sqlite":
            self._cache = self._conn.exec_driver_sql("PRAGMA cache_size").scalar()
            self._conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            self._indexes.set_aside()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._cache is not None:
            self._conn.exec_driver_sql(f"PRAGMA cache_size={self._cache}")


class SecondaryIndexes:
    """A large load on SQLite drops the table's non-unique indexes and rebuilds them at the
    end: SQLite builds an index by sorting, far faster than a million inserts at random
    places (a million invoices: about half the time of the whole import, measured).

    Only when the load is large against the table (at least :data:`BULK_MIN_ROWS` expected
    and at least half the rows already there), so a rebuild never costs more than it saves.
    The unique indexes, which enforce the keys and the upserts, stay. It all happens in the
    import's savepoint: a rollback, or a crash before commit, leaves the schema untouched,
    and the indexes are rebuilt from their own ``sqlite_master`` text before it is released,
    so the committed schema is exactly the migrated one. The row count used to decide is of
    the whole table (a size, no tenant's data is read).
    """

    def __init__(self, conn: Connection, table: str, expected_rows: int) -> None:
        self.conn = conn
        self.table = table
        self.expected = expected_rows
        self.dropped: list[str] = []

    def set_aside(self) -> None:
        if self.expected < BULK_MIN_ROWS:
            return
        size = self.conn.exec_driver_sql(f"SELECT count(*) FROM {self.table}").scalar() or 0
        if self.expected < size // 2:
            return
        rows = self.conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
            (self.table,),
        ).all()
        for name, sql in rows:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
            self.dropped.append(sql)

    def restore(self) -> None:
        for sql in self.dropped:
            self.conn.exec_driver_sql(sql)
        self.dropped = []
