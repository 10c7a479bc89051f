"""``make bench``: the ledger benchmarks, side by side in one run.

    python -m bench                         # 100,000 customers, 1,000,000 invoices, SQLite
    python -m bench --customers 10000 --invoices 100000   # a quick look
    python -m bench --pg                    # also the same flow on PostgreSQL (127.0.0.1)

Targets (issue 2): importing 1,000,000 invoices into SQLite in under 30 s; the ageing report
over 100,000 customers and 1,000,000 invoices in under 2 s on SQLite. A missed target is
printed as MISSED and the command exits 1. Results go to bench/.data/results.json; copy
them into docs/benchmarks.md with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.ageing import ageing_report
from arpolicy.ledger.figures import customer_figures, tenant_figures
from arpolicy.ledger.importing import import_file
from arpolicy.ledger.tenants import create_tenant, get_tenant
from bench import data

HERE = data.HERE
TODAY = data.TODAY
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def run_flow(
    url: str,
    files: dict[str, Path],
    label: str,
    results: list[dict[str, Any]],
    *,
    parallel: bool = True,
    only_import: bool = False,
) -> None:
    """Import the files into a fresh database (``parallel``: the CLI's two-process path for
    large files), then time the reports."""
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        create_tenant(s, "bench", base_currency="USD", timezone="UTC")

    def load(kind: str) -> float:
        def go() -> Any:
            with transaction(engine) as s:
                tenant = get_tenant(s, "bench")
                report = import_file(s, tenant, kind, files[kind], parallel=parallel)
                if not report.ok:
                    raise SystemExit(f"{kind} import rejected: {report.errors[:3]}")
                return report

        seconds, _ = timed(go)
        return seconds

    load("fx-rates")
    if only_import:
        load("customers")
        what = "import invoices in one process (comparison)"
        results.append(record(label, what, load("invoices"), None))
        engine.dispose()
        return
    results.append(record(label, "import customers", load("customers"), None))
    results.append(
        record(label, "import invoices", load("invoices"), 30.0 if label == "sqlite" else None)
    )

    with transaction(engine, write=False) as s:
        tenant = get_tenant(s, "bench")
        runs = [timed(lambda: ageing_report(s, tenant, TODAY)) for _ in range(5)]
        rows = len(runs[0][1].rows)
        results.append(
            record(
                label,
                f"ageing report ({rows:,} customers, median of 5)",
                statistics.median(r[0] for r in runs),
                2.0 if label == "sqlite" else None,
            )
        )
        results.append(
            record(
                label,
                "tenant figures (median of 3)",
                statistics.median(
                    timed(lambda: tenant_figures(s, tenant, TODAY))[0] for _ in range(3)
                ),
                None,
            )
        )
        results.append(
            record(
                label,
                "figures of every customer (once)",
                timed(lambda: customer_figures(s, tenant, TODAY))[0],
                None,
            )
        )
    engine.dispose()


def record(db: str, what: str, seconds: float, target: float | None) -> dict[str, Any]:
    verdict = "" if target is None else ("ok" if seconds < target else "MISSED")
    print(
        f"{db:9} {what:55} {seconds:8.2f} s  {'target < ' + str(target) + ' s ' + verdict if target else ''}",
        flush=True,
    )
    return {
        "db": db,
        "what": what,
        "seconds": round(seconds, 3),
        "target": target,
        "verdict": verdict,
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--pg", action="store_true", help="also run on PostgreSQL at 127.0.0.1:5432")
    ap.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        help="skip the one-process import run kept for comparison",
    )
    ap.add_argument(
        "--rules",
        action="store_true",
        help="afterwards, run the rule benchmark of issue 3 (bench/rules_bench.py)",
    )
    args = ap.parse_args()
    files = data.prepare_files(args.customers, args.invoices)
    results: list[dict[str, Any]] = []
    db = HERE / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    run_flow(f"sqlite:///{db}", files, "sqlite", results)
    if args.compare:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        run_flow(f"sqlite:///{db}", files, "sqlite", results, parallel=False, only_import=True)
    if args.pg:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS arpolicy_bench WITH (FORCE)"))
            c.execute(text("CREATE DATABASE arpolicy_bench"))
        run_flow(PG_ADMIN.rsplit("/", 1)[0] + "/arpolicy_bench", files, "postgres", results)
    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
        "python": sys.version.split()[0],
        "sqlite": __import__("sqlite3").sqlite_version,
        "customers": args.customers,
        "invoices": args.invoices,
    }
    (HERE / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    missed = [r for r in results if r["verdict"] == "MISSED"]
    print("all targets met" if not missed else f"{len(missed)} target(s) MISSED")
    status = 1 if missed else 0
    if args.rules:
        from bench import rules_bench

        rules_argv = ["--customers", str(args.customers), "--invoices", str(args.invoices)]
        if not args.pg:
            rules_argv.append("--no-pg")
        status = max(status, rules_bench.main(rules_argv))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
