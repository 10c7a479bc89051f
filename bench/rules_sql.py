"""The SQL side of the rule benchmark: arpolicy's compiled SQL (``select_invoices``), the
hand-written query and the fetch-and-filter loop on one database, their query plans, and
the index experiments.

The plans are those of the statement ``select_invoices`` really executes (caught on its way
to the driver, with its parameters), not of a copy of how it builds it.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, event, select, text
from sqlalchemy.orm import Session

from arpolicy.kit.db import make_engine, transaction
from arpolicy.ledger.selection import select_invoices
from arpolicy.ledger.tenants import get_tenant
from arpolicy.models import Document
from arpolicy.rules import FieldSet
from bench.rules_common import (
    AS_OF,
    CUTOFF,
    TARGET_SQL_VS_HAND,
    TARGET_SQL_VS_LOOP,
    Table,
    eur_cents,
    median_runs,
    same,
)

INDEX = "ix_documents_balance_due"
"""The index that serves the rule (models/document.py, migration a1c3e5f7b9d2)."""

# The hand-written equivalent. ``balance > 500 USD`` compares an EUR balance at the bound
# EUR->USD rate (:eur: 500 USD in EUR cents, rules_common.eur_cents); ``currency includes
# (USD, EUR)`` leaves those two currencies. ``due_date < 30 days ago`` is due_date <
# 2026-10-24; ``days_past_due >= 30`` is due_date <= 2026-10-24, implied by the first.
# ``balance_minor != 0`` is implied by the balance tests and written out all the same, as
# someone who knows the indexes writes it: SQLite uses a partial index only when the WHERE
# repeats its predicate. The ids are sorted in Python, as select_invoices does: asked for
# id order over two currencies, SQLite walks every document by id instead of the index.
HAND_SQL = (
    "SELECT id FROM documents WHERE tenant_id = :tenant AND currency IN ('USD', 'EUR')"
    " AND (currency = 'USD' AND balance_minor > 50000 OR currency = 'EUR' AND balance_minor > :eur)"
    " AND disputed = :no AND due_date < :cutoff AND balance_minor != 0"
)
HAND_SQL_PLAIN = HAND_SQL.replace(" AND balance_minor != 0", "")
"""The hand-written query as it was written before the index (timed for information)."""

EXPERIMENTS: dict[str, tuple[str, ...]] = {
    "without the index": (f"DROP INDEX {INDEX}",),
    "keyed by due date instead of id": (
        f"DROP INDEX {INDEX}",
        "CREATE INDEX bench_rules_by_due ON documents"
        " (tenant_id, currency, due_date, balance_minor, disputed, id) WHERE balance_minor != 0",
    ),
    "(tenant_id, due_date) index instead": (
        f"DROP INDEX {INDEX}",
        "CREATE INDEX bench_rules_due ON documents (tenant_id, due_date)",
    ),
}
"""name -> DDL run in a transaction that is rolled back after the experiment's timings."""
EXPERIMENT_REPEAT = 3
_fresh = itertools.count()


def hand_params(tenant: Any, bound: Any) -> dict[str, Any]:
    return {"tenant": tenant.id, "no": False, "cutoff": CUTOFF, "eur": eur_cents(bound)}


def hand_written(session: Session, tenant: Any, bound: Any, sql: str = HAND_SQL) -> list[int]:
    return sorted(session.execute(text(sql), hand_params(tenant, bound)).scalars())


def fetch_and_filter(session: Session, tenant: Any, bound: Any) -> list[int]:
    """Fetch the tenant's invoices with the needed columns, build records, filter in Python."""
    stmt = (
        select(
            Document.id,
            Document.currency,
            Document.balance_minor,
            Document.due_date,
            Document.disputed,
        )
        .where(Document.tenant_id == tenant.id)
        .order_by(Document.id)
    )
    out = []
    cutoff = CUTOFF
    above = {"USD": 50000, "EUR": eur_cents(bound)}  # 500 USD in each currency's cents
    for doc_id, ccy, bal, due, disputed in session.execute(stmt):
        rec = {"currency": ccy, "balance_minor": bal, "due_date": due, "disputed": disputed}
        if (
            rec["currency"] in above
            and rec["balance_minor"] > above[rec["currency"]]
            and not rec["disputed"]
            and rec["due_date"] < cutoff
            and (AS_OF - rec["due_date"]).days >= 30
        ):
            out.append(doc_id)
    return out


# --------------------------------------------------------------------------- plans


