"""Single writes and reads in real time (issue 13, item 2), on a large ledger.

    python -m bench.writes_bench                  # 100,000 customers, 1,000,000 invoices, SQLite
    python -m bench.writes_bench --pg             # the same on PostgreSQL (127.0.0.1) too
    python -m bench.writes_bench --customers 10000 --invoices 100000   # a quick look

The ledger is bulk-inserted once per size (bench/ledger_db.py) and every run starts from a
copy of it. Then, one after the other:

- **service**: the ledger write service in this process, each write its own transaction
  (begin, write, commit): create a customer; create an invoice of an existing customer;
  create a payment and allocate it to that invoice (one transaction). Latency per
  transaction, and this process's CPU time per transaction (``cpu_ms``: the steadier figure
  on a shared machine).
- **HTTP writes**: the same three through ``arpolicy serve`` with an API key, one client:
  POST /v1/customers, POST /v1/documents, POST /v1/payments then POST /v1/allocations.
- **HTTP reads**: GET /v1/customers/{id} (with its figures) of random customers from
  ``--clients`` threads, each with its own keep-alive connection; with the CPU time the
  server and the clients spent per request.

Targets: service p50 <= 3 ms and p99 <= 15 ms; HTTP writes p99 <= 30 ms; reads >= 500
requests/s with 8 clients and p99 <= 25 ms (SQLite). A missed target is printed as MISSED
and the command exits 1. Results go to bench/.data/writes.json; copy them into
docs/benchmarks.md with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from typing import Any

from bench import ledger_db
from bench.http_load import Client, hammer, served

WARMUP = 30
Targets = dict[str, tuple[str, float]]
SERVICE: Targets = {"p50_ms": ("<=", 3.0), "p99_ms": ("<=", 15.0)}
HTTP_WRITE: Targets = {"p99_ms": ("<=", 30.0)}
HTTP_READ: Targets = {"rps": (">=", 500.0), "p99_ms": ("<=", 25.0)}


def stats(samples: list[float]) -> dict[str, Any]:
    flat = sorted(samples)
    return {
        "n": len(flat),
        "p50_ms": round(statistics.median(flat) * 1000, 2),
        "p99_ms": round(flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1000, 2),
    }


def verdict(result: dict[str, Any], targets: Targets | None) -> str:
    if not targets:
        return ""
    ok = all((result[k] <= v) if op == "<=" else (result[k] >= v) for k, (op, v) in targets.items())
    return "ok" if ok else "MISSED"


def service_writes(url: str, n: int) -> dict[str, dict[str, Any]]:
    """``n`` of each write through the ledger write service, each its own transaction."""
    from sqlalchemy import select

    from arpolicy.audit import Actor
    from arpolicy.kit.clock import FixedClock
    from arpolicy.kit.db import make_engine, transaction
    from arpolicy.ledger.tenants import get_tenant
    from arpolicy.ledger.writing import LedgerWrites
    from arpolicy.models import Customer, Tenant

    engine = make_engine(url)
    clock = FixedClock(ledger_db.started())
    with transaction(engine, write=False) as s:
        tenant_id = get_tenant(s, ledger_db.SLUG).id
        customers = list(s.execute(select(Customer.id, Customer.currency)))
    rnd = random.Random(3)
    times: dict[str, list[float]] = {"customer": [], "invoice": [], "payment": []}
    cpu: dict[str, float] = dict.fromkeys(times, 0.0)

    def one(what: str, counted: bool, *writes: tuple[str, dict[str, Any]]) -> list[Any]:
        """The writes in one transaction, timed from begin to commit."""
        t0, c0 = time.perf_counter(), time.process_time()
        with transaction(engine) as s:
            tenant = s.get(Tenant, tenant_id)
            assert tenant is not None
            service = LedgerWrites(s, tenant, Actor(tenant_id, "system:bench", clock=clock))
            made = []
            for kind, fields in writes:
                fields = {k: made[-1].id if v is PREVIOUS else v for k, v in fields.items()}
                made.append(service.create(kind, fields))
        if counted:
            times[what].append(time.perf_counter() - t0)
            cpu[what] += time.process_time() - c0
        return made

    for i in range(n + WARMUP):
        counted = i >= WARMUP
        cid, ccy = rnd.choice(customers)
        ccy = ccy or "USD"
        amount = {"amount": "125000" if ccy == "JPY" else "1250.00", "currency": ccy}
        one(
            "customer",
            counted,
            (
                "customers",
                {
                    "external_id": f"NEW-{i:06d}",
                    "name": f"New customer {i}",
                    "currency": ccy,
                    "country": "US",
                },
            ),
        )
        (invoice,) = one(
            "invoice",
            counted,
            (
                "documents",
                {
                    "type": "invoice",
                    "number": f"BW-{i:06d}",
                    "customer_id": cid,
                    "amount": amount,
                    "document_date": "2026-11-01",
                    "due_date": "2026-12-01",
                },
            ),
        )
        one(
            "payment",
            counted,
            (
                "payments",
                {
                    "external_id": f"PW-{i:06d}",
                    "customer_id": cid,
                    "amount": amount,
                    "received_on": "2026-11-20",
                },
            ),
            ("allocations", {"payment_id": PREVIOUS, "document_id": invoice.id, "amount": amount}),
        )
    engine.dispose()

    def shown(what: str) -> dict[str, Any]:
        return {**stats(times[what]), "cpu_ms": round(cpu[what] / len(times[what]) * 1000, 2)}

    return {
        "service: create a customer": shown("customer"),
        "service: create an invoice": shown("invoice"),
        "service: create a payment and its allocation": shown("payment"),
    }


PREVIOUS = object()
"""A field value: the id of the record the previous write of the transaction made."""


def http_writes(base: str, key: str, ids: list[tuple[int, str]], n: int) -> dict[str, Any]:
    """The same writes over HTTP, one client, one after the other."""
    rnd = random.Random(4)
    times: dict[str, list[float]] = {k: [] for k in ("customer", "invoice", "payment", "alloc")}
    run = f"{int(time.time()) % 100000:05d}"
    with Client(base, key) as c:
        for i in range(n + WARMUP):
            cid, ccy = rnd.choice(ids)
            amount = {"amount": "125000" if ccy == "JPY" else "1250.00", "currency": ccy}
            calls = [
                (
                    "customer",
                    "/v1/customers",
                    {
                        "external_id": f"H{run}-{i:06d}",
                        "name": f"HTTP customer {i}",
                        "currency": ccy,
                    },
                ),
                (
                    "invoice",
                    "/v1/documents",
                    {
                        "type": "invoice",
                        "number": f"H{run}-{i:06d}",
                        "customer_id": cid,
                        "amount": amount,
                        "document_date": "2026-11-01",
                        "due_date": "2026-12-01",
                    },
                ),
                (
                    "payment",
                    "/v1/payments",
                    {
                        "external_id": f"H{run}-{i:06d}",
                        "customer_id": cid,
                        "amount": amount,
                        "received_on": "2026-11-20",
                    },
                ),
            ]
            made: dict[str, int] = {}
            for what, path, body in calls:
                seconds, status, answer = c.post(path, body)
                if status != 201:
                    raise SystemExit(f"POST {path}: {status} {answer}")
                made[what] = answer["id"]
                if i >= WARMUP:
                    times[what].append(seconds)
            body = {"payment_id": made["payment"], "document_id": made["invoice"], "amount": amount}
            seconds, status, answer = c.post("/v1/allocations", body)
            if status != 201:
                raise SystemExit(f"POST /v1/allocations: {status} {answer}")
            if i >= WARMUP:
                times["alloc"].append(seconds)
    return {
        "HTTP: POST /v1/customers": stats(times["customer"]),
        "HTTP: POST /v1/documents (an invoice)": stats(times["invoice"]),
        "HTTP: POST /v1/payments": stats(times["payment"]),
        "HTTP: POST /v1/allocations": stats(times["alloc"]),
    }


def flow(db: str, url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def show(what: str, result: dict[str, Any], targets: Targets | None) -> None:
        mark = verdict(result, targets) if db == "sqlite" else ""
        result = {"db": db, "what": what, **result, "verdict": mark}
        out.append(result)
        shown = ", ".join(f"{k} {v}" for k, v in result.items() if k not in ("db", "what"))
        print(f"{db:9} {what:48} {shown}", flush=True)

    if not args.http_only:
        for what, result in service_writes(url, args.writes).items():
            show(what, result, SERVICE)
    with served(url, ledger_db.SLUG, ledger_db.ADMIN, workers=args.workers) as (base, key):
        with Client(base, key) as c:
            ids = c.customer_ids(args.reads + 100)
        for what, result in http_writes(base, key, ids, args.writes).items():
            show(what, result, HTTP_WRITE)
        read = hammer(base, key, ids, args.clients, args.reads)
        show(f"HTTP: GET /v1/customers/{{id}}, {args.clients} clients", read, HTTP_READ)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.writes_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--writes", type=int, default=300, help="writes of each kind (default 300)")
    ap.add_argument("--reads", type=int, default=4000, help="GET requests (default 4000)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=None, help="arpolicy serve --workers")
    ap.add_argument("--pg", action="store_true", help="also on PostgreSQL at 127.0.0.1:5432")
    ap.add_argument("--http-only", action="store_true", help="skip the in-process service part")
    args = ap.parse_args(argv)
    results = flow(
        "sqlite", ledger_db.sqlite_copy(args.customers, args.invoices, "writes.db"), args
    )
    if args.pg:
        url = ledger_db.pg_copy(args.customers, args.invoices, "arpolicy_writes")
        results += flow("postgres", url, args)
    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
        "python": sys.version.split()[0],
        "load_average": os.getloadavg(),
        "customers": args.customers,
        "invoices": args.invoices,
        "command": "python -m bench.writes_bench "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    ledger_db.data.HERE.mkdir(exist_ok=True)
    (ledger_db.data.HERE / "writes.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2)
    )
    missed = [r for r in results if r["verdict"] == "MISSED"]
    print("all targets met" if not missed else f"{len(missed)} target(s) MISSED")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
