"""What the audit trail of an import costs: customers imported into a fresh database, once
as a first load and once again (every row updated), with the trail and without it (the
same code, ``actor=None``), alternating, in fresh databases.

    python -m bench.trail_bench                      # 50,000 customers, SQLite, 5 rounds
    python -m bench.trail_bench --pg --rounds 3      # PostgreSQL at 127.0.0.1 too

CPU time of this process is printed beside the wall time: on a shared machine the wall time
of identical runs varies by more than the trail costs. Results in docs/import.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from arpolicy.audit import Actor
from arpolicy.kit.clock import SystemClock
from arpolicy.kit.db import make_engine, transaction
from arpolicy.kit.migrate import upgrade
from arpolicy.ledger.importing.api import open_source
from arpolicy.ledger.importing.importer import run_import
from arpolicy.ledger.importing.registry import get_kind
from arpolicy.ledger.tenants import create_tenant, get_tenant
from bench import data

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fresh(db: str) -> Engine:
    if db == "sqlite":
        path = data.HERE / "trail.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS arpolicy_trail_bench WITH (FORCE)"))
            c.execute(text("CREATE DATABASE arpolicy_trail_bench"))
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + "/arpolicy_trail_bench"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        create_tenant(s, "bench", base_currency="USD", timezone="UTC")
    return engine


def load(engine: Engine, path: Path, trail: bool) -> tuple[float, float]:
    """(wall, CPU) seconds of one import in its own transaction."""
    wall, cpu = time.perf_counter(), time.process_time()
    with transaction(engine) as s, path.open("rb") as stream:
        tenant = get_tenant(s, "bench")
        actor = Actor(tenant.id, "system:bench", clock=SystemClock()) if trail else None
        report = run_import(
            s,
            tenant,
            get_kind("customers"),
            lambda: open_source(stream, "csv", None),
            partial=False,
            rejects=None,
            actor=actor,
            source_name=path.name,
        )
        assert report.ok, report.errors[:3]
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.trail_bench", description=__doc__)
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pg", action="store_true", help="also on PostgreSQL at 127.0.0.1:5432")
    args = ap.parse_args()
    data.HERE.mkdir(exist_ok=True)
    path = data.HERE / f"trail-customers-{args.customers}.csv"
    if not path.exists():
        data.write_customers(path, args.customers)
    for db in ("sqlite", "postgres") if args.pg else ("sqlite",):
        runs: dict[tuple[bool, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for trail in (True, False):
                engine = fresh(db)
                for what in ("first load", "again"):
                    runs.setdefault((trail, what), []).append(load(engine, path, trail))
                engine.dispose()
        for (trail, what), times in sorted(
            runs.items(), key=lambda r: (r[0][1] != "first load", not r[0][0])
        ):
            wall = statistics.median(t[0] for t in times)
            cpu = statistics.median(t[1] for t in times)
            label = f"{db} {args.customers:,} customers, {what}, {'with' if trail else 'without'}"
            print(f"{label:55} wall {wall:6.2f} s   CPU {cpu:6.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