def caught(engine: Engine, fn: Callable[[], Any]) -> tuple[str, str, Any, Any]:
    """Run ``fn`` and catch the last statement it executes: (its SQL with the literal values,
    for reading; the SQL the driver got; its parameters; the statement object)."""
    got: dict[str, Any] = {}

    def on_execute(conn: Connection, element: Any, *_: Any) -> None:
        got["element"] = element

    def on_cursor(conn: Connection, _cur: Any, sql: str, params: Any, *_: Any) -> None:
        got["sql"], got["params"] = sql, params

    event.listen(engine, "before_execute", on_execute)
    event.listen(engine, "before_cursor_execute", on_cursor)
    try:
        fn()
    finally:
        event.remove(engine, "before_execute", on_execute)
        event.remove(engine, "before_cursor_execute", on_cursor)
    literal = got["element"].compile(engine, compile_kwargs={"literal_binds": True})
    return str(literal), got["sql"], got["params"], got["element"]


def plan(conn: Connection, sql: str, params: Any, *, sqlite: bool) -> list[str]:
    """The plan of a driver-level statement: EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE,
    BUFFERS) on PostgreSQL (which runs it once more)."""
    if sqlite:
        # A fresh text each time: pysqlite caches prepared statements, and SQLite does not
        # re-plan a cached EXPLAIN when the schema changes (it holds no schema check).
        sql = f"EXPLAIN QUERY PLAN /* {next(_fresh)} */ {sql}"
        return [str(r[-1]) for r in conn.exec_driver_sql(sql, params)]
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
    return [str(r[0]) for r in rows]


def plans(
    engine: Engine, s: Session, tenant: Any, bound: Any, fields: FieldSet, sqlite: bool
) -> tuple[dict[str, Any], Any]:
    """The compiled statement and the plans of it and of the hand-written queries; and the
    statement object select_invoices executes."""
    literal, sql, params, element = caught(
        engine, partial(select_invoices, s, tenant, bound, fields)
    )
    conn = s.connection()
    out: dict[str, Any] = {"compiled_sql": literal}
    out["compiled"] = plan(conn, sql, params, sqlite=sqlite)
    for name, hand in (("hand", HAND_SQL), ("hand, no balance predicate", HAND_SQL_PLAIN)):
        _, sql, params, _ = caught(engine, partial(hand_written, s, tenant, bound, hand))
        out[name] = plan(conn, sql, params, sqlite=sqlite)
    return out, element


def index_definition(s: Session, sqlite: bool) -> str | None:
    if sqlite:
        query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = :n"
    return s.execute(text(query), {"n": INDEX}).scalar()


def vacuum(engine: Engine, label: str) -> None:
    """VACUUM (ANALYZE) documents: visibility map and statistics as autovacuum keeps them."""
    t0 = time.perf_counter()
    with engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT")
        c.exec_driver_sql("VACUUM (ANALYZE) documents")
    print(f"{label}: VACUUM (ANALYZE) documents in {time.perf_counter() - t0:.1f} s", flush=True)


# --------------------------------------------------------------------------- timings


