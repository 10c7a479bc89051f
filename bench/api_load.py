"""API load benchmark (issue 4): the real server under concurrent clients.

    python -m bench.api_load                          # 2,000 demo customers, SQLite, 8 clients
    python -m bench.api_load --clients 16 --reads 4000 --writes 2000
    python -m bench.api_load --pg                     # PostgreSQL at 127.0.0.1 (database arpolicy_load)

It builds a fresh database with ``arpolicy init`` and ``arpolicy demo``, makes a key with
``arpolicy keys create``, starts ``arpolicy serve`` (one uvicorn process, as shipped) and
drives it from ``--clients`` threads, each with its own keep-alive httpx connection:

- **read**: ``GET /v1/customers/{id}`` for random demo customers, the customer with its
  figures (the key may read reports, so the figures are embedded);
- **write**: ``POST /v1/documents``, a new invoice of a random customer in its currency (base
  amounts converted at the demo's FX rates, audit-logged, one transaction each).

Each scenario starts with a short warm-up that is not counted. Requests per second are
completed requests over the scenario's wall time; p50 / p99 are per-request latencies seen
by the client. Results go to bench/.data/api_load.json; copy them into docs/benchmarks.md
with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent / ".data"
BIN = Path(sys.executable).parent / "arpolicy"
WARMUP = 50
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fresh_pg_database() -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("DROP DATABASE IF EXISTS arpolicy_load WITH (FORCE)"))
        c.execute(text("CREATE DATABASE arpolicy_load"))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/arpolicy_load"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"arpolicy {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def served(env: dict[str, str], port: int) -> Any:
    """``arpolicy serve`` in a subprocess until the block ends; yields its base URL."""
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise SystemExit(
                    f"arpolicy serve exited: {proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("arpolicy serve did not answer /health within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def customers(base: str, headers: dict[str, str]) -> list[tuple[int, str]]:
    """(id, currency) of every customer, paging through the list."""
    out, cursor = [], None
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = c.get("/v1/customers", params=params).raise_for_status().json()
            out += [(item["id"], item["currency"] or "USD") for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return out


def run(
    base: str,
    headers: dict[str, str],
    clients: int,
    total: int,
    request: Callable[[httpx.Client, int], httpx.Response],
    expect: int,
) -> dict[str, Any]:
    """``total`` requests from ``clients`` threads (after a warm-up per thread)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    counter = iter(range(10**9))
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def worker(slot: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
            for _ in range(WARMUP // clients + 1):
                with lock:
                    n = next(counter)
                request(c, n)
            start.wait()
            for _ in range(total // clients):
                with lock:
                    n = next(counter)
                t0 = time.perf_counter()
                r = request(c, n)
                latencies[slot].append(time.perf_counter() - t0)
                if r.status_code != expect and len(failures) < 5:
                    failures.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    flat = sorted(x for per in latencies for x in per)
    if failures:
        raise SystemExit(f"unexpected answers (wanted {expect}): {failures}")
    return {
        "requests": len(flat),
        "seconds": round(wall, 3),
        "rps": round(len(flat) / wall, 1),
        "p50_ms": round(statistics.median(flat) * 1000, 1),
        "p99_ms": round(flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.api_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--customers", type=int, default=2000, help="demo customers (default 2000)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    ap.add_argument("--reads", type=int, default=2000, help="GET /v1/customers/{id} requests")
    ap.add_argument("--writes", type=int, default=1000, help="POST /v1/documents requests")
    ap.add_argument(
        "--pg",
        action="store_true",
        help="PostgreSQL at 127.0.0.1:5432 (user postgres): database arpolicy_load, recreated",
    )
    args = ap.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="arpolicy-load-"))
    url = fresh_pg_database() if args.pg else f"sqlite:///{workdir / 'load.db'}"
    env = {
        **os.environ,
        "ARPOLICY_DATABASE_URL": url,
        "ARPOLICY_TENANT": "load",
        "ARPOLICY_RATE_LIMIT_PER_MINUTE": "0",
        "ARPOLICY_LOG_LEVEL": "warning",
    }
    try:
        t0 = time.perf_counter()
        cli(env, "init")
        cli(env, "demo", "--customers", str(args.customers), "--seed", "1", "--tenant", "load")
        key = json.loads(cli(env, "keys", "create", "--name", "load", "--json"))["key"]
        print(f"database ready in {time.perf_counter() - t0:.1f} s: {url}", flush=True)
        headers = {"Authorization": f"Bearer {key}"}
        with served(env, free_port()) as base:
            ids = customers(base, headers)
            rnd = random.Random(1)
            picks = [rnd.choice(ids) for _ in range(args.reads + args.writes + 2 * WARMUP + 64)]
            run_id = f"{int(time.time())}"

            def read(c: httpx.Client, n: int) -> httpx.Response:
                return c.get(f"/v1/customers/{picks[n % len(picks)][0]}")

            def write(c: httpx.Client, n: int) -> httpx.Response:
                cid, currency = picks[n % len(picks)]
                minor = 1000 + n % 500_000
                amount = str(minor) if currency == "JPY" else f"{minor // 100}.{minor % 100:02d}"
                body = {
                    "type": "invoice",
                    "number": f"LOAD-{run_id}-{n:07d}",
                    "customer_id": cid,
                    "amount": {"amount": amount, "currency": currency},
                    "document_date": "2026-11-01",
                    "due_date": "2026-12-01",
                }
                return c.post("/v1/documents", json=body)

            with httpx.Client(base_url=base, headers=headers) as c:
                sample = read(c, 0).json()
            if not sample.get("figures"):
                raise SystemExit(f"GET /v1/customers/{{id}} has no figures: {sample}")
            results = {
                "GET /v1/customers/{id} (with figures)": run(
                    base, headers, args.clients, args.reads, read, 200
                ),
                "POST /v1/documents (an invoice)": run(
                    base, headers, args.clients, args.writes, write, 201
                ),
            }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"{'request':40} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for what, r in results.items():
        print(f"{what:40} {r['requests']:>9} {r['rps']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8}")
    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
        "python": sys.version.split()[0],
        "database": url.split(":", 1)[0],
        "customers": args.customers,
        "clients": args.clients,
        "command": "python -m bench.api_load " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    HERE.mkdir(exist_ok=True)
    (HERE / "api_load.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