def measure(
    label: str,
    s: Session,
    tenant: Any,
    bound: Any,
    fields: FieldSet,
    want: list[int],
    table: Table,
    *,
    repeat: int,
    suffix: str = "",
    main: bool = True,
    statement: Any = None,
) -> bool:
    """Time the compiled SQL and the hand-written query and, in the ``main`` run, the
    hand-written query without the balance predicate and the loop; add the rows (only the
    main run carries the targets); check every id list. ``statement``, the one
    select_invoices executes, is also timed through Core (``session.connection()``), for
    information: the difference is what the ORM's handling of the result rows costs."""
    comp_med, comp_best, comp = median_runs(
        lambda: select_invoices(s, tenant, bound, fields), repeat
    )
    ok = same(f"{label} select_invoices{suffix}", comp, want)
    hand_med, hand_best, hand = median_runs(lambda: hand_written(s, tenant, bound), repeat)
    ok &= same(f"{label} hand-written SQL{suffix}", hand, want)
    if not main:
        table.add(
            label,
            f"arpolicy select_invoices (compiled SQL){suffix}",
            comp_med * 1e3,
            "ms",
            best=comp_best * 1e3,
            ratio=comp_med / hand_med,
            ratio_of="x hand-written",
        )
        table.add(label, f"hand-written SQL{suffix}", hand_med * 1e3, "ms", best=hand_best * 1e3)
        return ok
    plain_med, plain_best, plain = median_runs(
        lambda: hand_written(s, tenant, bound, HAND_SQL_PLAIN), repeat
    )
    ok &= same(f"{label} hand-written SQL without the balance predicate", plain, want)
    loop_med, loop_best, loop = median_runs(lambda: fetch_and_filter(s, tenant, bound), repeat)
    ok &= same(f"{label} fetch-and-filter loop", loop, want)
    if statement is not None:
        core_med, core_best, core = median_runs(
            lambda: s.connection().execute(statement).scalars().all(), repeat
        )
        ok &= same(f"{label} the same statement through Core", core, want)
    table.add(
        label,
        "arpolicy select_invoices (compiled SQL)",
        comp_med * 1e3,
        "ms",
        best=comp_best * 1e3,
        ratio=comp_med / hand_med,
        ratio_of="x hand-written",
        target=f"<= {TARGET_SQL_VS_HAND}x hand; >= {TARGET_SQL_VS_LOOP:g}x loop",
        ok=comp_med <= TARGET_SQL_VS_HAND * hand_med and loop_med >= TARGET_SQL_VS_LOOP * comp_med,
    )
    table.add(
        label,
        "hand-written SQL",
        hand_med * 1e3,
        "ms",
        best=hand_best * 1e3,
        ratio=1.0,
        ratio_of="reference",
    )
    table.add(
        label,
        "hand-written SQL without `balance_minor != 0`",
        plain_med * 1e3,
        "ms",
        best=plain_best * 1e3,
        ratio=plain_med / hand_med,
        ratio_of="x hand-written",
    )
    if statement is not None:
        table.add(
            label,
            "select_invoices' statement, executed through Core",
            core_med * 1e3,
            "ms",
            best=core_best * 1e3,
            ratio=core_med / hand_med,
            ratio_of="x hand-written",
            note="the statement select_invoices builds, run with session.connection() instead"
            " of session.scalars (information: the ORM's cost for the result rows)",
        )
    table.add(
        label,
        "fetch-and-filter loop (Python)",
        loop_med * 1e3,
        "ms",
        best=loop_best * 1e3,
        ratio=loop_med / comp_med,
        ratio_of="x compiled SQL",
    )
    return ok


def sql_part(
    label: str,
    url: str,
    fields: FieldSet,
    bound: Any,
    want: list[int] | None,
    args: argparse.Namespace,
    table: Table,
    results: dict[str, Any],
) -> tuple[list[int], bool]:
    """One database: plans, timings, then the experiments (rolled back)."""
    engine = make_engine(url)
    sqlite = url.startswith("sqlite")
    if not sqlite:
        vacuum(engine, label)
    found: dict[str, Any] = {}
    with transaction(engine, write=False) as s:
        tenant = get_tenant(s, "bench")
        found["index"] = index_definition(s, sqlite)
        if found["index"] is None:
            raise SystemExit(f"{label}: {INDEX} is missing: the database is not migrated")
        if want is None:
            want = select_invoices(s, tenant, bound, fields)
        found_plans, statement = plans(engine, s, tenant, bound, fields, sqlite)
        found |= found_plans
        all_same = measure(
            label, s, tenant, bound, fields, want, table, repeat=args.repeat, statement=statement
        )
    if args.experiment:
        for name, ddl in EXPERIMENTS.items():
            with engine.connect() as conn:
                outer = conn.begin()
                try:
                    t0 = time.perf_counter()
                    for statement in ddl:
                        conn.exec_driver_sql(statement)
                    took = time.perf_counter() - t0
                    print(f"{label}: experiment {name!r}: DDL in {took:.1f} s", flush=True)
                    s = Session(bind=conn)
                    tenant = get_tenant(s, "bench")
                    found[f"experiment: {name}"] = plans(engine, s, tenant, bound, fields, sqlite)[
                        0
                    ]
                    all_same &= measure(
                        label,
                        s,
                        tenant,
                        bound,
                        fields,
                        want,
                        table,
                        repeat=min(args.repeat, EXPERIMENT_REPEAT),
                        suffix=f" [EXPERIMENT: {name}]",
                        main=False,
                    )
                    s.close()
                finally:
                    outer.rollback()
    results.setdefault("sql", {})[label] = found
    engine.dispose()
    return want, all_same


def print_plans(results: dict[str, Any]) -> None:
    for label, found in results.get("sql", {}).items():
        print(f"\n{label}: {found['index']}")
        print(
            f"{label}: compiled SQL (select_invoices):\n  "
            + found["compiled_sql"].replace("\n", "\n  ")
        )
        groups = [("", found)] + [
            (f" [{k}]", v) for k, v in found.items() if k.startswith("experiment: ")
        ]
        for tag, group in groups:
            for name in ("compiled", "hand", "hand, no balance predicate"):
                print(f"{label} plan, {name}{tag}:")
                for line in group[name]:
                    print("   ", line)
